from .normalize_features import NormalizeFeatures
from .pack_multimodal_inputs import PackMultimodalInputs
from .segment_sample import SegmentSample
from .test_time_masking import RandomMasking, WindowMasking
from .truncate_pad import TruncatePad

__all__ = ['NormalizeFeatures', 'PackMultimodalInputs', 'RandomMasking',
           'SegmentSample', 'TruncatePad', 'WindowMasking']
