"""MulT pickles (``iemocap_data.pkl``, ``mosei_senti_data.pkl``, ...) ->
the project's format.

Each split (``train``/``valid``/``test``) holds ``vision``, ``audio``,
``text`` (N, 20, 300 GloVe), ``labels`` and optionally ``id``.

Labels: IEMOCAP's one-hot (N, 4, 2), emotion order Neutral, Happy, Sad,
Angry, become four ``ClassLabel(names=['absent', 'present'])`` columns
(argmax of each pair); other sets' (N, 1, 1), (N, 1) or (N,) become
``label`` (float32). Ids of shape (N, k) are joined with ``'$_$'``; without
ids they are ``f'{split}_{i:06d}'``.
"""
import os.path as osp

import datasets as hf
import numpy as np

from ..synthetic import EMOTIONS
from . import (BATCH_SIZE, ConversionError, ConversionJob, as_strings,
               batch_ranges, check_dims, check_labels, check_lengths,
               features_array, read_pickle_splits, require_keys,
               write_pickle_splits)
from ...utils.real_arrays import real_array

WHAT = 'MulT'
SOURCE_FORMAT = ('MulT pickle (`iemocap_data.pkl`, `mosei_senti_data.pkl`, '
                 '...: splits train/valid/test of vision, audio, text '
                 'features and labels)')
MODALITIES = (('audio', 'audio'), ('vision', 'video'), ('text', 'text'))
REQUIRED = ('vision', 'audio', 'text', 'labels')
ABSENT_PRESENT = ['absent', 'present']
ID_SEP = '$_$'


def _labels(values, split: str, sample):
    """('iemocap', (N, 4) int64) or ('regression', (N,) float64); labels
    that are not finite, beyond float32, or (IEMOCAP) pairs that are not
    one-hot (both set, or none) are refused, naming sample and emotion."""
    arr = real_array(values, f"split '{split}': 'labels'", np.float64)
    iemocap = arr.ndim == 3 and arr.shape[1:] == (len(EMOTIONS), 2)
    check_labels(arr, split, 'labels', sample,
                 EMOTIONS if iemocap else None)
    if iemocap:
        one_hot = np.isin(arr, (0.0, 1.0)).all(axis=-1) & \
            (arr.sum(axis=-1) == 1)
        if not one_hot.all():
            row, j = (int(i) for i in np.argwhere(~one_hot)[0])
            raise ConversionError(
                f"split '{split}': label 'labels' ({EMOTIONS[j]}) of sample "
                f'{sample(row)!r} (row {row}) is {arr[row, j].tolist()}, not '
                'one-hot ([1, 0] absent or [0, 1] present); '
                f'{int((~one_hot).sum())} such pair(s) in all: fix or drop '
                'those samples in the source before converting')
        return 'iemocap', arr.argmax(axis=-1).astype(np.int64)
    if arr.ndim >= 1 and arr.shape[1:] in ((), (1,), (1, 1)):
        return 'regression', arr.reshape(len(arr))
    raise ConversionError(
        f"split '{split}': 'labels' has shape {arr.shape}; expected IEMOCAP "
        '(N, 4, 2) one-hot or regression (N, 1, 1), (N, 1) or (N,)')


def _ids(part: dict, split: str, name: str, n: int) -> list:
    if 'id' not in part:
        return [f'{name}_{i:06d}' for i in range(n)]
    ids = np.asarray(part['id'], dtype=object)
    if ids.ndim == 1:
        return as_strings(ids)
    if ids.ndim == 2:
        return [ID_SEP.join(as_strings(row)) for row in ids]
    raise ConversionError(f"split '{split}': 'id' must have shape (N,) or "
                          f'(N, k), found {ids.shape}')


def _validate(part: dict, split: str, path: str, dims: dict,
              name: str) -> dict:
    require_keys(part, REQUIRED, split, path, WHAT)
    shape = tuple(getattr(part['labels'], 'shape', np.shape(part['labels'])))
    n = int(shape[0]) if shape else 0
    ids = _ids(part, split, name, n)
    kind, labels = _labels(part['labels'], split,
                           lambda row: ids[row] if row < len(ids) else
                           f'{name}_{row:06d}')
    arrays, sizes = {}, {'labels': len(labels)}
    for key, column in MODALITIES:
        arrays[column] = features_array(part[key], split, key)
        sizes[key] = len(arrays[column])
        check_dims(dims, column, arrays[column].shape[2], split, key)
    sizes['id'] = len(ids)
    check_lengths(split, sizes, 'labels')
    return dict(kind=kind, labels=labels, arrays=arrays, ids=ids)


def _batches(info: dict, batch_size: int):
    for rows in batch_ranges(len(info['labels']), batch_size):
        batch = {'id': info['ids'][rows]}
        batch.update({c: arr[rows] for c, arr in info['arrays'].items()})
        labels = info['labels'][rows]
        if info['kind'] == 'iemocap':
            batch.update({e: labels[:, j] for j, e in enumerate(EMOTIONS)})
        else:
            batch['label'] = labels.astype(np.float32)
        yield batch


def convert(src, out_dir, overwrite: bool = False,
            batch_size: int = BATCH_SIZE) -> dict:
    """Convert a MulT pickle; returns the report (see the package)."""
    src, out_dir, data, splits, dims, infos = read_pickle_splits(
        src, out_dir, overwrite, WHAT,
        lambda part, key, name, dims, src: _validate(part, key, src, dims,
                                                  name))
    kinds = {key: info['kind'] for key, info in infos.items()}
    if len(set(kinds.values())) > 1:
        raise ConversionError(
            'splits disagree on the label kind (IEMOCAP one-hot (N, 4, 2) '
            f'vs regression): {kinds}')
    if kinds[splits[0][0]] == 'iemocap':
        labels = {e: hf.ClassLabel(names=ABSENT_PRESENT) for e in EMOTIONS}
        label_notes = {
            e: f'IEMOCAP emotion {e}: 1 (`present`) when the one-hot pair '
               f'`labels[:, {j}]` has its 1 in position 1, else 0 '
               '(`absent`); i.e. the argmax of the pair'
            for j, e in enumerate(EMOTIONS)}
        label_text = ('`Neutral`, `Happy`, `Sad`, `Angry` from the one-hot '
                      '`labels` (N, 4, 2)')
    else:
        labels = {'label': hf.Value('float32')}
        label_notes = {'label': 'score (float32) from MulT `labels`; '
                                'regression target'}
        label_text = '`label` from `labels`'
    notes = ['Columns: `audio` from `audio`, `video` from `vision`, `text` '
             f'from `text`; {label_text}; `id` from `id` (several fields '
             f'joined with `{ID_SEP}`; `<split>_<index>` where absent).',
             'Source split `valid` is named `validation`.']
    job = ConversionJob('mult', src, out_dir, dims, labels, overwrite,
                        SOURCE_FORMAT, [osp.abspath(src)], label_notes,
                        notes)
    return write_pickle_splits(job, data, splits, infos,
                               lambda info: _batches(info, batch_size))
