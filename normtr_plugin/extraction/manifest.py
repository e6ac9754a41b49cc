"""The manifest CSV that lists raw media to extract features from.

Columns: ``id``, ``split``, ``label`` (required) and at least one of
``video``, ``audio`` (paths relative to the CSV's folder, or absolute;
either way they must resolve, symlinks followed, inside the CSV's folder
unless ``allow_outside``);
``transcript`` is optional (kept in the report, not extracted: the paper's
RML setting has audio and video only). An empty media cell means the sample
lacks that file (it is skipped, or an error with ``strict``).

Labels: ``task='classification'`` (default) makes a ``ClassLabel`` whose
names are the distinct label strings, sorted; ``task='regression'`` needs
every label to parse as a finite float within float32's range
(``Value('float32')``); NaN, Inf and 1e39 are refused, naming the sample.
"""
import csv
import math
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import datasets as hf
import numpy as np

from ..datasets.feature_format import check_split_name
from ..registry import head_class
from ..utils.errors import InputError, MissingFileError

__all__ = ['MEDIA_COLUMNS', 'REQUIRED_COLUMNS', 'Manifest', 'Sample',
           'media_path', 'read_manifest']

REQUIRED_COLUMNS = ('id', 'split', 'label')
MEDIA_COLUMNS = ('video', 'audio')
SPLIT_ORDER = ('train', 'validation', 'test')


@dataclass
class Sample:
    id: str
    split: str
    label: str
    media: Dict[str, Optional[str]]  # modality -> absolute path or None
    transcript: Optional[str] = None


@dataclass
class Manifest:
    path: str
    modalities: List[str]
    splits: Dict[str, List[Sample]]
    label_feature: object
    task: str = 'classification'
    has_transcript: bool = False
    class_names: List[str] = field(default_factory=list)

    def encode(self, label: str):
        if not isinstance(self.label_feature, hf.ClassLabel):
            return float(label)
        return self.class_names.index(label)

    def __len__(self):
        return sum(len(s) for s in self.splits.values())


def media_path(root: str, value: str, where: str,
               allow_outside: bool = False) -> str:
    """``value`` joined to ``root``, refused when it resolves (``..``,
    absolute paths, symlinks) outside ``root`` unless ``allow_outside``."""
    path = osp.join(root, value)
    if allow_outside:
        return path
    real, real_root = osp.realpath(path), osp.realpath(root)
    if osp.commonpath([real, real_root]) != real_root:
        raise InputError(
            f'{where}: media path {value!r} resolves to {real!r}, outside '
            f"the manifest's folder {real_root!r}; move the file there or "
            'pass --allow-outside (allow_outside=True) to read it')
    return path


def _check_finite(path: str, rows: List[dict]) -> None:
    """Refuse NaN/Inf labels and labels beyond float32 (stored as inf),
    naming the line, the sample and the column."""
    limit = float(np.finfo(np.float32).max)
    for line, r in enumerate(rows, start=2):
        value = float(r['label'])
        if not math.isfinite(value) or abs(value) > limit:
            what = (f'beyond float32 (|x| <= {limit:.3g}; it would be '
                    'stored as inf)' if math.isfinite(value) else
                    'not finite')
            raise InputError(
                f"manifest {path!r} line {line}: column 'label' of sample "
                f"{r['id']!r} is {r['label']!r}, {what}; fix or drop that "
                'sample')


def read_manifest(path: str, task: str = 'classification',
                  allow_outside: bool = False) -> Manifest:
    head = head_class(task)  # the head decides: class names or numbers
    if not head.single_column:
        raise InputError(f"task {task!r} needs one label column per output;"
                         " a manifest has one: use 'classification' or "
                         "'regression'")
    if not osp.isfile(path):
        raise MissingFileError(f'manifest {path!r} not found')
    root = osp.dirname(osp.abspath(path))
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        found = [c.strip() for c in (reader.fieldnames or [])]
        rows = [{(k or '').strip(): (v or '').strip() for k, v in r.items()}
                for r in reader]
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    modalities = [c for c in MEDIA_COLUMNS if c in found]
    if missing or not modalities:
        raise InputError(
            f'manifest {path!r}: missing column(s) '
            f'{missing + ([] if modalities else ["video or audio"])}; '
            f'required: {list(REQUIRED_COLUMNS)} and at least one of '
            f'{list(MEDIA_COLUMNS)} (optional: transcript); found: {found}')
    if not rows:
        raise InputError(f'manifest {path!r} has no rows')
    splits, seen = OrderedDict(), set()
    for line, r in enumerate(rows, start=2):
        for c in REQUIRED_COLUMNS:
            if not r[c]:
                raise InputError(f'manifest {path!r} line {line}: empty '
                                 f'{c!r}')
        check_split_name(r['split'], f'manifest {path!r} line {line}')
        if r['id'] in seen:
            raise InputError(f'manifest {path!r} line {line}: duplicate id '
                             f'{r["id"]!r}')
        seen.add(r['id'])
        media = {m: (media_path(root, r[m], f'manifest {path!r} line '
                                f'{line}, column {m!r}', allow_outside)
                     if r[m] else None) for m in modalities}
        splits.setdefault(r['split'], []).append(Sample(
            r['id'], r['split'], r['label'], media,
            r.get('transcript') or None))
    if 'train' not in splits:
        raise InputError(f"manifest {path!r} has no 'train' split (the "
                         'normalisation statistics come from it); found '
                         f'splits: {list(splits)}')
    order = [s for s in SPLIT_ORDER if s in splits] + \
        [s for s in splits if s not in SPLIT_ORDER]
    splits = OrderedDict((s, splits[s]) for s in order)
    labels = [r['label'] for r in rows]
    if not head.categorical:
        bad = []
        for v in labels:
            try:
                float(v)
            except ValueError:
                bad.append(v)
        if bad:
            raise InputError(f'manifest {path!r}: task {task} needs '
                             f'numeric labels, found {sorted(set(bad))[:5]}')
        _check_finite(path, rows)
        feature, names = hf.Value('float32'), []
    else:
        names = sorted(set(labels))
        feature = hf.ClassLabel(names=names)
    return Manifest(osp.abspath(path), modalities, splits, feature, task,
                    'transcript' in found, names)
