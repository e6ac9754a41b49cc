from .builder import build_component
from .erasure_noise import ErasureNoise
from .feature_mlp import FeatureMLP
from .fusion_decoder import FusionDecoder, FusionDecoderLayer
from .fusions import (ConcatFusion, GRUFusion, LMFFusion, LSTMFusion,
                      TFNFusion, TransformerEncoderFusion)
from .gradient_reversal import GradientReversal, grad_reverse
from .heads import (BaseEmotionHead, ClassificationHead, MultiBinaryHead,
                    MultiLabelHead, RegressionHead)
from .mf_extractor import MFExtractor
from .modality_discriminator import ModalityDiscriminator
from .modality_projection import ModalityProjection
from .noise_discriminator import NoiseDiscriminator
from .normtr import NormTR
from .nrgf_extractor import NRGFExtractor

__all__ = [
    'BaseEmotionHead', 'ClassificationHead', 'ConcatFusion', 'ErasureNoise',
    'FeatureMLP', 'GRUFusion', 'LMFFusion', 'LSTMFusion', 'TFNFusion',
    'TransformerEncoderFusion',
    'FusionDecoder', 'FusionDecoderLayer', 'GradientReversal', 'MFExtractor',
    'ModalityDiscriminator', 'ModalityProjection', 'MultiBinaryHead',
    'MultiLabelHead', 'NRGFExtractor', 'NoiseDiscriminator', 'NormTR',
    'RegressionHead', 'build_component', 'grad_reverse'
]
