"""Converters from the feature files users already have (SPEC section 8)
into the project's format (``normtr_plugin.datasets.feature_format``).

    from normtr_plugin.datasets.converters import convert
    report = convert('mmsa', 'MOSI/Processed/aligned_50.pkl', 'data/mosi')

Formats (``FORMATS``):

- ``mmsa``: MMSA pickles (``aligned_50.pkl``, ``unaligned_50.pkl``).
- ``mult``: MulT pickles (``iemocap_data.pkl``, ``mosei_senti_data.pkl``).
- ``cmu-h5``: a folder of CMU-SDK derived HDF5 files (MFN release).

Every converter writes through ``FeatureDatasetWriter`` (batched, atomic,
NaN/Inf set to 0 and counted, train statistics) and returns a report::

    dict(format=..., source=..., out_dir=...,
         splits={split: dict(samples=n, non_finite_samples={modality: n})},
         modalities={modality: dim})

This module also holds what the three converters share (input checks,
the write job); the converters themselves are imported on first use.
"""
import importlib
import os.path as osp
import re
from typing import (Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence)

import datasets as hf
import numpy as np

from ...structures.lengths import zero_padding_spans
from ...utils import check_replaceable
from ..feature_format import FeatureDatasetWriter
from . import safe_pickle
from .dataset_card import render_card
from .progress import ProgressReader, progress_bar
from ...utils.errors import InputError, MissingFileError
from ...utils.real_arrays import REAL_KINDS, real_array

FORMATS = ('mmsa', 'mult', 'cmu-h5')
_MODULES = {'mmsa': 'mmsa', 'mult': 'mult', 'cmu-h5': 'cmu_h5'}
BATCH_SIZE = 256
# (name in the source files, name in the project's format)
SPLITS = (('train', 'train'), ('valid', 'validation'), ('test', 'test'))
SPLIT_ALIASES = {'valid': ('valid', 'validation'), 'train': ('train',),
                 'test': ('test',)}
_URL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')

__all__ = ['FORMATS', 'FLOAT32_MAX', 'ConversionError', 'check_labels',
           'convert']


class ConversionError(InputError):
    """The source files are not in the expected format."""


def convert(format: str, src: str, out_dir: str, overwrite: bool = False,
            **kwargs) -> dict:
    """Convert ``src`` (file or folder, see ``FORMATS``) into ``out_dir``.

    Returns the report (see the module docstring). ``kwargs`` go to the
    converter (e.g. ``batch_size``).
    """
    if format not in _MODULES:
        raise InputError(f'unknown format {format!r}; known formats: '
                         f'{", ".join(FORMATS)}')
    module = importlib.import_module(f'.{_MODULES[format]}', __name__)
    return module.convert(src, out_dir, overwrite=overwrite, **kwargs)


# ---------------------------------------------------------------- inputs
def check_source(src, kind: str = 'file') -> str:
    """``src`` as a local path that exists (``kind``: 'file' or 'folder')."""
    src = str(src)
    if _URL.match(src):
        raise InputError(f'{src!r} looks like a URL; the converters read '
                         'local files only: download it first')
    exists = osp.isfile if kind == 'file' else osp.isdir
    if not exists(src):
        what = 'is not a file' if osp.exists(src) else 'not found'
        raise MissingFileError(f'source {kind} {src!r} {what}')
    return src


def check_out_dir(out_dir, overwrite: bool) -> str:
    """Refuse an existing output folder early (before reading the source):
    with ``overwrite`` only one this project wrote may be replaced; the
    writer checks again with the same message."""
    out_dir = str(out_dir)
    check_replaceable(out_dir, overwrite)
    return out_dir


def load_pickle(path: str, what: str) -> dict:
    """Load a local pickle holding a dict, through the restricted unpickler
    (``safe_pickle``: numpy arrays and builtin containers only, none larger
    than the file). A damaged pickle is a :class:`ConversionError`."""
    limit = max(osp.getsize(path), safe_pickle.MIN_LIMIT)
    try:
        with open(path, 'rb') as raw:
            f = ProgressReader(raw, f'reading {osp.basename(path)}')
            try:
                data = safe_pickle.load(f, path, limit=limit)
            except UnicodeDecodeError:  # written by Python 2
                f.seek(0)
                data = safe_pickle.load(f, path, limit=limit,
                                        encoding='latin1')
            finally:
                f.close()
    except safe_pickle.UnsafePickleError as err:
        raise ConversionError(str(err)) from None
    except Exception as err:  # noqa: B902 - truncated or damaged bytes
        # (pickle, numpy, codec errors): the file's fault, one line
        text = ' '.join(str(err).split())[:200]
        raise ConversionError(f'{path!r} is not a readable {what} pickle: '
                              f'{type(err).__name__}: {text}') from None
    if not isinstance(data, dict):
        raise ConversionError(f'{what} pickle {path!r} must hold a dict of '
                              f'splits, found {type(data).__name__}')
    return data


