from .feature_format import feature_schema, save_feature_dataset
from .multimodal_feature_dataset import MultimodalFeatureDataset
from .synthetic import (EMOTIONS, SyntheticIEMOCAPDataset,
                        make_synthetic_iemocap)
from .transforms import PackMultimodalInputs, SegmentSample, TruncatePad

__all__ = ['EMOTIONS', 'MultimodalFeatureDataset', 'PackMultimodalInputs',
           'SegmentSample', 'SyntheticIEMOCAPDataset', 'TruncatePad',
           'feature_schema', 'make_synthetic_iemocap',
           'save_feature_dataset']
