"""Alternative fusions for the ablations of paper Tables 6 and 12.

Each takes the :class:`FusionDecoder` interface: built with ``embed_dim``,
``num_tokens`` and ``num_modalities`` (filled in by NormTR), called as
``fusion(query (B, L, D), memory (B, L, D))``, returns tokens
``(B, L', out_dim)`` that the head mean-pools.
"""
from .concat_fusion import ConcatFusion
from .lmf_fusion import LMFFusion
from .recurrent_fusion import GRUFusion, LSTMFusion
from .tfn_fusion import TFNFusion
from .transformer_encoder_fusion import TransformerEncoderFusion

__all__ = ['ConcatFusion', 'GRUFusion', 'LMFFusion', 'LSTMFusion',
           'TFNFusion', 'TransformerEncoderFusion']