def find_splits(data: dict, path: str, what: str) -> List[tuple]:
    """[(key in ``data``, output split name)] for train/valid/test."""
    found = []
    for source, name in SPLITS:
        key = next((k for k in SPLIT_ALIASES[source] if k in data), None)
        if key is None:
            raise ConversionError(
                f"{what} pickle {path!r} has no split '{source}'; "
                f'found keys {sorted(map(str, data))}')
        if not isinstance(data[key], dict):
            raise ConversionError(
                f"split '{key}' of {what} pickle {path!r} must be a dict of "
                f'arrays, found {type(data[key]).__name__}')
        found.append((key, name))
    return found


def read_pickle_splits(src, out_dir, overwrite: bool, what: str,
                       validate) -> tuple:
    """Check the paths, unpickle the user's own file and validate each split
    with ``validate(part, key, name, dims, src)``.

    Returns ``(src, out_dir, data, splits, dims, infos)``.
    """
    src = check_source(src, 'file')
    out_dir = check_out_dir(out_dir, overwrite)
    data = load_pickle(src, what)
    splits = find_splits(data, src, what)
    dims = {}
    infos = {key: validate(data[key], key, name, dims, src)
             for key, name in splits}
    return src, out_dir, data, splits, dims, infos


def write_pickle_splits(job, data: dict, splits, infos: dict,
                        batches) -> dict:
    """Write each split with ``batches(info)``, freeing its source arrays
    once written so memory does not hold two copies of the pickle."""
    with job:
        for key, name in splits:
            info = infos.pop(key)
            job.write_split(name, batches(info),
                            total=len(info.get('labels', ())) or None)
            del info, data[key]
        return job.finish()


def require_keys(part: dict, keys: Iterable[str], split: str,
                 path: str, what: str) -> None:
    missing = [k for k in keys if k not in part]
    if missing:
        raise ConversionError(
            f"split '{split}' of {what} file {path!r} lacks required "
            f'key(s) {missing}; found keys {sorted(map(str, part))}')


def features_array(values, split: str, key: str) -> np.ndarray:
    """A numeric (N, T, D) array (no copy when it already is one)."""
    if hasattr(values, 'detach'):  # a torch tensor
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 3 or arr.dtype.kind not in REAL_KINDS:
        raise ConversionError(
            f"split '{split}': '{key}' must be an array of real numbers "
            f'(N, T, D), found shape {arr.shape} dtype {arr.dtype}')
    check_feature_shape(arr.shape, f"split '{split}': '{key}'")
    return arr


def check_feature_shape(shape, where: str) -> None:
    """(N, T, D) features need T >= 1 steps and D >= 1 dims."""
    if len(shape) == 3 and (shape[1] < 1 or shape[2] < 1):
        raise ConversionError(
            f'{where}: features of shape {tuple(shape)} have '
            f'{shape[1]} time steps and {shape[2]} feature dims; each '
            'needs at least 1')


def check_lengths(split: str, sizes: Dict[str, int],
                  reference: str) -> None:
    """Every column in ``sizes`` must have as many samples as ``reference``.
    """
    n = sizes[reference]
    for key, m in sizes.items():
        if m != n:
            raise ConversionError(
                f"split '{split}': '{key}' has N={m} samples but "
                f"'{reference}' has N={n}")


