from typing import Sequence

import numpy as np

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class SegmentSample:
    """Split a sequence into T equal segments, take one frame from each.

    Paper section 4.3 (video): a random frame per segment in training
    (``random=True``); the segment's middle frame in evaluation (SPEC
    Decision: evaluation is deterministic). A sequence shorter than T
    repeats frames. Shapes: ``(T_in, D) -> (T, D)`` for each key.
    """

    def __init__(self, keys: Sequence[str], seq_len: int,
                 random: bool = False):
        if seq_len < 1:
            raise ValueError(f'seq_len T must be >= 1, got {seq_len}')
        self.keys, self.seq_len, self.random = tuple(keys), seq_len, random

    def indices(self, length: int) -> np.ndarray:
        if length < 1:
            raise ValueError('cannot sample frames from an empty sequence')
        edges = np.linspace(0, length, self.seq_len + 1)
        start, width = edges[:-1], np.diff(edges)
        offset = np.random.rand(self.seq_len) if self.random else 0.5
        idx = np.floor(start + offset * width).astype(np.int64)
        return np.clip(idx, 0, length - 1)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            if key in results:
                x = results[key]
                results[key] = x[self.indices(len(x))]
        return results

    def __repr__(self):
        return (f'SegmentSample(keys={self.keys}, seq_len={self.seq_len}, '
                f'random={self.random})')
