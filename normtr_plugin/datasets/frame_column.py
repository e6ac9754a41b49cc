"""Zero-copy access to one modality column of a memory-mapped split.

The project's format stores a modality as ``Array2D((None, N_m))``: in Arrow
a ``list<list<float>>`` per row. :class:`FrameColumn` views each Arrow chunk
as one contiguous, memory-mapped ``(frames, N_m)`` float32 array plus the
row offsets, so a batch is gathered with a single fancy index per chunk
instead of converting rows one by one. Nothing is copied until a batch is
gathered.
"""
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa

from ..utils.errors import InputError


def _chunk_frames(chunk: pa.Array, dim: int, where: str
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames (F, dim) view, row_offsets (n + 1,) into frames)``."""
    rows = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
    if rows.null_count:
        raise InputError(f'{where}: {rows.null_count} of {len(rows)} '
                         'samples have no values (null); this split lacks '
                         'the modality')
    row_offsets = rows.offsets.to_numpy().astype(np.int64)
    steps = rows.values  # list<float>, one entry per time step
    step_offsets = steps.offsets.to_numpy()
    first, last = int(step_offsets[0]), int(step_offsets[-1])
    expected = first + dim * np.arange(len(step_offsets), dtype=np.int64)
    if not np.array_equal(step_offsets, expected):
        raise InputError(f'{where}: time steps are not all {dim} floats wide')
    floats = steps.values
    if floats.null_count or not pa.types.is_float32(floats.type):
        raise InputError(f'{where}: features must be non-null float32, '
                         f'found {floats.type}')
    flat = floats.to_numpy(zero_copy_only=True)[first:last]
    return flat.reshape(-1, dim), row_offsets


def _as_uniform(frames: np.ndarray, offsets: np.ndarray, first_row: int):
    lengths = np.diff(offsets)
    if not len(lengths) or (lengths != lengths[0]).any() or \
            offsets[0] != 0 or offsets[-1] != len(frames):
        return None
    return first_row, frames.reshape(len(lengths), int(lengths[0]), -1)


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
        self._pool = {}
        self._frames: List[np.ndarray] = []
        # per chunk: (first row, rows as (n, T, dim)) when every row of the
        # chunk has the same T and they are contiguous, else None
        self._uniform: List[Optional[Tuple[int, np.ndarray]]] = []
        starts, lengths, chunk_ids = [], [], []
        first_row = 0
        for c, chunk in enumerate(column.chunks):
            frames, offsets = _chunk_frames(chunk, dim, where)
            self._frames.append(frames)
            self._uniform.append(_as_uniform(frames, offsets, first_row))
            first_row += len(chunk)
            starts.append(offsets[:-1])
            lengths.append(np.diff(offsets))
            chunk_ids.append(np.full(len(chunk), c, np.int32))
        cat = (lambda a, t: np.concatenate(a) if a else np.zeros(0, t))
        self.starts = cat(starts, np.int64)
        self.lengths = cat(lengths, np.int64)
        self.chunk_ids = cat(chunk_ids, np.int32)

    def __len__(self) -> int:
        return len(self.lengths)

    def _buffer(self, shape: tuple) -> np.ndarray:
        """An output array, reused once nothing else refers to it.

        Fresh multi-megabyte arrays cost page faults on every batch; a
        buffer whose batch tensors are all gone (only this pool holds it)
        is safe to overwrite.
        """
        pool = self._pool.setdefault(shape, [])
        for buf in pool:
            if sys.getrefcount(buf) <= 3:  # pool list, loop variable, call
                return buf
        buf = np.empty(shape, np.float32)
        if len(pool) < 4:
            pool.append(buf)
        return buf

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

    def chunk_order(self, indices: Sequence[int]) -> np.ndarray:
        """A stable permutation of ``indices`` grouping them by Arrow chunk,
        so :meth:`gather` copies each chunk's rows straight into place."""
        return np.argsort(self.chunk_ids[np.asarray(indices, np.int64)],
                          kind='stable')

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
        out = self._buffer((len(indices), steps, self.dim))
        if not (lengths == steps).all():
            out.fill(0)
        if steps == 0 or not len(indices):
            return out, lengths
        chunks = self.chunk_ids[indices]
        blocked = bool((np.diff(chunks) >= 0).all())  # see chunk_order
        for c in np.unique(chunks):
            if blocked:  # this chunk's rows are one contiguous block of out
                lo, hi = np.searchsorted(chunks, [c, c + 1])
                pick = slice(lo, hi)
            else:
                pick = np.flatnonzero(chunks == c)
            frames = self._frames[c]
            rows = indices[pick]
            uniform = self._uniform[c]
            if uniform is not None and uniform[1].shape[1] >= steps:
                # fixed length: copy whole (contiguous) rows in one take
                first, rows3d = uniform
                target = out[pick] if blocked else np.empty(
                    (len(rows), steps, self.dim), np.float32)
                np.take(rows3d[:, :steps], rows - first, axis=0, out=target)
                if not blocked:
                    out[pick] = target
                continue
            if not len(frames):
                continue
            t = np.arange(steps)
            valid = t < lengths[pick][:, None]
            idx = np.minimum(self.starts[rows][:, None] + t, len(frames) - 1)
            out[pick] = frames[idx] * valid[..., None]
        return out, lengths