#: the largest label a float32 column stores (a larger one becomes inf)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_labels(values: np.ndarray, split: str, key: str,
                 sample: Optional[Callable[[int], str]] = None,
                 columns: Optional[Sequence[str]] = None) -> None:
    """Refuse NaN/Inf labels and labels beyond float32's range (stored as
    inf), naming the first bad sample (``sample(row)``: its id) and
    column (``columns[j]`` or ``column j``)."""
    arr = real_array(values, f"split '{split}': labels '{key}'", np.float64)
    with np.errstate(invalid='ignore', over='ignore'):
        bad = ~np.isfinite(arr) | (np.abs(arr) > FLOAT32_MAX)
    if not bad.any():
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    row, rest = first[0], first[1:]
    value = arr[first]
    name = repr(sample(row)) if sample else f'at row {row}'
    column = ''
    if rest:
        label = columns[rest[0]] if columns is not None else \
            f'column {rest[0]}'
        column = f', {label}' + (f' {list(rest[1:])}' if rest[1:] else '')
    what = (f'{value:g}, beyond float32 (|x| <= {FLOAT32_MAX:.3g}; it '
            'would be stored as inf)' if np.isfinite(value) else
            f'{value}')
    raise ConversionError(
        f"split '{split}': label '{key}'{column} of sample {name} (row "
        f'{row}) is {what}; {int(bad.sum())} such value(s) in all: fix or '
        'drop those samples in the source before converting')


def check_dims(dims: Dict[str, int], column: str, dim: int, split: str,
               key: str) -> None:
    if dims.setdefault(column, dim) != dim:
        raise ConversionError(
            f"split '{split}': '{key}' has feature dim {dim}, another split "
            f'has {dims[column]}')


def as_strings(values) -> List[str]:
    """str of each element; bytes decoded as UTF-8."""
    return [v.decode('utf-8', 'replace') if isinstance(v, bytes) else str(v)
            for v in np.asarray(values, dtype=object).reshape(-1)]


