from .feature_format import (FeatureDatasetWriter, feature_schema,
                             load_feature_stats, save_feature_dataset)
from .multimodal_feature_dataset import MultimodalFeatureDataset
from .synthetic import (EMOTIONS, SyntheticIEMOCAPDataset,
                        make_synthetic_iemocap)
from .transforms import PackMultimodalInputs, SegmentSample, TruncatePad

__all__ = ['EMOTIONS', 'FeatureDatasetWriter', 'load_feature_stats', 'MultimodalFeatureDataset', 'PackMultimodalInputs',
           'SegmentSample', 'SyntheticIEMOCAPDataset', 'TruncatePad',
           'feature_schema', 'make_synthetic_iemocap',
           'save_feature_dataset']
