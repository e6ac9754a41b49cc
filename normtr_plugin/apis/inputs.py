"""What the inferencer accepts, turned into raw batches.

A raw batch is what the test pipeline starts from, the same dict training
reads (``datasets/transforms/base.py``): ``modalities``, ``ids``,
``lengths`` long (B, M) and ``{m: float32 (B, T_m, N_m)}``. Inputs:

- a dict modality -> ``(N, T, D)`` array (optionally ``id``: N names, and
  lengths: ``<modality>_lengths`` (N,) per modality or ``lengths`` (N, M)
  in the model's modality order), or -> a list of N ``(T_i, D)`` arrays
  (each array's steps are all valid);
- the path of an ``.npz`` holding the same keys (no pickles);
- :class:`DatasetInputs`: one split of a dataset in the project's format
  (a folder or a Hub dataset id), read batch by batch, labels or not.

An ``(N, T, D)`` array given without lengths is taken to be zero-padded
(at either end): its valid steps are found by
:func:`~normtr_plugin.structures.lengths.zero_padding_spans`, the function
the dataset converters use, and moved to the front (``stripped``: the
inferencer warns once).
"""
import os.path as osp
import zipfile
from typing import Dict, Iterator, NamedTuple, Optional

import numpy as np
import torch

from ..structures.lengths import left_align
from ..utils.errors import InputError
from ..utils.real_arrays import check_real

__all__ = ['ArrayBatches', 'DatasetBatches', 'DatasetInputs',
           'InferenceError', 'array_batches', 'read_npz']


class InferenceError(InputError):
    """Inputs that do not fit the model (missing modality, wrong dims)."""


class DatasetInputs(NamedTuple):
    """One split of a feature dataset as inferencer input."""
    data_root: str
    split: str = 'test'
    revision: Optional[str] = None


class ArrayBatches:
    """In-memory features as raw batches.

    Args:
        arrays: ``{m: float32 (N, T_m, N_m)}`` with valid steps first.
        lengths: ``(N, M)`` int64, columns in ``modalities`` order.
        ids: N sample names.
        stripped: whether zero padding was found and stripped here.
    """

    def __init__(self, arrays: Dict[str, np.ndarray], lengths: np.ndarray,
                 ids, stripped: bool = False):
        self.arrays, self.lengths, self.ids = arrays, lengths, list(ids)
        self.modalities = list(arrays)
        self.stripped = stripped

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, batch_size: int) -> Iterator[dict]:
        for start in range(0, len(self), batch_size):
            rows = slice(start, start + batch_size)
            lengths = torch.from_numpy(self.lengths[rows])
            batch = dict(modalities=self.modalities, ids=self.ids[rows],
                         lengths=lengths)
            for j, m in enumerate(self.modalities):
                steps = max(int(lengths[:, j].max()), 1)
                batch[m] = torch.from_numpy(self.arrays[m][rows, :steps])
            yield batch


class DatasetBatches:
    """The rows of a split as raw batches, read on demand (memory: one
    batch). Label columns are not read: unlabelled features work."""
    stripped = False

    def __init__(self, inputs: DatasetInputs, modalities: Dict[str, int]):
        from ..datasets import MultimodalFeatureDataset
        self.dataset = MultimodalFeatureDataset(
            inputs.data_root, inputs.split, modalities=modalities,
            label_columns=(), pipeline=(), revision=inputs.revision)
        if len(self.dataset) == 0:
            raise InferenceError(f'split {inputs.split!r} of '
                                 f'{inputs.data_root} has no samples')

    def __len__(self) -> int:
        return len(self.dataset)

    def batches(self, batch_size: int) -> Iterator[dict]:
        for start in range(0, len(self), batch_size):
            # read_batch groups rows by Arrow chunk; ids follow the rows
            yield self.dataset.read_batch(
                range(start, min(start + batch_size, len(self))))


def _not_an_npz(path: str) -> Optional[str]:
    """Why ``path`` is no ``.npz`` archive (empty, a renamed ``.npy``, a
    truncated archive, another file), or ``None``."""
    if zipfile.is_zipfile(path):
        return None
    with open(path, 'rb') as f:
        head = f.read(6)
    if not head:
        return 'the file is empty (0 bytes)'
    if head == b'\x93NUMPY':
        return ('a single .npy array (renamed?), not an .npz archive of '
                'named arrays: save with np.savez(path, audio=..., ...)')
    if head[:4] == b'PK\x03\x04':
        return 'truncated or corrupted (the zip archive has no intact end)'
    return 'not an .npz archive (another kind of file)'


