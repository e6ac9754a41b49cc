"""Decoded, preprocessed media of manifest samples, as a torch ``Dataset``.

Decoding (OpenCV for video, the log-mel spectrogram for audio) and the
backbone's preprocessing (resize, crop, normalise) happen in
``__getitem__``, so a ``DataLoader`` with workers runs them in parallel
while the main process runs the backbone. Each item is self-contained and
deterministic (a random frame is drawn from a generator seeded by
``(seed, crc32(id))``), so the features do not depend on the number of
workers.
"""
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .audio import read_wav, spectrogram_image, split_segments
from .backbone import ImagePreprocess
from .manifest import Sample
from .video import MediaError, read_video_frames
from ..utils.errors import InputError

__all__ = ['MediaDataset', 'first_item', 'media_loader', 'split_features']


def first_item(batch):
    """``collate_fn`` of a loader with ``batch_size=None``: the item as is
    (module level, so worker processes can pickle it)."""
    return batch


class MediaDataset(Dataset):
    """One item per sample: ``dict(index, images={m: (N_m, 3, H, W)},
    frames, error)``.

    Args:
        samples: manifest samples (any splits, in output order).
        modalities: ``'video'`` and/or ``'audio'``.
        preprocess: the backbone's ``ImagePreprocess``.
        segments: T.
        frame: ``'middle'`` or ``'random'`` frame per video segment.
        frames_per_segment: K candidate frames per video segment (video
            gives T*K images, see ``segment_candidate_indices``).
        seed: seeds the random frames.

    ``N_m`` is T*K for video and T for audio. A missing or unreadable file
    does not raise here: the item has ``images=None`` and ``error=dict(
    modality, file, reason)``, so the caller decides (skip or strict).
    ``frames`` is the video's decodable frame count (None without video).
    """

    def __init__(self, samples: Sequence[Sample], modalities: Sequence[str],
                 preprocess: ImagePreprocess, segments: int,
                 frame: str = 'middle', frames_per_segment: int = 1,
                 seed: int = 0):
        self.samples = list(samples)
        self.modalities = list(modalities)
        self.preprocess = preprocess
        self.segments, self.frame = segments, frame
        self.frames_per_segment, self.seed = frames_per_segment, seed

    def __len__(self) -> int:
        return len(self.samples)

    def video_images(self, sample: Sample, path: str):
        rng = np.random.default_rng([self.seed,
                                     zlib.crc32(sample.id.encode())])
        frames, n = read_video_frames(path, self.segments, self.frame, rng,
                                      self.frames_per_segment)
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
        return self.preprocess(x, crop=True), n

    def audio_images(self, path: str) -> torch.Tensor:
        y, sr = read_wav(path)
        parts = split_segments(spectrogram_image(y, sr), self.segments)
        return torch.cat([self.preprocess(torch.from_numpy(
            np.ascontiguousarray(p))[None], crop=False) for p in parts])

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        images: Optional[Dict[str, torch.Tensor]] = {}
        frames = None
        for m in self.modalities:
            path = sample.media[m]
            try:
                if path is None:
                    raise MediaError(f'no {m} file given')
                if not osp.isfile(path):
                    raise MediaError(f'{m} file {path!r} not found')
                if m == 'video':
                    images[m], frames = self.video_images(sample, path)
                else:
                    images[m] = self.audio_images(path)
            except (MediaError, ValueError, OSError) as err:
                return dict(index=index, images=None, frames=None,
                            error=dict(modality=m, file=path,
                                       reason=str(err)))
        return dict(index=index, images=images, frames=frames, error=None)


def limit_worker_threads(worker_id: int) -> None:
    """One torch thread per worker: the workers are the parallelism."""
    torch.set_num_threads(1)


def media_loader(dataset: MediaDataset, workers: int = 0,
                 prefetch: int = 4) -> torch.utils.data.DataLoader:
    """Items in order; decoded by ``workers`` processes (0: in this one)."""
    if workers < 0:
        raise InputError(f'workers must be >= 0, got {workers}')
    kwargs = dict(prefetch_factor=prefetch,
                  worker_init_fn=limit_worker_threads) if workers else {}
    return torch.utils.data.DataLoader(dataset, batch_size=None,
                                       shuffle=False, num_workers=workers,
                                       collate_fn=first_item, **kwargs)


def split_features(feats: np.ndarray, counts: List[Dict[str, int]],
                   modalities: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    """Rows of the backbone's ``(sum N, D)`` output back per sample and
    modality, in the order the images were concatenated."""
    out, start = [], 0
    for count in counts:
        item = {}
        for m in modalities:
            item[m] = feats[start:start + count[m]]
            start += count[m]
        out.append(item)
    return out
