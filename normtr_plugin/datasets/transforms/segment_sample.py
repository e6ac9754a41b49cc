from typing import Sequence

import numpy as np
import torch

from ...registry import TRANSFORMS
from .batch import valid_mask


@TRANSFORMS.register_module()
class SegmentSample:
    """Split the valid steps into T equal segments, take one frame of each.

    Paper section 4.3 (video): a random frame per segment in training
    (``random=True``); the segment's middle frame in evaluation (SPEC
    Decision: evaluation is deterministic). A sequence of L < T valid steps
    keeps its L frames and is zero-padded at the end (lengths as data: an
    aligned short utterance stays aligned with the other modalities).
    Shapes: ``(L, D) -> (T, D)`` per sample, ``(B, L, D) -> (B, T, D)`` per
    batch; ``lengths[key]`` becomes ``min(L, T)``.

    K candidate frames per segment: features extracted with K frames per
    segment, stored segment by segment (``L = T * K``: frames ``t*K ..
    t*K + K - 1`` belong to segment t), give segments exactly K steps wide,
    so training picks one of the K candidates of each segment at random
    (a new draw every batch, hence every epoch) and evaluation takes
    candidate ``K // 2`` (the middle one for odd K). With K = 1 (one frame
    per segment stored) both modes return the stored frames unchanged.
    Random draws come from numpy (per sample) or torch (per batch): with
    dataloader workers, seed them per epoch (``seed_worker``, the shipped
    dataloaders' ``worker_init_fn``).
    """

    def __init__(self, keys: Sequence[str], seq_len: int,
                 random: bool = False):
        if seq_len < 1:
            raise ValueError(f'seq_len T must be >= 1, got {seq_len}')
        self.keys, self.seq_len, self.random = tuple(keys), seq_len, random

    def indices(self, length: int) -> np.ndarray:
        """Frame index per output step (``min(length, T)`` of them)."""
        T = self.seq_len
        if length < T:
            return np.arange(length)
        offset = np.random.rand(T) if self.random else 0.5
        width = length / T
        idx = np.floor(np.arange(T) * width + offset * width)
        return np.minimum(idx.astype(np.int64), length - 1)

    def __call__(self, results: dict) -> dict:
        lengths = results.setdefault('lengths', {})
        for key in self.keys:
            if key in results:
                x = results[key]
                idx = self.indices(lengths.get(key, len(x)))
                out = np.zeros((self.seq_len,) + x.shape[1:], x.dtype)
                out[:len(idx)] = x[idx]
                results[key], lengths[key] = out, len(idx)
        return results

    def transform_batch(self, batch: dict) -> dict:
        T = self.seq_len
        for key in self.keys:
            if key not in batch:
                continue
            x, length = batch[key], batch['lengths'][key]
            if x.shape[1] == 0:
                x = x.new_zeros(x.shape[0], 1, x.shape[2])
            long = length >= T
            steps = torch.arange(T, device=x.device, dtype=torch.float64)
            width = (length.double() / T)[:, None]
            offset = torch.rand(x.shape[0], T, device=x.device,
                                dtype=torch.float64) if self.random else 0.5
            sampled = torch.floor(steps * width + offset * width).long()
            last = (length - 1).clamp(min=0)[:, None]
            sampled = torch.minimum(sampled, last)
            idx = torch.where(long[:, None], sampled, steps.long()[None])
            idx = idx.clamp(max=x.shape[1] - 1)
            kept = torch.minimum(length, torch.full_like(length, T))
            x = torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[2]))
            batch[key] = x * valid_mask(kept, T)[..., None]
            batch['lengths'][key] = kept
        return batch

    def __repr__(self):
        return (f'SegmentSample(keys={self.keys}, seq_len={self.seq_len}, '
                f'random={self.random})')
