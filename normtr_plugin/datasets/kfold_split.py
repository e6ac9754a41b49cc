"""One fold of a seeded K-fold split: the data of cross-validated model
selection (``model_selection=dict(by='cv', folds=K)``)."""
from typing import Optional

import numpy as np
from sklearn.model_selection import (GroupKFold, KFold, StratifiedGroupKFold,
                                     StratifiedKFold)

from ..registry import DATASETS, build_in_scope, head_class
from ..utils.errors import InputError
from .held_out_split import HeldOutSplit
from .speaker_folds import speakers_from_pattern

__all__ = ['GROUP_COLUMNS', 'KFoldSplit', 'fold_groups']

#: columns that name a sample's group when the data has one (first found)
GROUP_COLUMNS = ('speaker', 'video_id', 'group')


def fold_groups(dataset, group: Optional[str] = None,
                group_pattern: Optional[str] = None) -> Optional[np.ndarray]:
    """The group of each sample of ``dataset`` ``(N,)``: column ``group``,
    else a regular expression on the ids (``group_pattern``, as
    ``tools/speaker_folds.py --speaker-pattern``), else the first of
    :data:`GROUP_COLUMNS` the data has; None: no groups."""
    column = getattr(dataset, 'column', None)
    if group_pattern:
        return np.asarray(speakers_from_pattern(dataset.ids, group_pattern),
                          object)
    if group:
        values = column(group) if column else None
        if values is None:
            raise InputError(f'model_selection.group: the data has no '
                             f'column {group!r}')
        return values
    for name in GROUP_COLUMNS if column else ():
        values = column(name)
        if values is not None:
            return values
    return None


@DATASETS.register_module()
class KFoldSplit(HeldOutSplit):
    """Fold ``fold`` of ``folds``: ``part='holdout'`` is that fold's
    samples, ``part='train'`` all others. Parts built with the same
    ``folds``, ``seed`` and groups are disjoint, and the holdout parts of
    all folds cover the dataset once.

    scikit-learn draws the folds: group-disjoint (``GroupKFold``) when the
    samples have groups (:func:`fold_groups`), stratified by class
    (``StratifiedKFold``) when the dataset's head gives strata (single-label
    classification), both (``StratifiedGroupKFold``) when both apply.

    Args:
        dataset: config (or instance) of the dataset to split, e.g. a
            ``MultimodalFeatureDataset`` on split ``'train+validation'``.
        folds: K >= 2.
        fold: which fold, ``0 <= fold < folds``.
        part: 'train' or 'holdout'.
        seed: seeds the shuffle.
        group: a column of the data naming each sample's group.
        group_pattern: a regular expression on the ids giving the group.
    """

    def __init__(self, dataset, folds: int, fold: int, part: str,
                 seed: int = 0, group: Optional[str] = None,
                 group_pattern: Optional[str] = None):
        if part not in ('train', 'holdout'):
            raise InputError(f"part must be 'train' or 'holdout', got "
                             f'{part!r}')
        if not 0 <= fold < folds or folds < 2:
            raise InputError(f'fold {fold} of {folds} folds: need folds >= '
                             f'2 and 0 <= fold < folds')
        self.dataset = build_in_scope(DATASETS, dataset) \
            if isinstance(dataset, dict) else dataset
        groups = fold_groups(self.dataset, group, group_pattern)
        train, held = self.split_indices(self.dataset, folds, seed,
                                         groups)[fold]
        self.indices = np.sort(held if part == 'holdout' else train)
        self.part, self.fold, self.folds = part, fold, folds
        self.groups = None if groups is None else groups[self.indices]

    @staticmethod
    def split_indices(dataset, folds: int, seed: int,
                      groups: Optional[np.ndarray]):
        """``[(train_indices, holdout_indices)]`` for each fold."""
        n = len(dataset)
        labels = np.asarray(getattr(dataset, 'labels', None))
        task = getattr(dataset, 'task', None)
        strata = head_class(task).strata(labels) \
            if task and labels.ndim and len(labels) == n else None
        if groups is not None:
            count = len(set(groups.tolist()))
            if count < folds:
                raise InputError(f'{count} groups cannot fill {folds} '
                                 f'group-disjoint folds; use folds <= '
                                 f'{count}')
            kind = StratifiedGroupKFold if strata is not None else GroupKFold
            splitter = kind(folds, shuffle=True, random_state=seed)
        elif strata is not None:
            splitter = StratifiedKFold(folds, shuffle=True,
                                       random_state=seed)
        else:
            splitter = KFold(folds, shuffle=True, random_state=seed)
        if n < folds:
            raise InputError(f'{n} samples cannot fill {folds} folds')
        y = strata if strata is not None else np.zeros(n)
        return list(splitter.split(np.zeros((n, 1)), y, groups))
