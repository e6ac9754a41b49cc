"""The project's feature format, and the one place that writes it.

A ``datasets.DatasetDict`` saved with ``save_to_disk``; splits ``train``,
``validation``, ``test``; columns ``id`` (string), one
``Array2D((None, N_m), 'float32')`` per modality, and label columns. Beside
the splits: ``feature_stats.json`` (per-feature mean/std of the train
split) and a dataset card ``README.md``.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, Mapping, Optional

import datasets as hf
import numpy as np
from datasets.arrow_writer import ArrowWriter

from ..utils import StagingDir, check_replaceable
from ..utils.errors import InputError
from ..utils.real_arrays import check_real

STATS_FILE = 'feature_stats.json'
#: split names are plain identifiers (they become folder names)
SPLIT_NAME = re.compile(r'^[A-Za-z0-9_]+$')


def check_split_name(name, where: str) -> str:
    """``name`` when it is a plain split name (letters, digits, ``_``);
    else an :class:`InputError`: a split becomes a folder, so ``../x``
    or ``a/b`` would write outside the dataset."""
    if not isinstance(name, str) or not SPLIT_NAME.match(name):
        raise InputError(f'{where}: split name {name!r} is not a plain '
                         'name (letters, digits and _ only, e.g. train, '
                         'validation, test)')
    return name


def feature_schema(modalities: Mapping[str, int],
                   labels: Mapping[str, object]) -> hf.Features:
    """Columns: id, one Array2D per modality, then the label columns."""
    return hf.Features({
        'id': hf.Value('string'),
        **{m: hf.Array2D((None, d), 'float32') for m, d in modalities.items()},
        **labels})


def check_feature_stats(stats: Mapping[str, dict], where: str) -> None:
    """Every modality's ``mean``/``std`` must be equally long lists of
    finite numbers (``std >= 0``); else a ValueError naming ``where``, the
    modality and the index."""
    if not isinstance(stats, Mapping):
        raise InputError(f'{where}: feature statistics must map modality -> '
                         f'{{mean, std}}, found {type(stats).__name__}')
    for m, entry in stats.items():
        if not isinstance(entry, Mapping) or not {'mean', 'std'} <= set(
                entry):
            raise InputError(f"{where}: statistics of modality '{m}' need "
                             "'mean' and 'std' lists")
        values = {}
        for key in ('mean', 'std'):
            try:
                values[key] = np.asarray(entry[key], np.float64)
            except (TypeError, ValueError):
                raise InputError(f"{where}: {key} of modality '{m}' is not "
                                 'a list of numbers') from None
            if values[key].ndim != 1:
                raise InputError(f"{where}: {key} of modality '{m}' must be "
                                 f'a flat list, found shape '
                                 f'{values[key].shape}')
            bad = np.flatnonzero(~np.isfinite(values[key]))
            if len(bad):
                raise InputError(
                    f"{where}: {key}[{bad[0]}] of modality '{m}' is "
                    f'{values[key][bad[0]]} ({len(bad)} non-finite '
                    'value(s)); the statistics are damaged: recompute them '
                    '(convert the data again)')
        if len(values['mean']) != len(values['std']):
            raise InputError(f"{where}: modality '{m}' has "
                             f"{len(values['mean'])} means but "
                             f"{len(values['std'])} stds")
        negative = np.flatnonzero(values['std'] < 0)
        if len(negative):
            raise InputError(f"{where}: std[{negative[0]}] of modality "
                             f"'{m}' is negative")


class RunningStats:
    """Per-feature mean and std over every time step of every sample."""

    def __init__(self):
        self.count, self.total, self.squares = 0, 0.0, 0.0

    def update(self, batch) -> None:
        for x in (batch if isinstance(batch, list) else [batch]):
            frames = np.asarray(x, np.float64).reshape(-1, np.shape(x)[-1])
            self.count += len(frames)
            self.total = self.total + frames.sum(0)
            self.squares = self.squares + (frames ** 2).sum(0)

    def result(self) -> dict:
        mean = self.total / max(self.count, 1)
        var = np.maximum(self.squares / max(self.count, 1) - mean ** 2, 0)
        return dict(mean=np.asarray(mean).tolist(),
                    std=np.sqrt(var).tolist(), frames=self.count)


def clean_features(x):
    """float32 copy with NaN/Inf set to 0; also the number of samples hit.

    ``x`` is an array (N, T, D) or a list of (T_i, D) arrays.
    """
    if isinstance(x, np.ndarray) and x.ndim == 3:
        check_real(x.dtype, 'features')
        x = x.astype(np.float32)
        bad = ~np.isfinite(x)
        hit = int(bad.any(axis=(1, 2)).sum())
        x[bad] = 0.0
        return x, hit
    cleaned = [clean_features(np.asarray(a)[None])[0][0] for a in x]
    hit = sum(int(not np.isfinite(np.asarray(a, np.float32)).all())
              for a in x)
    return cleaned, hit


class FeatureDatasetWriter:
    """Write the format split by split, in batches, atomically.

    Memory stays bounded: each batch goes straight to an Arrow file. NaN/Inf
    become 0 and are counted per split and modality (``report``). The train
    split's per-feature statistics go to ``feature_stats.json``. Everything
    is written under a staging folder (``utils.StagingDir``, with the
    project's marker file) that is renamed on ``finish``; ``overwrite``
    replaces only a folder this project wrote. An empty split is refused.

    Usage::

        with FeatureDatasetWriter(out_dir, dict(audio=74, video=35),
                                  {'label': hf.Value('float32')}) as w:
            w.write_split('train', batches)   # iterable of column dicts
            ...
            w.finish(card_text)
    """

    def __init__(self, out_dir: str, modalities: Mapping[str, int],
                 labels: Mapping[str, object], overwrite: bool = False,
                 stats_split: str = 'train'):
        check_replaceable(out_dir, overwrite)
        self.out_dir, self.overwrite = out_dir, overwrite
        self.modalities, self.labels = dict(modalities), dict(labels)
        self.stats_split = stats_split
        self.splits, self.report, self.stats = [], {}, None
        self.padding = None  # {modality: ...} set by the converters
        self.staging = StagingDir(out_dir, overwrite)
        self.tmp = self.staging.path

    def write_split(self, name: str, batches: Iterable[dict],
                    modalities: Optional[Iterable[str]] = None) -> int:
        """Write one split; ``modalities`` lists those this split has."""
        check_split_name(name, self.out_dir)
        present = list(modalities or self.modalities)
        features = feature_schema(
            {m: self.modalities[m] for m in present}, self.labels)
        stats = {m: RunningStats() for m in present}
        hits = dict.fromkeys(present, 0)
        staging = osp.join(self.tmp, f'_{name}.arrow')
        with ArrowWriter(features=features, path=staging) as writer:
            for batch in batches:
                batch = dict(batch)
                for m in present:
                    batch[m], hit = clean_features(batch[m])
                    hits[m] += hit
                    stats[m].update(batch[m])
                writer.write_batch({k: batch[k] for k in features})
            total, _ = writer.finalize()
        if total == 0:
            raise InputError(
                f"split '{name}' is empty (0 samples): a dataset with an "
                f'empty split cannot be loaded; nothing was written to '
                f'{self.out_dir!r}')
        hf.Dataset.from_file(staging).save_to_disk(osp.join(self.tmp, name))
        os.remove(staging)
        self.splits.append(name)
        self.report[name] = dict(samples=total, non_finite_samples=hits)
        if name == self.stats_split:
            self.stats = {m: s.result() for m, s in stats.items()}
        return total

    def finish(self, card: str = '') -> str:
        if self.stats is None:
            raise InputError(f"no '{self.stats_split}' split was written; "
                             'the normalisation statistics come from it')
        _write_json(osp.join(self.tmp, 'dataset_dict.json'),
                    dict(splits=self.splits))
        _write_json(osp.join(self.tmp, STATS_FILE),
                    dict(split=self.stats_split, modalities=self.stats,
                         non_finite=self.report,
                         **({'padding': self.padding} if self.padding
                            else {})))
        with open(osp.join(self.tmp, 'README.md'), 'w') as f:
            f.write(card)
        # Replaces out_dir only with overwrite and only if this project
        # wrote it (marker file); another writer may have finished.
        return self.staging.commit()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.staging.discard()
        return False


def _write_json(path: str, data) -> None:
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)


def save_feature_dataset(splits: Dict[str, dict], out_dir: str,
                         features: hf.Features, overwrite: bool = False,
                         card: str = '') -> str:
    """Write in-memory ``{split: {column: values}}`` (small data, tests)."""
    modalities = {k: f.shape[1] for k, f in features.items()
                  if isinstance(f, hf.Array2D)}
    labels = {k: f for k, f in features.items()
              if k != 'id' and k not in modalities}
    stats_split = 'train' if 'train' in splits else next(iter(splits))
    with FeatureDatasetWriter(out_dir, modalities, labels, overwrite,
                              stats_split) as writer:
        for name, columns in splits.items():
            writer.write_split(name, [columns])
        return writer.finish(card)


def load_feature_stats(root: str) -> Optional[dict]:
    """The ``feature_stats.json`` of a dataset folder, or None."""
    path = osp.join(root, STATS_FILE)
    if not osp.isfile(path):
        return None
    return read_feature_stats(path)


def read_feature_stats(path: str) -> dict:
    """A ``feature_stats.json``, checked: every statistic must be finite."""
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError as err:
            raise InputError(f'{path}: not readable JSON ({err})') from None
    if not isinstance(data, dict) or 'modalities' not in data:
        raise InputError(f"{path}: expected an object with 'modalities'")
    check_feature_stats(data['modalities'], path)
    return data
