"""Speaker-independent k-fold splits (the RML protocol, paper section 4.2).

The samples of a dataset (all its splits pooled) are grouped by speaker;
the speakers are dealt into ``k`` folds so that every fold holds about
``1/k`` of the samples (largest speaker first, into the emptiest fold; ties
broken by a seeded shuffle). Fold ``i`` tests on the speakers of fold ``i``
and trains on all others: with ``k = 5`` that is the paper's 8:2 ratio, and
no speaker is ever in both parts. Each fold is written as a dataset in the
project's format with splits ``train`` and ``test`` (statistics from its
own train split); ``folds.json`` lists the speakers and sizes per fold.

Speakers come from a manifest column (``speaker`` in the extraction
manifest CSV, matched by ``id``) or from a regular expression on ``id``
(its group ``speaker``, else its first group, else the whole match), e.g.
``^(s\\d+)_`` for RML ids like ``s1_an_1``.
"""
import csv
import json
import math
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.errors import InputError, MissingFileError

__all__ = ['assign_folds', 'fold_summary', 'format_summary',
           'read_fold_metrics', 'speakers_from_manifest',
           'speakers_from_pattern', 'write_speaker_folds']


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
    report = dict(data_root=str(data_root), k=k, seed=seed, samples=len(ids),
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


def read_fold_metrics(work_dir: str) -> List[Dict[str, float]]:
    """``work_dir/fold_{i}/test_metrics.json`` for i = 0, 1, ... in order."""
    out, i = [], 0
    while osp.isfile(osp.join(work_dir, f'fold_{i}', 'test_metrics.json')):
        with open(osp.join(work_dir, f'fold_{i}', 'test_metrics.json')) as f:
            data = json.load(f)
        out.append(data.get('metrics', data))
        i += 1
    if not out:
        raise MissingFileError(f'no fold_0/test_metrics.json in '
                               f'{work_dir!r}')
    return out
