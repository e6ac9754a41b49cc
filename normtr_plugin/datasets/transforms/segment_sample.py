from typing import Dict, Sequence, Union

import torch

from ...registry import TRANSFORMS
from ...structures.lengths import valid_mask
from .base import BatchTransform


@TRANSFORMS.register_module()
class SegmentSample(BatchTransform):
    """Split the valid steps into T equal segments, take one frame of each.

    Paper section 4.3 (video): a random frame per segment in training
    (``random=True``); the segment's middle frame in evaluation (SPEC
    Decision: evaluation is deterministic). A sequence of L < T valid steps
    keeps its L frames and is zero-padded at the end (lengths as data: an
    aligned short utterance stays aligned with the other modalities).
    Shapes: ``(B, L, D) -> (B, T, D)`` for each key; its column of
    ``lengths`` (B, M) becomes ``min(L, T)``.

    K candidate frames per segment: features extracted with K frames per
    segment, stored segment by segment (``L = T * K``: frames ``t*K ..
    t*K + K - 1`` belong to segment t), give segments exactly K steps wide,
    so training picks one of the K candidates of each segment at random
    (a new draw every batch, hence every epoch) and evaluation takes
    candidate ``K // 2`` (the middle one for odd K). With K = 1 (one frame
    per segment stored) both modes return the stored frames unchanged.
    Random draws come from torch: with dataloader workers, seed them per
    epoch (``seed_worker``, the shipped dataloaders' ``worker_init_fn``).

    Args:
        keys: the modalities to sample.
        seq_len: T (int) or ``{modality: T_m}``.
        random: a random frame per segment (training) or the middle one.
    """

    def __init__(self, keys: Sequence[str],
                 seq_len: Union[int, Dict[str, int]], random: bool = False):
        self.keys, self.seq_len, self.random = tuple(keys), seq_len, random
        for key in self.keys:
            if self.seq_len_for(key) < 1:
                raise ValueError(f"seq_len T of modality '{key}' must be "
                                 f'>= 1, got {self.seq_len_for(key)}')

    def indices(self, length: torch.Tensor, T: int) -> torch.Tensor:
        """Frame index per output step, (B, T), for valid lengths (B,);
        a sample with L < T gets ``0..T-1`` (steps >= L are masked)."""
        steps = torch.arange(T, device=length.device, dtype=torch.float64)
        width = (length.double() / T)[:, None]
        offset = torch.rand(length.shape[0], T, device=length.device,
                            dtype=torch.float64) if self.random else 0.5
        sampled = torch.floor(steps * width + offset * width).long()
        sampled = torch.minimum(sampled, (length - 1).clamp(min=0)[:, None])
        return torch.where((length >= T)[:, None], sampled,
                           steps.long()[None])

    def transform(self, batch: dict) -> dict:
        return self.resize_steps(batch, self._segment)

    def _segment(self, x: torch.Tensor, length: torch.Tensor, T: int):
        if x.shape[1] == 0:
            x = x.new_zeros(x.shape[0], 1, x.shape[2])
        idx = self.indices(length, T).clamp(max=x.shape[1] - 1)
        kept = length.clamp(max=T)
        x = torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[2]))
        return x * valid_mask(kept, T)[..., None], kept

    def __repr__(self):
        return (f'SegmentSample(keys={self.keys}, seq_len={self.seq_len}, '
                f'random={self.random})')
