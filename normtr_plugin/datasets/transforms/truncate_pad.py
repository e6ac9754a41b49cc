from typing import Sequence

import numpy as np

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class TruncatePad:
    """Keep the first T steps, zero-pad if shorter (SPEC section 1).

    Used for audio and text. Shapes: ``(T_in, D) -> (T, D)`` for each key.
    """

    def __init__(self, keys: Sequence[str], seq_len: int):
        if seq_len < 1:
            raise ValueError(f'seq_len T must be >= 1, got {seq_len}')
        self.keys, self.seq_len = tuple(keys), seq_len

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            if key not in results:
                continue
            x = results[key][:self.seq_len]
            if len(x) < self.seq_len:
                pad = np.zeros((self.seq_len - len(x),) + x.shape[1:],
                               dtype=x.dtype)
                x = np.concatenate([x, pad])
            results[key] = x
        return results

    def __repr__(self):
        return f'TruncatePad(keys={self.keys}, seq_len={self.seq_len})'
