from .multimodal_feature_dataset import MultimodalFeatureDataset
from .synthetic import (EMOTIONS, SyntheticIEMOCAPDataset,
                        make_synthetic_iemocap)
from .transforms import PackMultimodalInputs, SegmentSample, TruncatePad

__all__ = ['EMOTIONS', 'MultimodalFeatureDataset', 'PackMultimodalInputs',
           'SegmentSample', 'SyntheticIEMOCAPDataset', 'TruncatePad',
           'make_synthetic_iemocap']
