from .base import BatchTransform
from .normalize_features import NormalizeFeatures
from .pack_multimodal_inputs import PackMultimodalInputs
from .per_sample import PerSample
from .segment_sample import SegmentSample
from .test_time_masking import RandomMasking, WindowMasking
from .truncate_pad import TruncatePad

__all__ = ['BatchTransform', 'NormalizeFeatures', 'PackMultimodalInputs',
           'PerSample', 'RandomMasking', 'SegmentSample', 'TruncatePad',
           'WindowMasking']
