from .collate import multimodal_collate
from .feature_format import (FeatureDatasetWriter, feature_schema,
                             load_feature_stats, save_feature_dataset)
from .held_out_split import HeldOutSplit
from .kfold_split import KFoldSplit
from .multimodal_feature_dataset import MultimodalFeatureDataset
from .sources import load_splits
from .synthetic import (EMOTIONS, SyntheticIEMOCAPDataset,
                        make_synthetic_iemocap)
from .transforms import (BatchTransform, NormalizeFeatures,
                         PackMultimodalInputs, PerSample, RandomMasking,
                         SegmentSample, TruncatePad, WindowMasking)
from .worker_seed import seed_worker

__all__ = [
    'BatchTransform', 'EMOTIONS', 'FeatureDatasetWriter', 'HeldOutSplit',
    'KFoldSplit',
    'MultimodalFeatureDataset',
    'NormalizeFeatures', 'PackMultimodalInputs', 'PerSample',
    'RandomMasking',
    'SegmentSample', 'SyntheticIEMOCAPDataset', 'TruncatePad',
    'WindowMasking', 'feature_schema',
    'load_feature_stats', 'load_splits', 'make_synthetic_iemocap',
    'multimodal_collate',
    'save_feature_dataset', 'seed_worker'
]
