"""Labels of CMU-SDK HDF5 releases: one value, one-hot classes, or several
columns (``y_{split}.h5``, key ``d1``).

- ``(N,)`` or ``(N, 1)``: one score per sample -> ``label`` (float32).
- ``(N, C)`` one-hot (every row one 1, the rest 0, in every split) ->
  ``label``: the class index, a ``ClassLabel`` (names from
  ``label_names`` or ``class_0 ..``).
- ``(N, C)`` otherwise (e.g. POM's 17 traits, MOSEI's sentiment + 6
  emotions) needs ``label_column``: an index ``i`` keeps column i as
  ``label`` (float32); ``'all'`` keeps every column as its own label
  column (``label_names`` or ``label_0 ..``), which a config stacks into
  a vector target (``label_columns=[...]``). ``presence=True`` stores
  those columns as 0/1 (value > 0), for multi-label emotions.
- ``(N, 1, C)`` is read as ``(N, C)``.
"""
from typing import Dict, Optional, Sequence, Union

import datasets as hf
import numpy as np

from . import ConversionError

__all__ = ['LabelPlan', 'plan_labels']


def _matrix(values: np.ndarray, path: str) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.ndim == 3 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ConversionError(f'labels in {path!r} must have shape (N,), '
                              f'(N, C) or (N, 1, C), found {values.shape}')
    return values


def _is_one_hot(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all() and
                (values.sum(axis=1) == 1).all())


class LabelPlan:
    """How the label matrices of all splits become label columns.

    Args:
        matrices: split -> raw labels as read from ``y_{split}.h5``.
        paths: split -> file path (for messages).
        label_column: None, a column index, or 'all'.
        label_names: names of the columns ('all') or of the classes.
        presence: with 'all', store 0/1 (value > 0).
    """

    def __init__(self, matrices: Dict[str, np.ndarray],
                 paths: Dict[str, str],
                 label_column: Union[None, int, str] = None,
                 label_names: Optional[Sequence[str]] = None,
                 presence: bool = False):
        self.matrices = {s: _matrix(v, paths[s]) for s, v in
                         matrices.items()}
        widths = {s: m.shape[1] for s, m in self.matrices.items()}
        if len(set(widths.values())) > 1:
            raise ConversionError(f'label files disagree on the number of '
                                  f'columns: {widths}')
        self.width = next(iter(widths.values()))
        self.names = list(label_names) if label_names else None
        if presence and label_column != 'all':
            raise ConversionError("presence=True (--presence) needs "
                                  "label_column='all' (--label-column all)")
        self.presence = presence
        first = next(iter(paths.values()))
        self.kind = self._kind(label_column, first)
        if self.kind == 'all':
            self.columns = self.names or [f'label_{j}'
                                          for j in range(self.width)]
            if len(self.columns) != self.width:
                raise ConversionError(
                    f'{len(self.columns)} label names for {self.width} '
                    f'label columns: {self.columns}')
        else:
            self.columns = ['label']

    def _kind(self, label_column, path: str) -> str:
        if label_column == 'all':
            return 'all'
        if label_column is not None:
            index = int(label_column)
            if not 0 <= index < self.width:
                raise ConversionError(
                    f'label_column {label_column} is out of range: the '
                    f'labels in {path!r} have {self.width} column(s) '
                    f'(0..{self.width - 1})')
            self.index = index
            return 'column'
        if self.width == 1:
            self.index = 0
            return 'column'
        if all(_is_one_hot(m) for m in self.matrices.values()):
            if self.names and len(self.names) != self.width:
                raise ConversionError(
                    f'{len(self.names)} class names for one-hot labels of '
                    f'{self.width} classes: {self.names}')
            return 'one_hot'
        raise ConversionError(
            f'labels in {path!r} have {self.width} columns and are not '
            'one-hot: choose one with --label-column I (label_column=I, '
            f'0..{self.width - 1}), or keep all {self.width} as label '
            'columns with --label-column all (named with --label-names)')

    def features(self) -> Dict[str, object]:
        if self.kind == 'one_hot':
            names = self.names or [f'class_{j}' for j in range(self.width)]
            return {'label': hf.ClassLabel(names=names)}
        dtype = 'int64' if self.presence else 'float32'
        return {c: hf.Value(dtype) for c in self.columns}

    def notes(self, label_file: str) -> Dict[str, str]:
        if self.kind == 'one_hot':
            return {'label': f'class index (ClassLabel) of the one-hot '
                             f'rows of `{label_file}` ({self.width} '
                             'classes)'}
        if self.kind == 'column':
            which = f'column {self.index} of ' if self.width > 1 else ''
            return {'label': f'score (float32) from {which}`{label_file}`;'
                             ' regression target'}
        what = '1 when the value is > 0, else 0' if self.presence else \
            'value (float32)'
        return {c: f'column {j} of `{label_file}`: {what}'
                for j, c in enumerate(self.columns)}

    def batch(self, split: str, rows: slice) -> Dict[str, np.ndarray]:
        values = self.matrices[split][rows]
        if self.kind == 'one_hot':
            return {'label': values.argmax(axis=1).astype(np.int64)}
        if self.kind == 'column':
            return {'label': values[:, self.index].astype(np.float32)}
        if self.presence:
            return {c: (values[:, j] > 0).astype(np.int64)
                    for j, c in enumerate(self.columns)}
        return {c: values[:, j].astype(np.float32)
                for j, c in enumerate(self.columns)}


def plan_labels(matrices, paths, label_column=None, label_names=None,
                presence=False) -> LabelPlan:
    """:class:`LabelPlan` with ``label_column`` parsed from text ('all' or
    an integer)."""
    if isinstance(label_column, str) and label_column != 'all':
        try:
            label_column = int(label_column)
        except ValueError:
            raise ConversionError(f"label_column must be an integer or "
                                  f"'all', got {label_column!r}") from None
    if isinstance(label_names, str):
        label_names = [n.strip() for n in label_names.split(',') if n]
    return LabelPlan(matrices, paths, label_column, label_names, presence)
