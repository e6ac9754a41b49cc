"""CMU-SDK derived HDF5 (as released with MFN) -> the project's format.

The source is a folder with one file per modality and split:
``audio_{split}.h5``, ``video_{split}.h5``, ``text_{split}_emb.h5`` and
``y_{split}.h5`` for split in train/valid/test, each holding one float64
array under key ``d1``: (N, T, D) features and the labels.

A modality may be missing from some splits (the MMMO release has no
``text_train_emb.h5``): each split is written with the modalities it has.
``modalities=['audio', 'video']`` (``--modalities audio,video``) converts
only those; otherwise a feature file that cannot be read (0 bytes,
damaged) is skipped with a warning and a note in the card, as if absent.
An unreadable label file is an error. Data stored outside the source
files (HDF5 external links, external raw storage, virtual datasets) is
refused: it could pull any file on the machine into a published sample.

Labels (``cmu_h5_labels.py``): one score -> ``label`` (float32); one-hot
``(N, C)`` -> ``label`` as a class index (``ClassLabel``); several columns
-> ``label_column=i`` keeps one, ``label_column='all'`` keeps each as its
own column (``label_names``; ``presence=True`` for 0/1 emotions).

Columns: ``id`` (``f'{split}_{i:06d}'``), ``audio``, ``video``, ``text``
and the label column(s). Feature arrays are read in slices, never whole;
a progress bar shows each split's samples as they are read and written.
"""
import contextlib
import os
import os.path as osp
import warnings
from typing import Optional, Sequence, Union

import numpy as np

from . import (BATCH_SIZE, SPLITS, ConversionError, ConversionJob,
               batch_ranges, check_dims, check_feature_shape, check_labels,
               check_lengths,
               check_out_dir, check_source)
from .cmu_h5_labels import plan_labels
from ...utils.errors import (InputError, MissingDependencyError,
                             MissingFileError, NormTRError)
from ...utils.real_arrays import REAL_KINDS

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
        raise MissingDependencyError('the cmu-h5 converter needs h5py: '
                                     'pip install h5py') from None
    return h5py


@contextlib.contextmanager
def _reading(path: str):
    """Turn what HDF5 raises on a damaged file (``OSError``,
    ``RuntimeError``, ``KeyError``... from h5py) into a ConversionError
    naming the file."""
    try:
        yield
    except NormTRError:
        raise
    except Exception as err:  # noqa: B902 - h5py's errors, see above
        text = ' '.join(str(err).split())[:200]
        raise ConversionError(f'{path!r} is damaged: HDF5 cannot read it '
                              f'({type(err).__name__}: {text})') from None


def _open(stack, path: str):
    h5py = _h5py()
    size = osp.getsize(path)
    try:
        f = stack.enter_context(h5py.File(path, 'r'))
    except OSError as err:
        what = 'is empty (0 bytes)' if size == 0 else \
            f'is not a readable HDF5 file: {err}'
        raise ConversionError(f'{path!r} {what}') from None
    with _reading(path):
        if f.get(KEY, getlink=True) is None:  # no link resolved here
            raise ConversionError(f"{path!r} has no dataset under key "
                                  f"'{KEY}'; found keys {sorted(f.keys())}")
        ds = _local_dataset(h5py, f, path)
        if not hasattr(ds, 'shape') or ds.dtype.kind not in REAL_KINDS:
            found = f'dtype {ds.dtype}' if hasattr(ds, 'dtype') else \
                type(ds).__name__
            raise ConversionError(f"'{KEY}' in {path!r} must be an array of "
                                  f'real numbers, found {found}')
    return ds


class ExternalDataError(ConversionError):
    """A source file points at data in other files: refused, never
    skipped as unreadable."""


