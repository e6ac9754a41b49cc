"""A seeded part of a split: validation data for datasets without one."""
from typing import Sequence

import numpy as np
from torch.utils.data import Dataset

from ..registry import DATASETS, build_in_scope, head_class
from ..utils.errors import InputError

__all__ = ['HeldOutSplit']


@DATASETS.register_module()
class HeldOutSplit(Dataset):
    """``part='holdout'``: a seeded ``fraction`` of ``dataset``'s samples;
    ``part='train'``: the others. Both parts built with the same ``seed``
    and ``fraction`` are disjoint and together cover the split.

    Used by ``model_selection.holdout`` (``engine/model_selection.py``)
    when the data has train and test splits only. The dataset's head
    decides the strata (``strata``): for a classification task each class
    keeps its share.

    Args:
        dataset: the config (or instance) of the dataset to split, e.g. a
            ``MultimodalFeatureDataset`` on split 'train'.
        fraction: share of the samples held out, in (0, 1).
        part: 'train' or 'holdout'.
        seed: seeds the draw.
    """

    def __init__(self, dataset, fraction: float, part: str, seed: int = 0):
        if part not in ('train', 'holdout'):
            raise InputError(f"part must be 'train' or 'holdout', got "
                             f'{part!r}')
        if not 0 < fraction < 1:
            raise InputError(f'fraction must be in (0, 1), got {fraction}')
        self.dataset = build_in_scope(DATASETS, dataset) \
            if isinstance(dataset, dict) else dataset
        held = self._draw(fraction, seed)
        mask = np.zeros(len(self.dataset), bool)
        mask[held] = True
        self.indices = np.flatnonzero(mask if part == 'holdout' else ~mask)
        if not len(self.indices):
            raise InputError(f'HeldOutSplit: part {part!r} of '
                             f'{len(self.dataset)} samples at fraction '
                             f'{fraction} is empty')
        self.part, self.fraction = part, fraction

    def _draw(self, fraction: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        n = len(self.dataset)
        count = min(max(1, int(round(fraction * n))), n - 1)
        labels = np.asarray(getattr(self.dataset, 'labels', None))
        task = getattr(self.dataset, 'task', None)
        strata = head_class(task).strata(labels) \
            if task and labels.ndim and len(labels) == n else None
        if strata is None:
            return np.sort(rng.permutation(n)[:count])
        labels = strata
        # stratified: each class its share of `count` (largest remainders)
        classes, sizes = np.unique(labels, return_counts=True)
        share = count * sizes / n
        take = np.floor(share).astype(np.int64)
        order = np.argsort(-(share - take), kind='stable')
        take[order[:count - take.sum()]] += 1
        held = [rng.permutation(np.flatnonzero(labels == c))[:k]
                for c, k in zip(classes, take)]
        return np.sort(np.concatenate(held).astype(np.int64))

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, indices: Sequence[int]):
        return self.dataset.__getitems__(
            self.indices[np.asarray(indices, np.int64)].tolist())

    def __getitem__(self, idx: int):
        return self.dataset[int(self.indices[idx])]
