"""CMU-SDK derived HDF5 (as released with MFN) -> the project's format.

The source is a folder with one file per modality and split:
``audio_{split}.h5``, ``video_{split}.h5``, ``text_{split}_emb.h5`` and
``y_{split}.h5`` for split in train/valid/test, each holding one float64
array under key ``d1``: (N, T, D) features, (N,) or (N, 1) labels.

A modality may be missing from some splits (the MMMO release has no
``text_train_emb.h5``): each split is written with the modalities it has.
Columns: ``id`` (``f'{split}_{i:06d}'``), ``audio``, ``video``, ``text``,
``label`` (float32). Arrays are read in slices, never whole.
"""
import contextlib
import os
import os.path as osp

import datasets as hf
import numpy as np

from . import (BATCH_SIZE, SPLITS, ConversionError, ConversionJob,
               batch_ranges, check_dims, check_labels, check_lengths,
               check_out_dir, check_source)

SOURCE_FORMAT = ('CMU-SDK derived HDF5 (MFN release): one file per modality '
                 'and split, a float64 array under key `d1`')
FILES = {'audio': 'audio_{}.h5', 'video': 'video_{}.h5',
         'text': 'text_{}_emb.h5'}
LABEL_FILE = 'y_{}.h5'
KEY = 'd1'


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover
        raise ImportError('the cmu-h5 converter needs h5py: '
                          'pip install h5py') from None
    return h5py


def _open(stack, path: str):
    h5py = _h5py()
    try:
        f = stack.enter_context(h5py.File(path, 'r'))
    except OSError as err:
        raise ConversionError(
            f'{path!r} is not a readable HDF5 file: {err}') from None
    if KEY not in f:
        raise ConversionError(f"{path!r} has no dataset under key '{KEY}'; "
                              f'found keys {sorted(f.keys())}')
    ds = f[KEY]
    if not hasattr(ds, 'shape') or not np.issubdtype(ds.dtype, np.number):
        raise ConversionError(f"'{KEY}' in {path!r} must be a numeric "
                              'array')
    return ds


def _scan(src: str) -> dict:
    """{source split: {'y': path, modality: path}} for the files present."""
    found = {}
    for split, _ in SPLITS:
        files = {m: osp.join(src, p.format(split)) for m, p in FILES.items()}
        files['y'] = osp.join(src, LABEL_FILE.format(split))
        files = {k: p for k, p in files.items() if osp.isfile(p)}
        if not files:
            continue
        if 'y' not in files:
            raise ConversionError(
                f"split '{split}' in {src!r} has "
                f'{sorted(osp.basename(p) for p in files.values())} but no '
                f'labels file {LABEL_FILE.format(split)!r}')
        if len(files) == 1:
            raise ConversionError(
                f"split '{split}' in {src!r} has labels but no feature "
                'file (' + ', '.join(p.format(split)
                                     for p in FILES.values()) + ')')
        found[split] = files
    if 'train' not in found:
        expected = [p.format('train') for p in FILES.values()]
        expected.append(LABEL_FILE.format('train'))
        raise FileNotFoundError(
            f'no train split in {src!r}: expected {expected}; found '
            f'{sorted(os.listdir(src))}')
    return found


def _labels(ds, split: str, path: str, batch_size: int) -> None:
    if not (ds.ndim == 1 or (ds.ndim == 2 and ds.shape[1] == 1)):
        raise ConversionError(f"labels in {path!r} must have shape (N,) or "
                              f'(N, 1), found {ds.shape}')
    bad = 0
    for rows in batch_ranges(ds.shape[0], batch_size):
        bad += int((~np.isfinite(np.asarray(ds[rows], np.float64))).sum())
    if bad:
        check_labels(np.array([np.nan] * bad), split, osp.basename(path))


def _batches(arrays: dict, labels, name: str, batch_size: int):
    for rows in batch_ranges(labels.shape[0], batch_size):
        batch = {'id': [f'{name}_{i:06d}'
                        for i in range(rows.start, rows.stop)],
                 'label': np.asarray(labels[rows], np.float32).reshape(-1)}
        batch.update({m: ds[rows] for m, ds in arrays.items()})
        yield batch


def convert(src, out_dir, overwrite: bool = False,
            batch_size: int = BATCH_SIZE) -> dict:
    """Convert a folder of CMU-SDK HDF5 files; returns the report."""
    src = check_source(src, 'folder')
    out_dir = check_out_dir(out_dir, overwrite)
    found = _scan(src)
    with contextlib.ExitStack() as stack:
        dims, opened = {}, {}
        for split, files in found.items():
            labels = _open(stack, files['y'])
            sizes, arrays = {LABEL_FILE.format(split): labels.shape[0]}, {}
            for m in FILES:
                if m not in files:
                    continue
                ds = _open(stack, files[m])
                if ds.ndim != 3:
                    raise ConversionError(
                        f'{files[m]!r} must hold (N, T, D) features, found '
                        f'shape {ds.shape}')
                arrays[m] = ds
                sizes[m] = ds.shape[0]
                check_dims(dims, m, ds.shape[2], split,
                           FILES[m].format(split))
            check_lengths(split, sizes, LABEL_FILE.format(split))
            _labels(labels, split, files['y'], batch_size)
            opened[split] = (arrays, labels)
        by_split = {m: [s for s in found if m in found[s]] for m in FILES}
        notes = ['Files: ' + '; '.join(
            f'`{m}` from `{p.format("{split}")}`' for m, p in FILES.items())
            + f'; `label` from `{LABEL_FILE.format("{split}")}`; `id` is '
            '`<split>_<index>`.',
            'Source split `valid` is named `validation`.']
        partial = [m for m in dims if len(by_split[m]) < len(found)]
        for m in partial:
            notes.append(f'`{m}` exists for source split(s) '
                         f'{", ".join(by_split[m])} only.')
        files = sorted(osp.basename(p) for f in found.values()
                       for p in f.values())
        job = ConversionJob(
            'cmu-h5', src, out_dir, dims, {'label': hf.Value('float32')},
            overwrite, SOURCE_FORMAT,
            [f'{osp.abspath(src)}/{f}' for f in files],
            {'label': 'score (float32) from `y_{split}.h5`; regression '
                      'target'}, notes)
        with job:
            for split, name in SPLITS:
                if split not in opened:
                    continue
                arrays, labels = opened.pop(split)
                job.write_split(name, _batches(arrays, labels, name,
                                               batch_size),
                                modalities=list(arrays))
            return job.finish()
