"""Speaker-independent k-fold splits (the RML protocol, paper section 4.2).

The samples of a dataset (all its splits pooled) are grouped by speaker;
the speakers are dealt into ``k`` folds so that every fold holds about
``1/k`` of the samples (largest speaker first, into the emptiest fold; ties
broken by a seeded shuffle). Fold ``i`` tests on the speakers of fold ``i``
and trains on all others: with ``k = 5`` that is the paper's 8:2 ratio, and
no speaker is ever in both parts. Each fold is written as a dataset in the
project's format with splits ``train`` and ``test`` (statistics from its
own train split); ``folds.json`` lists the speakers and sizes per fold,
``k`` and a ``split_id`` drawn anew by every split.

Training a split's folds (``tools/speaker_folds.py train``) records that
split in ``WORK/split.json`` and in each ``WORK/fold_i/fold.json``; a work
dir holding the folds of another split is refused, and the summary
(:func:`read_fold_metrics`) reads exactly folds ``0..k-1`` of one split,
refusing a missing fold, a fold of another split and any stale
``fold_j`` (``j >= k``) left by an earlier, larger split.

Speakers come from a manifest column (``speaker`` in the extraction
manifest CSV, matched by ``id``) or from a regular expression on ``id``
(its group ``speaker``, else its first group, else the whole match), e.g.
``^(s\\d+)_`` for RML ids like ``s1_an_1``.
"""
import csv
import json
import math
import os
import os.path as osp
import re
import uuid
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.errors import InputError, MissingFileError

__all__ = ['SPLIT_FILE', 'FOLD_FILE', 'assign_folds', 'check_work_dir',
           'fold_summary', 'format_summary', 'read_fold_metrics',
           'read_split', 'record_fold', 'speakers_from_manifest',
           'speakers_from_pattern', 'write_speaker_folds']

#: in a folds folder (written by ``split``) and in a work dir (``train``)
SPLIT_FILE = 'split.json'
#: in each trained fold's work dir: which split and fold it belongs to
FOLD_FILE = 'fold.json'


def speakers_from_pattern(ids: Sequence[str], pattern: str) -> List[str]:
    """The speaker of each id by ``re.search(pattern, id)``."""
    regex = re.compile(pattern)
    out = []
    for i in ids:
        match = regex.search(str(i))
        if match is None:
            raise InputError(f'speaker pattern {pattern!r} does not match '
                             f'id {i!r}')
        groups = match.groupdict()
        out.append(groups['speaker'] if 'speaker' in groups else
                   match.group(1) if regex.groups else match.group(0))
    return out