def _check_links(h5py, f, name: str, where: str, depth: int = 0) -> None:
    """Follow ``name``'s links without opening anything: an external link
    on the way (directly or through soft links) is refused."""
    group = f['/']
    parts = [p for p in name.split('/') if p]
    for i, part in enumerate(parts):
        link = group.get(part, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise ExternalDataError(
                f'{where} is an external link to {link.filename!r}; the '
                'cmu-h5 converter reads data stored in the source files only')
        if isinstance(link, h5py.SoftLink):
            if depth > 16:
                raise ExternalDataError(f'{where}: too many soft links')
            rest = '/'.join(parts[i + 1:])
            _check_links(h5py, f, link.path.rstrip('/') + '/' + rest
                         if rest else link.path, where, depth + 1)
            return
        if link is None or i == len(parts) - 1:
            return
        group = group[part]


def _local_dataset(h5py, f, path: str):
    """``f[KEY]`` when its bytes are stored in ``path`` itself; an external
    link, external raw storage or a virtual dataset (which read other
    files, anywhere on the machine) is refused."""
    where = f"dataset '{KEY}' in {path!r}"
    _check_links(h5py, f, KEY, where)
    ds = f[KEY]
    if osp.realpath(ds.file.filename) != osp.realpath(f.filename):
        raise ExternalDataError(
            f'{where} resolves into another file {ds.file.filename!r} '
            '(through an external link); the cmu-h5 converter reads data '
            'stored in the source files only')
    if isinstance(ds, h5py.Dataset) and ds.external:
        raise ExternalDataError(
            f'{where} keeps its bytes in external file(s) '
            f'{[e[0] for e in ds.external]}; the cmu-h5 converter reads '
            'data stored in the source files only')
    if isinstance(ds, h5py.Dataset) and ds.is_virtual:
        raise ExternalDataError(
            f'{where} is a virtual dataset reading '
            f'{sorted({v.file_name for v in ds.virtual_sources()})}; the '
            'cmu-h5 converter reads data stored in the source files only')
    return ds


def _modalities(modalities) -> Sequence[str]:
    if modalities is None:
        return list(FILES)
    if isinstance(modalities, str):
        modalities = [m.strip() for m in modalities.split(',') if m.strip()]
    unknown = [m for m in modalities if m not in FILES]
    if unknown or not modalities:
        raise InputError(f'modalities {unknown or modalities} unknown; '
                         f'the cmu-h5 files hold {list(FILES)}')
    return list(modalities)


def _scan(src: str, wanted: Sequence[str]) -> dict:
    """{source split: {'y': path, modality: path}} for the files present."""
    found = {}
    for split, _ in SPLITS:
        files = {m: osp.join(src, FILES[m].format(split)) for m in wanted}
        files['y'] = osp.join(src, LABEL_FILE.format(split))
        files = {k: p for k, p in files.items() if osp.isfile(p)}
        if not files:
            continue
        if 'y' not in files:
            raise ConversionError(
                f"split '{split}' in {src!r} has "
                f'{sorted(osp.basename(p) for p in files.values())} but no '
                f'labels file {LABEL_FILE.format(split)!r}')
        found[split] = files
    if 'train' not in found:
        expected = [FILES[m].format('train') for m in wanted]
        expected.append(LABEL_FILE.format('train'))
        raise MissingFileError(
            f'no train split in {src!r}: expected {expected}; found '
            f'{sorted(os.listdir(src))}')
    return found


def _open_features(stack, files: dict, split: str, skipped: list,
                   strict: bool) -> dict:
    arrays = {}
    for m in FILES:
        if m not in files:
            continue
        try:
            ds = _open(stack, files[m])
        except ConversionError as err:
            if strict or isinstance(err, ExternalDataError):
                raise
            warnings.warn(f'skipping {err}; convert with --modalities to '
                          'choose the modalities explicitly')
            skipped.append(f'`{osp.basename(files[m])}` was skipped as '
                           f'unreadable ({err}).')
            continue
        if ds.ndim != 3:
            raise ConversionError(f'{files[m]!r} must hold (N, T, D) '
                                  f'features, found shape {ds.shape}')
        check_feature_shape(ds.shape, repr(files[m]))
        arrays[m] = ds
    if not arrays:
        raise ConversionError(f"split '{split}' has labels but no readable "
                              'feature file')
    return arrays


def _read_labels(ds, split: str, path: str) -> np.ndarray:
    with _reading(path):
        values = np.asarray(ds[()], np.float64)  # dtype checked by _open
    name = dict(SPLITS)[split]
    check_labels(values.reshape(len(values), -1) if values.ndim == 3 and
                 values.shape[1] == 1 else values, split,
                 osp.basename(path), lambda row: f'{name}_{row:06d}')
    return values


def _batches(arrays: dict, plan, split: str, name: str, n: int,
             batch_size: int):
    for rows in batch_ranges(n, batch_size):
        batch = {'id': [f'{name}_{i:06d}'
                        for i in range(rows.start, rows.stop)]}
        batch.update(plan.batch(split, rows))
        for m, ds in arrays.items():
            with _reading(ds.file.filename):
                batch[m] = ds[rows]
        yield batch


def convert(src, out_dir, overwrite: bool = False,
            batch_size: int = BATCH_SIZE,
            modalities: Optional[Union[str, Sequence[str]]] = None,
            label_column: Union[None, int, str] = None,
            label_names: Optional[Union[str, Sequence[str]]] = None,
            presence: bool = False) -> dict:
    """Convert a folder of CMU-SDK HDF5 files; returns the report.

    Args:
        modalities: convert only these (``'audio,video'`` or a list); an
            unreadable file of a chosen modality is then an error.
        label_column, label_names, presence: see ``cmu_h5_labels.py``.
    """
    src = check_source(src, 'folder')
    out_dir = check_out_dir(out_dir, overwrite)
    wanted = _modalities(modalities)
    found = _scan(src, wanted)
    with contextlib.ExitStack() as stack:
        dims, opened, skipped, matrices = {}, {}, [], {}
        for split, files in found.items():
            labels = _open(stack, files['y'])
            arrays = _open_features(stack, files, split, skipped,
                                    strict=modalities is not None)
            sizes = {LABEL_FILE.format(split): labels.shape[0]}
            for m, ds in arrays.items():
                sizes[m] = ds.shape[0]
                check_dims(dims, m, ds.shape[2], split,
                           FILES[m].format(split))
            check_lengths(split, sizes, LABEL_FILE.format(split))
            matrices[split] = _read_labels(labels, split, files['y'])
            opened[split] = arrays
        plan = plan_labels(matrices, {s: f['y'] for s, f in found.items()},
                           label_column, label_names, presence)
        by_split = {m: [s for s in opened if m in opened[s]] for m in FILES}
        notes = ['Files: ' + '; '.join(
            f'`{m}` from `{FILES[m].format("{split}")}`' for m in wanted)
            + f'; labels from `{LABEL_FILE.format("{split}")}`; `id` is '
            '`<split>_<index>`.',
            'Source split `valid` is named `validation`.']
        if modalities is not None:
            notes.append('Converted modalities (chosen): '
                         + ', '.join(f'`{m}`' for m in wanted) + '.')
        notes += skipped
        for m in dims:
            if len(by_split[m]) < len(found):
                notes.append(f'`{m}` exists for source split(s) '
                             f'{", ".join(by_split[m])} only.')
        files = sorted(osp.basename(p) for s, f in found.items()
                       for k, p in f.items()
                       if k == 'y' or k in opened[s])
        job = ConversionJob(
            'cmu-h5', src, out_dir, dims, plan.features(), overwrite,
            SOURCE_FORMAT, [f'{osp.abspath(src)}/{f}' for f in files],
            plan.notes(LABEL_FILE.format('{split}')), notes)
        with job:
            for split, name in SPLITS:
                if split not in opened:
                    continue
                arrays = opened.pop(split)
                n = len(matrices[split])
                job.write_split(name, _batches(arrays, plan, split, name, n,
                                               batch_size),
                                modalities=list(arrays), total=n)
            return job.finish()
