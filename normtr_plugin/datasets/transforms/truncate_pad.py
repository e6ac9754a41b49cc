from typing import Dict, Sequence, Union

import torch

from ...registry import TRANSFORMS
from .base import BatchTransform


@TRANSFORMS.register_module()
class TruncatePad(BatchTransform):
    """Keep the first T valid steps, zero-pad at the end (SPEC section 1).

    Used for audio and text. Rows hold valid steps only (the converters
    strip padding), so left-padded sources give their real frames here.
    Shapes: ``(B, T_in, D) -> (B, T, D)`` for each key; its column of
    ``lengths`` (B, M) becomes ``min(length, T)``.

    Args:
        keys: the modalities to transform.
        seq_len: T (int) or ``{modality: T_m}``.
    """

    def __init__(self, keys: Sequence[str],
                 seq_len: Union[int, Dict[str, int]]):
        self.keys, self.seq_len = tuple(keys), seq_len
        for key in self.keys:
            if self.seq_len_for(key) < 1:
                raise ValueError(f"seq_len T of modality '{key}' must be "
                                 f'>= 1, got {self.seq_len_for(key)}')

    def leading_steps(self, key: str):
        """Only the first T steps of ``key`` are ever read."""
        return self.seq_len_for(key) if key in self.keys else None

    def transform(self, batch: dict) -> dict:
        return self.resize_steps(batch, self._truncate_pad)

    @staticmethod
    def _truncate_pad(x: torch.Tensor, length: torch.Tensor, T: int):
        if x.shape[1] >= T:
            x = x[:, :T]
        else:
            x = torch.nn.functional.pad(x, (0, 0, 0, T - x.shape[1]))
        return x, length.clamp(max=T)

    def __repr__(self):
        return f'TruncatePad(keys={self.keys}, seq_len={self.seq_len})'