def read_npz(path: str) -> dict:
    """The arrays of an ``.npz`` (``allow_pickle=False``). Anything that
    is not a whole ``.npz`` of plain arrays is an :class:`InferenceError`
    naming the file and what is wrong."""
    if not osp.isfile(path):
        raise InferenceError(f'input file {path!r} not found')
    why = _not_an_npz(path)
    if why:
        raise InferenceError(f'{path}: cannot read: {why}')
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as err:  # object arrays need pickle: refused
        raise InferenceError(f'{path}: cannot read ({err}); store one '
                             'numeric (N, T, D) array per modality') from None
    except Exception as err:  # noqa: B902 - a damaged archive (zip, zlib,
        # numpy header errors): the file's fault, reported as one line
        text = ' '.join(str(err).split())[:200]
        raise InferenceError(f'{path}: not a readable .npz file: corrupted '
                             f'({type(err).__name__}: {text})') from None


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _check_shape(x: np.ndarray, m: str, dim: int, where: str,
                 ndim: int = 3) -> None:
    check_real(x.dtype, f'{where}, modality {m!r}')
    if x.ndim != ndim:
        raise InferenceError(f'{where}, modality {m!r}: expected (N, T, '
                             f'{dim}) or a list of (T, {dim}) arrays, found '
                             f'shape {x.shape}')
    if x.shape[-1] != dim:
        raise InferenceError(f'{where}, modality {m!r}: wrong feature dim: '
                             f'the model expects {dim}, found {x.shape[-1]}')


def _padded(value, m: str, dim: int, where: str):
    """``(N, T, D)`` float32, and the lengths a list states (else None)."""
    if isinstance(value, (list, tuple)):
        rows = [_numpy(v) for v in value]
        for x in rows:
            _check_shape(x, m, dim, where, ndim=2)
        out = np.zeros((len(rows), max((len(x) for x in rows), default=0),
                        dim), np.float32)
        for i, x in enumerate(rows):
            out[i, :len(x)] = x
        return out, np.array([len(x) for x in rows], np.int64)
    x = _numpy(value)
    if x.ndim == 2:
        x = x[None]  # one sample (T, D)
    _check_shape(x, m, dim, where)
    return np.asarray(x, np.float32), None


def _given_lengths(arrays: dict, modalities, n: int, where: str
                   ) -> Dict[str, np.ndarray]:
    """Lengths the inputs state: ``lengths`` (N, M) or ``<m>_lengths``."""
    given = {}
    if 'lengths' in arrays:
        table = _numpy(arrays['lengths'])
        if table.shape != (n, len(modalities)):
            raise InferenceError(
                f"{where}: 'lengths' must be (N, M) = {(n, len(modalities))}"
                f', one column per modality {list(modalities)}, found '
                f'{table.shape}')
        given = {m: table[:, j] for j, m in enumerate(modalities)}
    for m in modalities:
        if f'{m}_lengths' in arrays:
            given[m] = _numpy(arrays[f'{m}_lengths']).reshape(-1)
    return given


def array_batches(arrays: dict, modalities: Dict[str, int],
                  where: str) -> ArrayBatches:
    """Raw batches from a dict of per-modality arrays (module docstring),
    after checking modalities, dims, lengths and finiteness."""
    missing = [m for m in modalities if m not in arrays]
    if missing:
        raise InferenceError(
            f'{where} has no features for modality {missing[0]!r} '
            f'(missing {missing}); the model needs {list(modalities)}, '
            f'found {sorted(arrays)}')
    padded, lengths = {}, {}
    for m, dim in modalities.items():
        padded[m], from_list = _padded(arrays[m], m, dim, where)
        if from_list is not None:
            lengths[m] = from_list
    counts = {m: len(x) for m, x in padded.items()}
    if len(set(counts.values())) != 1:
        raise InferenceError(f'{where}: modalities hold different numbers '
                             f'of samples {counts}')
    n = next(iter(counts.values()))
    lengths.update(_given_lengths(arrays, list(modalities), n, where))
    for m, x in padded.items():
        if not np.isfinite(x).all():
            i = int(np.argmax(~np.isfinite(x).reshape(n, -1).all(1)))
            raise InferenceError(f'{where}, modality {m!r}: sample {i} '
                                 'contains NaN or Inf')
        if m in lengths:
            ls = lengths[m]
            check_real(ls.dtype, f'{where}, lengths of modality {m!r}')
            if ls.shape != (n,) or (ls < 0).any() or \
                    (ls > x.shape[1]).any() or (ls != np.round(ls)).any():
                raise InferenceError(
                    f'{where}, modality {m!r}: lengths must be N = {n} '
                    f'integers in 0..{x.shape[1]} (the steps of its '
                    f'array), found {ls[:8].tolist()}')
    unstated = [m for m in modalities if m not in lengths]
    stripped = bool(unstated)
    if unstated:  # zero-padded arrays: the converters' rule
        aligned, found = left_align(padded, unstated)
        for j, m in enumerate(unstated):
            padded[m], lengths[m] = aligned[m], found[:, j]
    ids = arrays.get('id')
    ids = [str(i) for i in _numpy(ids).reshape(-1)] if ids is not None \
        else [str(i) for i in range(n)]
    if len(ids) != n:
        raise InferenceError(f"{where}: 'id' has {len(ids)} entries for {n} "
                             'samples')
    table = np.stack([np.asarray(lengths[m], np.int64) for m in modalities],
                     axis=1).reshape(n, len(modalities))
    return ArrayBatches(padded, table, ids, stripped)