def batch_ranges(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


# ------------------------------------------------------------- padding
def padding_side(leading: int, trailing: int) -> str:
    """'left', 'right', 'both' or 'none' from counts of padded samples."""
    return {(True, True): 'both', (True, False): 'left',
            (False, True): 'right', (False, False): 'none'}[
        (leading > 0, trailing > 0)]


# ------------------------------------------------------------- the job
def _type_name(feature) -> str:
    if isinstance(feature, hf.ClassLabel):
        return f'ClassLabel ({", ".join(feature.names)})'
    if isinstance(feature, hf.Value):
        return feature.dtype
    return type(feature).__name__


class ConversionJob:
    """A ``FeatureDatasetWriter`` that also notes what the card needs.

    ``labels`` maps every non-feature column (labels, raw text) to its
    ``datasets`` feature; ``label_notes`` describes the label columns.
    """

    def __init__(self, fmt: str, src: str, out_dir: str,
                 modalities: Dict[str, int], labels: Dict[str, object],
                 overwrite: bool, source_format: str,
                 source_files: List[str],
                 label_notes: Dict[str, str],
                 notes: Iterable[str] = ()):
        order = [m for m in ('audio', 'video', 'text') if m in modalities]
        order += [m for m in modalities if m not in order]
        self.modalities = {m: int(modalities[m]) for m in order}
        self.labels = dict(labels)
        self.fmt, self.src, self.out_dir = fmt, src, out_dir
        self.source_format, self.source_files = source_format, source_files
        self.label_notes, self.notes = dict(label_notes), list(notes)
        self.steps = {m: {} for m in self.modalities}  # split -> [min, max]
        self.padding = {m: dict(leading=0, trailing=0, padded_steps=0)
                        for m in self.modalities}
        self.aligned = True
        self.split_modalities = {}
        self.writer = FeatureDatasetWriter(out_dir, self.modalities,
                                           self.labels, overwrite)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.writer.__exit__(*exc)

    def write_split(self, name: str, batches: Iterable[dict],
                    modalities: Optional[List[str]] = None,
                    total: Optional[int] = None) -> int:
        """Write one split; a progress bar counts its samples (``total``:
        how many, when known) as they are read and written."""
        present = [m for m in self.modalities
                   if modalities is None or m in modalities]
        self.split_modalities[name] = present
        with progress_bar(total, f'converting {name}') as bar:
            return self.writer.write_split(
                name, self._track(name, batches, present, bar),
                modalities=present)

    def _strip_padding(self, batch: dict, present: List[str]) -> dict:
        """Rows -> their valid steps (lengths as data, SPEC section 1).

        ``batch['_lengths'] = {m: (n,)}`` gives right-padded valid lengths
        (MMSA); other fixed-length modalities are scanned for zero padding.
        """
        given = batch.pop('_lengths', {})
        fixed = {m: batch[m] for m in present if m not in given and
                 isinstance(batch[m], np.ndarray) and batch[m].ndim == 3}
        spans = zero_padding_spans(fixed) if fixed else {}
        for m, lengths in given.items():
            spans[m] = (np.zeros_like(lengths), lengths)
        for m, (start, stop) in spans.items():
            arr, pad = batch[m], self.padding[m]
            pad['leading'] += int((start > 0).sum())
            pad['trailing'] += int((stop < arr.shape[1]).sum())
            pad['padded_steps'] += int(arr.shape[1] * len(arr) -
                                       (stop - start).sum())
            batch[m] = [arr[i, a:b] for i, (a, b) in
                        enumerate(zip(start, stop))]
        lengths = [[len(x) for x in batch[m]] for m in present]
        self.aligned &= all(ls == lengths[0] for ls in lengths)
        return batch

    def _track(self, name, batches, present, bar=None) -> Iterator[dict]:
        for batch in batches:
            if bar is not None:
                bar.update(len(batch['id']))
            batch = self._strip_padding(dict(batch), present)
            for m in present:
                lengths = [len(x) for x in batch[m]]
                if lengths:
                    seen = self.steps[m].setdefault(
                        name, [min(lengths), max(lengths)])
                    seen[0] = min(seen[0], min(lengths))
                    seen[1] = max(seen[1], max(lengths))
            yield batch

    def _shape(self, m: str) -> str:
        spans = list(self.steps[m].values())
        dim = self.modalities[m]
        if not spans:
            return f'(T, {dim})'
        low, high = min(s[0] for s in spans), max(s[1] for s in spans)
        if low == high:
            return f'({low}, {dim})'
        return f'(T, {dim}), T from {low} to {high}'

    def padding_report(self) -> Dict[str, dict]:
        """Per modality: samples padded at the start / end, the side."""
        return {m: dict(p, side=padding_side(p['leading'], p['trailing']))
                for m, p in self.padding.items()}

    def _padding_notes(self) -> List[str]:
        notes = []
        for m, p in self.padding_report().items():
            if p['side'] != 'none':
                notes.append(
                    f'`{m}`: padding removed ({p["side"]}: '
                    f'{p["leading"]} samples padded at the start, '
                    f'{p["trailing"]} at the end, {p["padded_steps"]} '
                    'steps in all); each row holds its valid steps only.')
        notes.append('Valid lengths agree across modalities in every sample'
                     ' (aligned).' if self.aligned and
                     len(self.modalities) > 1 else
                     'Valid lengths differ across modalities (unaligned).')
        return notes

    def finish(self) -> dict:
        report = self.writer.report
        self.writer.padding = self.padding_report()
        splits = list(self.split_modalities)
        columns = [dict(column='id', type='string', shape='()',
                        splits=splits)]
        for m, dim in self.modalities.items():
            columns.append(dict(
                column=m, type='Array2D float32', shape=self._shape(m),
                splits=[s for s in splits if m in self.split_modalities[s]]))
        for key, feature in self.labels.items():
            columns.append(dict(column=key, type=_type_name(feature),
                                shape='()', splits=splits))
        card = render_card(
            pretty_name=_pretty_name(self.out_dir, self.fmt),
            source_format=self.source_format,
            source_files=self.source_files,
            splits={s: report[s]['samples'] for s in splits},
            columns=columns, labels=self.label_notes,
            non_finite={s: report[s]['non_finite_samples'] for s in splits},
            modalities=list(self.modalities),
            notes=self.notes + self._padding_notes())
        self.writer.finish(card)
        return dict(
            format=self.fmt, source=osp.abspath(self.src),
            out_dir=osp.abspath(self.out_dir),
            splits={s: dict(samples=report[s]['samples'],
                            non_finite_samples=dict(
                                report[s]['non_finite_samples']))
                    for s in splits},
            modalities=dict(self.modalities),
            padding=self.padding_report(), aligned=self.aligned)


def _pretty_name(out_dir: str, fmt: str) -> str:
    name = osp.basename(osp.normpath(osp.abspath(out_dir)))
    return f'{name} (multimodal features converted from {fmt})'
