"""What the inferencer accepts, turned into raw samples.

A raw sample is the dict the model's test pipeline starts from:
``{m: (T_i, N_m) float32 array, 'id': str, 'modalities': [...]}``.

- a dict modality -> ``(N, T_i, D)`` array or list of ``(T_i, D)`` arrays
  (optionally ``id``: N names), checked here (modalities, dims, finite);
- the path of an ``.npz`` with one such array per modality (no pickles);
- :class:`DatasetInputs`: one split of a dataset in the project's format
  (a folder or a Hub dataset id), read lazily row by row, labels or not.
"""
import os.path as osp
from collections.abc import Sequence
from typing import Dict, List, NamedTuple, Optional

import numpy as np
import torch

from ..utils.errors import InputError

__all__ = ['DatasetInputs', 'DatasetRows', 'InferenceError', 'array_samples',
           'read_npz']


class InferenceError(InputError):
    """Inputs that do not fit the model (missing modality, wrong dims)."""


class DatasetInputs(NamedTuple):
    """One split of a feature dataset as inferencer input."""
    data_root: str
    split: str = 'test'
    revision: Optional[str] = None


class DatasetRows(Sequence):
    """The rows of a split as raw samples, read on demand (memory: one
    batch). Label columns are not read: unlabelled features work."""

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

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return [self[i] for i in range(*idx.indices(len(self)))]
        return self.dataset.read_sample(idx)


def read_npz(path: str) -> dict:
    """The arrays of an ``.npz`` (``allow_pickle=False``)."""
    if not osp.isfile(path):
        raise InferenceError(f'input file {path!r} not found')
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as err:  # object arrays need pickle: refused
        raise InferenceError(f'{path}: cannot read ({err}); store one '
                             'numeric (N, T, D) array per modality') from None
    except OSError as err:
        raise InferenceError(f'{path}: not a readable .npz file '
                             f'({err})') from None


def _per_sample(value) -> List[np.ndarray]:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 3:
        return list(value)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return [value]  # one sample (T, D)
    if isinstance(value, (list, tuple)):
        return [v.detach().cpu().numpy() if isinstance(v, torch.Tensor)
                else np.asarray(v) for v in value]
    return [np.asarray(value)]


def _check(items, m: str, dim: int, where: str) -> None:
    for i, x in enumerate(items):
        if x.ndim != 2:
            raise InferenceError(
                f"{where}, modality {m!r}: expected (N, T, {dim}) or a "
                f'list of (T, {dim}) arrays, sample {i} has shape {x.shape}')
        if x.shape[-1] != dim:
            raise InferenceError(
                f"{where}, modality {m!r}: wrong feature dim: the model "
                f'expects {dim}, found {x.shape[-1]}')
        if len(x) == 0:
            raise InferenceError(f'{where}, modality {m!r}: sample {i} '
                                 'has no time steps')
        if not np.isfinite(x).all():
            raise InferenceError(f'{where}, modality {m!r}: sample {i} '
                                 'contains NaN or Inf')


def array_samples(arrays: dict, modalities: Dict[str, int],
                  where: str) -> List[dict]:
    """Raw samples from a dict of per-modality arrays (module docstring),
    after checking modalities, dims, lengths and finiteness."""
    missing = [m for m in modalities if m not in arrays]
    if missing:
        raise InferenceError(
            f'{where} has no features for modality {missing[0]!r} '
            f'(missing {missing}); the model needs {list(modalities)}, '
            f'found {sorted(arrays)}')
    samples = {}
    for m, dim in modalities.items():
        samples[m] = _per_sample(arrays[m])
        _check(samples[m], m, dim, where)
    counts = {m: len(v) for m, v in samples.items()}
    if len(set(counts.values())) != 1:
        raise InferenceError(f'{where}: modalities hold different numbers '
                             f'of samples {counts}')
    n = next(iter(counts.values()))
    ids = arrays.get('id')
    ids = [str(i) for i in ids] if ids is not None else [
        str(i) for i in range(n)]
    if len(ids) != n:
        raise InferenceError(f"{where}: 'id' has {len(ids)} entries for {n} "
                             'samples')
    return [dict({m: np.asarray(samples[m][i], np.float32)
                  for m in modalities}, id=ids[i],
                 modalities=list(modalities)) for i in range(n)]
