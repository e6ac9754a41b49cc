"""Zero-copy access to one modality column of a memory-mapped split.

The project's format stores a modality as ``Array2D((None, N_m))``: in Arrow
a ``list<list<float>>`` per row. :class:`FrameColumn` views each Arrow chunk
as one contiguous, memory-mapped ``(frames, N_m)`` float32 array plus the
row offsets, so a batch is gathered with a single fancy index per chunk
instead of converting rows one by one. Nothing is copied until a batch is
gathered.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa


def _chunk_frames(chunk: pa.Array, dim: int, where: str
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames (F, dim) view, row_offsets (n + 1,) into frames)``."""
    rows = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
    if rows.null_count:
        raise ValueError(f'{where}: {rows.null_count} of {len(rows)} '
                         'samples have no values (null); this split lacks '
                         'the modality')
    row_offsets = rows.offsets.to_numpy().astype(np.int64)
    steps = rows.values  # list<float>, one entry per time step
    step_offsets = steps.offsets.to_numpy()
    first, last = int(step_offsets[0]), int(step_offsets[-1])
    expected = first + dim * np.arange(len(step_offsets), dtype=np.int64)
    if not np.array_equal(step_offsets, expected):
        raise ValueError(f'{where}: time steps are not all {dim} floats wide')
    floats = steps.values
    if floats.null_count or not pa.types.is_float32(floats.type):
        raise ValueError(f'{where}: features must be non-null float32, '
                         f'found {floats.type}')
    flat = floats.to_numpy(zero_copy_only=True)[first:last]
    return flat.reshape(-1, dim), row_offsets


class FrameColumn:
    """One modality of one split: rows of ``(T_i, N_m)`` frames.

    Args:
        column: the Arrow ``ChunkedArray`` of the modality.
        dim: the feature dim N_m.
        where: a name for error messages (modality, split, folder).

    ``lengths`` (N,) holds each row's number of time steps; converters
    store only valid steps, so this is the valid length (SPEC section 1).
    """

    def __init__(self, column: pa.ChunkedArray, dim: int, where: str):
        self.dim, self.where = dim, where
        self._frames: List[np.ndarray] = []
        starts, lengths, chunk_ids = [], [], []
        for c, chunk in enumerate(column.chunks):
            frames, offsets = _chunk_frames(chunk, dim, where)
            self._frames.append(frames)
            starts.append(offsets[:-1])
            lengths.append(np.diff(offsets))
            chunk_ids.append(np.full(len(chunk), c, np.int32))
        cat = (lambda a, t: np.concatenate(a) if a else np.zeros(0, t))
        self.starts = cat(starts, np.int64)
        self.lengths = cat(lengths, np.int64)
        self.chunk_ids = cat(chunk_ids, np.int32)

    def __len__(self) -> int:
        return len(self.lengths)

    def non_finite_rows(self, chunk: int = 1 << 16) -> np.ndarray:
        """``(N,)`` bool: rows holding a NaN or Inf (read in slices)."""
        flags = np.zeros(len(self), bool)
        for c, frames in enumerate(self._frames):
            bad = [~np.isfinite(frames[s:s + chunk]).all(1)
                   for s in range(0, len(frames), chunk)]
            counts = np.concatenate([[0]] + [np.cumsum(np.concatenate(
                bad)) if bad else []])
            rows = np.flatnonzero(self.chunk_ids == c)
            start = self.starts[rows]
            flags[rows] = counts[start + self.lengths[rows]] > counts[start]
        return flags

    def row(self, index: int) -> np.ndarray:
        """The ``(T_i, N_m)`` frames of one row (a read-only view)."""
        start, length = self.starts[index], self.lengths[index]
        return self._frames[self.chunk_ids[index]][start:start + length]

    def gather(self, indices: Sequence[int], steps: Optional[int] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Rows ``indices`` as one zero-padded batch.

        Keeps the first ``steps`` time steps of each row (default: the
        longest row of the batch). Returns ``x (B, steps, N_m)`` float32,
        valid steps first and zeros after, and ``lengths (B,)`` int64.
        """
        indices = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[indices]
        if steps is None:
            steps = int(lengths.max(initial=0))
        lengths = np.minimum(lengths, steps)
        out = np.zeros((len(indices), steps, self.dim), np.float32)
        if steps == 0 or not len(indices):
            return out, lengths
        chunks = self.chunk_ids[indices]
        for c in np.unique(chunks):
            pick = np.flatnonzero(chunks == c)
            frames = self._frames[c]
            rows = indices[pick]
            if (lengths[pick] == steps).all():  # fixed length: whole rows
                idx = self.starts[rows][:, None] + np.arange(steps)
                out[pick] = frames[idx]
                continue
            if not len(frames):
                continue
            t = np.arange(steps)
            valid = t < lengths[pick][:, None]
            idx = np.minimum(self.starts[rows][:, None] + t, len(frames) - 1)
            out[pick] = frames[idx] * valid[..., None]
        return out, lengths
