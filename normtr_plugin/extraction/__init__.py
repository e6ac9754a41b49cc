"""Feature extraction from raw video and audio (paper section 4.3)."""
from .audio import (delta, log_mel_spectrogram, mel_filterbank, read_wav,
                    spectrogram_image, split_segments)
from .backbone import (Backbone, ImagePreprocess, build_backbone,
                       load_backbone_weights)
from .extractor import MediaSkippedWarning, extract_features
from .manifest import Manifest, Sample, read_manifest
from .media_dataset import MediaDataset
from .video import (MediaError, read_video_frames, segment_candidate_indices,
                    segment_frame_indices)

__all__ = [
    'Backbone', 'Manifest', 'MediaDataset', 'MediaError',
    'MediaSkippedWarning', 'Sample',
    'ImagePreprocess', 'build_backbone', 'delta', 'extract_features',
    'load_backbone_weights',
    'log_mel_spectrogram', 'mel_filterbank', 'read_manifest', 'read_wav',
    'read_video_frames', 'segment_candidate_indices',
    'segment_frame_indices', 'spectrogram_image',
    'split_segments'
]
