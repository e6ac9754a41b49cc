"""MMSA pickles (MOSI / MOSEI / CH-SIMS ``aligned_50.pkl``,
``unaligned_50.pkl``) -> the project's format.

Each split (``train``/``valid``/``test``) is a dict of arrays: ``text``
(N, L, 768) BERT features, ``text_bert`` (dropped), ``audio`` (N, Ta, Da),
``vision`` (N, Tv, Dv), ``regression_labels`` (N,), ``id`` (N,),
``raw_text``, ``annotations``; ``audio_lengths`` and ``vision_lengths``
(MMSA documents them for every file). Each sample is trimmed to its valid
steps: audio and video to their ``*_lengths``, text to the BERT mask
(``text_bert[:, 1]``); a modality with neither is scanned for zero
padding. Aligned or not follows from those lengths, not from which keys
exist.

Columns: ``id``, ``audio``, ``video`` (from ``vision``), ``text``,
``label`` (float32), ``raw_text`` and ``annotation`` (strings, when every
split has them).
"""
import os.path as osp

import datasets as hf
import numpy as np

from . import (BATCH_SIZE, ConversionError, ConversionJob, as_strings,
               batch_ranges, check_dims, check_labels, check_lengths,
               features_array, read_pickle_splits, require_keys,
               write_pickle_splits)
from ...utils.real_arrays import REAL_KINDS, real_array

WHAT = 'MMSA'
SOURCE_FORMAT = ('MMSA pickle (MOSI/MOSEI/CH-SIMS `aligned_50.pkl` / '
                 '`unaligned_50.pkl`: splits train/valid/test of BERT text, '
                 'audio and vision features)')
MODALITIES = (('audio', 'audio'), ('vision', 'video'), ('text', 'text'))
LENGTHS = {'audio': 'audio_lengths', 'vision': 'vision_lengths'}
LABEL = 'regression_labels'
REQUIRED = ('text', 'audio', 'vision', LABEL, 'id')
OPTIONAL = {'raw_text': 'raw_text', 'annotations': 'annotation'}
DROPPED = ('text_bert',)


def _lengths(part: dict, key: str, split: str, steps: int) -> np.ndarray:
    lengths = np.asarray(part[key]).reshape(-1)
    if lengths.dtype.kind not in REAL_KINDS or (
            lengths % 1 != 0).any():
        raise ConversionError(f"split '{split}': '{key}' must hold integer "
                              f'lengths, found dtype {lengths.dtype}')
    wrong = (lengths < 0) | (lengths > steps)
    if wrong.any():
        raise ConversionError(
            f"split '{split}': {int(wrong.sum())} value(s) of '{key}' are "
            f'outside 0..{steps} (the sequence length), e.g. '
            f'{lengths[wrong][0]}')
    return lengths.astype(np.int64)


def _bert_lengths(text_bert, split: str, steps: int) -> np.ndarray:
    """Valid text steps from the BERT attention mask ``text_bert[:, 1]``."""
    arr = np.asarray(text_bert)
    if arr.ndim != 3 or arr.shape[1] != 3 or arr.shape[2] != steps:
        raise ConversionError(
            f"split '{split}': 'text_bert' must have shape (N, 3, {steps}) "
            f'(token ids, mask, segment ids), found {arr.shape}')
    mask = arr[:, 1]
    if not np.isin(mask, (0, 1)).all():
        raise ConversionError(f"split '{split}': 'text_bert[:, 1]' must be "
                              'a 0/1 attention mask')
    return mask.sum(axis=1).astype(np.int64)


def _validate(part: dict, split: str, path: str, dims: dict) -> dict:
    require_keys(part, REQUIRED, split, path, WHAT)
    arrays, sizes = {}, {}
    labels = real_array(part[LABEL], f"split '{split}': '{LABEL}'",
                        np.float64)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ConversionError(f"split '{split}': '{LABEL}' must have shape "
                              f'(N,), found {labels.shape}')
    sizes[LABEL] = len(labels)
    for key, column in MODALITIES:
        arrays[column] = features_array(part[key], split, key)
        sizes[key] = len(arrays[column])
        check_dims(dims, column, arrays[column].shape[2], split, key)
    lengths = {}
    for key, length_key in LENGTHS.items():
        if length_key in part:
            column = dict(MODALITIES)[key]
            lengths[column] = _lengths(part, length_key, split,
                                       arrays[column].shape[1])
            sizes[length_key] = len(lengths[column])
    if 'text_bert' in part:
        lengths['text'] = _bert_lengths(part['text_bert'], split,
                                        arrays['text'].shape[1])
        sizes['text_bert'] = len(lengths['text'])
    extra = {'id': as_strings(part['id'])}
    sizes['id'] = len(extra['id'])
    for key, column in OPTIONAL.items():
        if key in part:
            extra[column] = as_strings(part[key])
            sizes[key] = len(extra[column])
    check_lengths(split, sizes, LABEL)
    ids = extra['id']
    check_labels(labels, split, LABEL, ids.__getitem__)
    return dict(arrays=arrays, lengths=lengths, labels=labels, extra=extra)


def _batches(info: dict, string_columns, batch_size: int):
    n = len(info['labels'])
    for rows in batch_ranges(n, batch_size):
        batch = {'id': info['extra']['id'][rows],
                 'label': info['labels'][rows].astype(np.float32)}
        for column in string_columns:
            batch[column] = info['extra'][column][rows]
        batch.update({c: arr[rows] for c, arr in info['arrays'].items()})
        batch['_lengths'] = {c: lengths[rows]
                             for c, lengths in info['lengths'].items()}
        yield batch


def convert(src, out_dir, overwrite: bool = False,
            batch_size: int = BATCH_SIZE) -> dict:
    """Convert an MMSA pickle; returns the report (see the package)."""
    src, out_dir, data, splits, dims, infos = read_pickle_splits(
        src, out_dir, overwrite, WHAT,
        lambda part, key, name, dims, src: _validate(part, key, src, dims))
    string_columns = [c for c in OPTIONAL.values()
                      if all(c in infos[k]['extra'] for k, _ in splits)]
    labels = {'label': hf.Value('float32'),
              **{c: hf.Value('string') for c in string_columns}}
    label_notes = {'label': f'sentiment score (float32) from MMSA '
                            f'`{LABEL}`; regression target'}
    if 'raw_text' in string_columns:
        label_notes['raw_text'] = 'the transcript (string), not a label'
    if 'annotation' in string_columns:
        label_notes['annotation'] = ('MMSA `annotations` (string, e.g. '
                                     'Positive/Negative/Neutral)')
    ignored = sorted({str(k) for key, _ in splits for k in data[key]}
                     - set(REQUIRED) - set(OPTIONAL) - set(LENGTHS.values())
                     - set(DROPPED))
    notes = ['Columns: `audio` from `audio`, `video` from `vision`, `text` '
             'from `text` (BERT features); `label` from '
             f'`{LABEL}`; `id` from `id`.',
             'Source split `valid` is named `validation`.',
             'Valid steps: `audio` and `video` from `audio_lengths` / '
             '`vision_lengths`, `text` from the BERT mask (row 1 of `text_bert`),'
             ' where present; otherwise zero padding is detected.']
    if ignored:
        notes.append('Source keys not converted: ' + ', '.join(
            f'`{k}`' for k in ignored) + '.')
    job = ConversionJob(
        'mmsa', src, out_dir, dims, labels, overwrite, SOURCE_FORMAT,
        [osp.abspath(src)], label_notes, notes)
    return write_pickle_splits(
        job, data, splits, infos,
        lambda info: _batches(info, string_columns, batch_size))