def speakers_from_manifest(ids: Sequence[str], manifest: str,
                           column: str = 'speaker') -> List[str]:
    """The speaker of each id from a manifest CSV's ``column``."""
    with open(manifest, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        fields = [c.strip() for c in reader.fieldnames or []]
        if 'id' not in fields or column not in fields:
            raise InputError(f"manifest {manifest!r} needs columns 'id' and "
                             f'{column!r}; found {fields}')
        table = {(r.get('id') or '').strip(): (r.get(column) or '').strip()
                 for r in ({(k or '').strip(): v for k, v in row.items()}
                           for row in reader)}
    missing = [i for i in ids if not table.get(str(i))]
    if missing:
        raise InputError(f'{len(missing)} ids have no {column!r} in '
                         f'{manifest!r}, e.g. {missing[:3]}')
    return [table[str(i)] for i in ids]


def assign_folds(speakers: Sequence[str], k: int,
                 seed: int = 0) -> List[List[str]]:
    """The test speakers of each of ``k`` folds (see the module
    docstring); every speaker is in exactly one fold."""
    names, counts = np.unique(np.asarray(speakers, dtype=object),
                              return_counts=True)
    if k < 2:
        raise InputError(f'k must be at least 2, got {k}')
    if len(names) < k:
        raise InputError(f'{len(names)} speakers cannot fill {k} '
                         f'speaker-disjoint folds; use k <= {len(names)}')
    order = np.random.default_rng(seed).permutation(len(names))
    order = sorted(order, key=lambda j: -counts[j])  # stable: seeded ties
    folds, sizes = [[] for _ in range(k)], np.zeros(k, np.int64)
    for j in order:
        target = int(np.argmin(sizes))
        folds[target].append(str(names[j]))
        sizes[target] += counts[j]
    return [sorted(f) for f in folds]


def _pooled(data_root: str):
    import datasets as hf

    from .sources import load_splits
    splits, _ = load_splits(data_root)
    parts = [splits[s] for s in splits]
    columns = set(parts[0].column_names)
    for s, ds in zip(splits, parts):
        if set(ds.column_names) != columns:
            raise InputError(f"split '{s}' of {data_root} has columns "
                             f'{ds.column_names}, another has '
                             f'{sorted(columns)}: cannot pool them')
    return hf.concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def _batches(ds, rows: np.ndarray, batch_size: int = 256):
    for start in range(0, len(rows), batch_size):
        batch = ds.select(rows[start:start + batch_size]).with_format(
            'numpy')[:]
        batch['id'] = [str(i) for i in batch['id']]
        yield batch


def write_speaker_folds(data_root: str, out_dir: str, k: int = 5,
                        manifest: Optional[str] = None,
                        speaker_column: str = 'speaker',
                        pattern: Optional[str] = None, seed: int = 0,
                        overwrite: bool = False) -> dict:
    """Write ``out_dir/fold_{i}`` (train/test) for i < k and
    ``out_dir/folds.json``; returns the fold report."""
    import datasets as hf

    from ..utils import atomic, check_replaceable
    from .feature_format import FeatureDatasetWriter
    if (manifest is None) == (pattern is None):
        raise InputError('give the speakers by a manifest (--manifest) or '
                         'by a pattern on the ids (--speaker-pattern), not '
                         'both')
    pooled = _pooled(data_root)
    ids = pooled['id']
    speakers = (speakers_from_pattern(ids, pattern) if pattern else
                speakers_from_manifest(ids, manifest, speaker_column))
    folds = assign_folds(speakers, k, seed)
    modalities = {c: f.shape[1] for c, f in pooled.features.items()
                  if isinstance(f, hf.Array2D)}
    labels = {c: f for c, f in pooled.features.items()
              if c != 'id' and c not in modalities}
    speakers = np.asarray(speakers, dtype=object)
    report = dict(data_root=str(data_root), k=k, seed=seed,
                  split_id=uuid.uuid4().hex, samples=len(ids),
                  speakers=int(len(set(speakers))), folds=[])
    for i, test_speakers in enumerate(folds):
        folder = osp.join(out_dir, f'fold_{i}')
        check_replaceable(folder, overwrite)
        is_test = np.isin(speakers, test_speakers)
        rows = dict(train=np.flatnonzero(~is_test),
                    test=np.flatnonzero(is_test))
        with FeatureDatasetWriter(folder, modalities, labels,
                                  overwrite) as writer:
            for split in ('train', 'test'):
                writer.write_split(split, _batches(pooled, rows[split]))
            train_speakers = sorted(set(speakers[rows['train']]))
            writer.finish(_card(i, k, data_root, test_speakers,
                                train_speakers, rows))
        report['folds'].append(dict(
            fold=i, folder=folder, test_speakers=test_speakers,
            train_speakers=train_speakers,
            train=int(len(rows['train'])), test=int(len(rows['test'])),
            test_fraction=round(len(rows['test']) / len(ids), 4)))
    atomic.write_json(osp.join(out_dir, 'folds.json'), report)
    return report


def _card(i, k, data_root, test_speakers, train_speakers, rows) -> str:
    return '\n'.join([
        f'# Speaker-independent fold {i} of {k}', '',
        f'From `{data_root}` (all splits pooled), written by '
        '`tools/speaker_folds.py`.', '',
        f"- train: {len(rows['train'])} samples, speakers "
        f"{', '.join(train_speakers)}",
        f"- test: {len(rows['test'])} samples, speakers "
        f"{', '.join(test_speakers)}", '',
        'No speaker is in both splits. There is no validation split: the '
        "configs then test the last epoch or validate on a held-out part of "
        'train (`model_selection`).', ''])


def fold_summary(per_fold: List[Dict[str, float]]) -> Dict[str, dict]:
    """Mean and sample standard deviation (ddof=1) over folds of every
    metric the folds share."""
    if not per_fold:
        raise InputError('no fold metrics to summarise')
    keys = [m for m in per_fold[0] if all(m in f for f in per_fold)]
    out = {}
    for m in keys:
        values = np.asarray([f[m] for f in per_fold], np.float64)
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[m] = dict(mean=float(values.mean()), std=std,
                      folds=values.tolist())
        if not all(math.isfinite(v) for v in (out[m]['mean'], std)):
            raise InputError(f'metric {m!r} is not finite over the folds')
    return out


def format_summary(summary: Dict[str, dict]) -> str:
    """``metric: mean ± std (n folds)`` lines."""
    return '\n'.join(f"{m}: {s['mean']:.4g} ± {s['std']:.4g} "
                     f"({len(s['folds'])} folds)" for m, s in summary.items())


def read_split(folds_dir: str) -> dict:
    """``folds.json`` of a folds folder: ``k``, ``split_id`` and the folds;
    one without a split id (an older split) is refused."""
    path = osp.join(folds_dir, 'folds.json')
    if not osp.isfile(path):
        raise MissingFileError(f'no folds.json in {folds_dir!r}: write the '
                               'folds with tools/speaker_folds.py split')
    with open(path) as f:
        report = json.load(f)
    if not isinstance(report, dict) or not report.get('split_id') or \
            len(report.get('folds') or ()) != report.get('k'):
        raise InputError(f'{path!r} has no split id or not k folds (written '
                         'by an older version?): split again with '
                         'tools/speaker_folds.py split --overwrite')
    return report


def _split_of(work_dir: str) -> Optional[dict]:
    path = osp.join(work_dir, SPLIT_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _fold_dirs(work_dir: str) -> Dict[int, str]:
    found = {}
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else ():
        match = re.fullmatch(r'fold_(\d+)', name)
        if match and osp.isdir(osp.join(work_dir, name)):
            found[int(match.group(1))] = osp.join(work_dir, name)
    return found


def _describe(split: Optional[dict]) -> str:
    if not split:
        return 'an unknown split'
    return f"split {split.get('split_id')} (k={split.get('k')})"


def check_work_dir(work_dir: str, split: dict, folds_dir: str) -> None:
    """Before training ``split``'s folds into ``work_dir``: refuse a work
    dir that holds folds of another split; record the split there."""
    from ..utils import atomic
    mine = dict(split_id=split['split_id'], k=split['k'],
                folds=osp.abspath(folds_dir))
    theirs = _split_of(work_dir)
    if (theirs is None and _fold_dirs(work_dir)) or (
            theirs is not None and theirs.get('split_id') != mine['split_id']):
        raise InputError(
            f'work dir {work_dir!r} holds folds of {_describe(theirs)}, not '
            f"of split {mine['split_id']} (k={mine['k']}) in {folds_dir!r}: "
            'train into another --work-dir (or remove that one)')
    if theirs is None:
        os.makedirs(work_dir, exist_ok=True)
        atomic.write_json(osp.join(work_dir, SPLIT_FILE), mine)


def record_fold(work_dir: str, split: dict, fold: int) -> None:
    """Mark ``work_dir/fold_{fold}`` as a trained fold of ``split``."""
    from ..utils import atomic
    atomic.write_json(osp.join(work_dir, f'fold_{fold}', FOLD_FILE),
                      dict(split_id=split['split_id'], k=split['k'],
                           fold=fold))


def read_fold_metrics(work_dir: str) -> List[Dict[str, float]]:
    """``work_dir/fold_{i}/test_metrics.json`` for i = 0 .. k-1 of the split
    ``work_dir/split.json`` records; a missing fold, a fold of another
    split, or a stale ``fold_j`` (j >= k) is refused, naming it."""
    split = _split_of(work_dir)
    if split is None:
        raise MissingFileError(
            f'no {SPLIT_FILE} in {work_dir!r}: the folds there were not '
            'trained by tools/speaker_folds.py train, so which split they '
            'belong to is unknown')
    k, sid = split.get('k'), split.get('split_id')
    dirs = _fold_dirs(work_dir)
    stale = sorted(i for i in dirs if not isinstance(k, int) or i >= k)
    if stale:
        raise InputError(
            f"work dir {work_dir!r}: {', '.join(f'fold_{i}' for i in stale)}"
            f' are not folds of split {sid} (k={k}), left by another split:'
            ' remove them or train into a new --work-dir')
    out = []
    for i in range(k):
        folder = osp.join(work_dir, f'fold_{i}')
        metrics = osp.join(folder, 'test_metrics.json')
        mark = osp.join(folder, FOLD_FILE)
        missing = [osp.basename(p) for p in (mark, metrics)
                   if not osp.isfile(p)]
        if missing:
            raise MissingFileError(
                f'fold {i} of split {sid} (k={k}) in {work_dir!r} is not '
                f'trained: no {" or ".join(missing)} in {folder!r}')
        with open(mark) as f:
            fold = json.load(f)
        if fold.get('split_id') != sid or fold.get('fold') != i:
            raise InputError(
                f'{folder!r} is fold {fold.get("fold")} of split '
                f'{fold.get("split_id")} (k={fold.get("k")}), not fold {i} '
                f'of split {sid} (k={k}): train into a new --work-dir')
        with open(metrics) as f:
            data = json.load(f)
        out.append({key: v for key, v in data.items() if key != 'checkpoint'})
    return out
