from typing import Sequence

import numpy as np
import torch

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class TruncatePad:
    """Keep the first T valid steps, zero-pad at the end (SPEC section 1).

    Used for audio and text. Rows hold valid steps only (the converters
    strip padding), so left-padded sources give their real frames here.
    Shapes: ``(T_in, D) -> (T, D)`` per sample, ``(B, T_in, D) -> (B, T, D)``
    per batch (:meth:`transform_batch`); ``lengths[key]`` becomes
    ``min(length, T)``.
    """

    def __init__(self, keys: Sequence[str], seq_len: int):
        if seq_len < 1:
            raise ValueError(f'seq_len T must be >= 1, got {seq_len}')
        self.keys, self.seq_len = tuple(keys), seq_len

    def leading_steps(self, key: str):
        """Only the first T steps of ``key`` are ever read."""
        return self.seq_len if key in self.keys else None

    def __call__(self, results: dict) -> dict:
        lengths = results.setdefault('lengths', {})
        for key in self.keys:
            if key not in results:
                continue
            x = results[key]
            length = min(lengths.get(key, len(x)), self.seq_len)
            out = np.zeros((self.seq_len,) + x.shape[1:], dtype=x.dtype)
            out[:length] = x[:length]
            results[key], lengths[key] = out, length
        return results

    def transform_batch(self, batch: dict) -> dict:
        T = self.seq_len
        for key in self.keys:
            if key not in batch:
                continue
            x, length = batch[key], batch['lengths'][key].clamp(max=T)
            if x.shape[1] >= T:
                x = x[:, :T]
            else:
                x = torch.nn.functional.pad(x, (0, 0, 0, T - x.shape[1]))
            batch[key], batch['lengths'][key] = x, length
        return batch

    def __repr__(self):
        return f'TruncatePad(keys={self.keys}, seq_len={self.seq_len})'
