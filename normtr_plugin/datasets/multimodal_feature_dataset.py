from typing import Dict, List, Optional, Sequence

import datasets as hf
import numpy as np
from mmengine.dataset import Compose
from torch.utils.data import Dataset

from ..registry import DATASETS, TRANSFORMS, build_in_scope
from .sources import load_splits

TASKS = ('regression', 'classification', 'multi_binary', 'multi_label')


@DATASETS.register_module()
class MultimodalFeatureDataset(Dataset):
    """Pre-computed multimodal features in the project's format.

    The format (docs/datasets.md): one row per sample, an ``id`` string
    column, one ``Array2D(shape=(None, N_m), dtype='float32')`` column per
    modality (named after the modality) and label columns, in splits
    ``train``/``validation``/``test``. Data stays memory-mapped (Arrow); a
    batch is read with one slice (``__getitems__``), then each sample runs
    ``pipeline``.

    Args:
        data_root: a folder (saved with ``save_to_disk``, or a Hub-style
            folder of parquet files) or a Hub dataset id ``org/name``.
        split: split name.
        revision: Hub revision (branch, tag or commit) for a Hub id.
        modalities: modality name -> feature dim expected by the config.
        label_columns: label column(s); several are stacked into a vector.
        task: one of 'regression', 'classification', 'multi_binary',
            'multi_label'; decides label dtype and checks.
        num_classes: for 'classification' when the column is not a
            ``ClassLabel``.
        pipeline: transforms (TRANSFORMS registry configs or callables).
        check_finite: scan the features for NaN/Inf once at start.
    """

    def __init__(self, data_root: str, split: str,
                 modalities: Dict[str, int],
                 label_columns: Sequence[str] = ('label',),
                 task: str = 'regression',
                 num_classes: Optional[int] = None,
                 pipeline: Sequence = (),
                 check_finite: bool = True,
                 revision: Optional[str] = None):
        if task not in TASKS:
            raise ValueError(f'task must be one of {TASKS}, got {task!r}')
        self.data_root, self.split, self.task = data_root, split, task
        self.revision = revision
        self.modalities = dict(modalities)
        self.label_columns = list(label_columns)
        table = self._load_split()
        self._check_columns(table)
        self._check_dims(table)
        self.classes = self._class_names(table, num_classes)
        self.labels = self._read_labels(table)
        self._rows = table.select_columns(
            ['id'] + list(self.modalities)).with_format('numpy')
        if check_finite:
            self._check_finite()
        self.pipeline = Compose([
            build_in_scope(TRANSFORMS, t) if isinstance(t, dict) else t
            for t in pipeline])
        for transform in self.pipeline.transforms:
            if hasattr(transform, 'bind_stats'):
                transform.bind_stats(self.feature_stats, self._where())

    @property
    def metainfo(self) -> dict:
        return dict(modalities=list(self.modalities), task=self.task,
                    label_names=self.label_columns, classes=self.classes,
                    feature_stats=self.feature_stats)

    def _where(self) -> str:
        return f"split '{self.split}' of {self.data_root}"

    def _load_split(self) -> hf.Dataset:
        splits, stats = load_splits(self.data_root, self.revision)
        if self.split not in splits:
            raise KeyError(f"split '{self.split}' not in {self.data_root}; "
                           f'found {sorted(splits)}')
        self.feature_stats = stats['modalities'] if stats else None
        return splits[self.split]

    def _check_columns(self, table: hf.Dataset) -> None:
        wanted = ['id'] + list(self.modalities) + self.label_columns
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise KeyError(f'columns {missing} (configured modalities, '
                           f'labels or id) missing from {self._where()}; '
                           f'found {table.column_names}')

    def _check_dims(self, table: hf.Dataset) -> None:
        for m, dim in self.modalities.items():
            feature = table.features[m]
            shape = getattr(feature, 'shape', None)
            if shape is None or len(shape) != 2:
                raise TypeError(f"modality '{m}' in {self._where()} must be "
                                f'an Array2D column, found {feature}')
            if shape[1] != dim:
                raise ValueError(
                    f"modality '{m}': the config expects feature dim {dim}, "
                    f'the data in {self._where()} has {shape[1]}')

    def _class_names(self, table: hf.Dataset,
                     num_classes: Optional[int]) -> Optional[List[str]]:
        if self.task != 'classification':
            return None
        feature = table.features[self.label_columns[0]]
        if isinstance(feature, hf.ClassLabel):
            return list(feature.names)
        if num_classes is None:
            raise ValueError(f"label column '{self.label_columns[0]}' is not "
                             'a ClassLabel: set num_classes')
        return [str(i) for i in range(num_classes)]

    def _read_labels(self, table: hf.Dataset) -> np.ndarray:
        cols = table.select_columns(self.label_columns).with_format('numpy')
        labels = np.stack([np.asarray(cols[c], dtype=np.float64)
                           for c in self.label_columns], axis=1)
        for j, col in enumerate(self.label_columns):
            bad = ~np.isfinite(labels[:, j])
            if bad.any():
                raise ValueError(f"label column '{col}' in {self._where()} "
                                 f'has {int(bad.sum())} NaN/Inf values')
        if self.task == 'regression':
            return labels[:, 0].astype(np.float32)
        high = len(self.classes) if self.classes else 2
        for j, col in enumerate(self.label_columns):
            values = labels[:, j]
            wrong = (values < 0) | (values >= high) | (values % 1 != 0)
            if wrong.any():
                raise ValueError(
                    f"label column '{col}' in {self._where()}: "
                    f'{int(wrong.sum())} labels out of range; expected '
                    f'integers 0..{high - 1}, found e.g. '
                    f'{values[wrong][0]:g}')
        if self.task == 'classification':
            return labels[:, 0].astype(np.int64)
        dtype = np.float32 if self.task == 'multi_label' else np.int64
        return labels.astype(dtype)

    def _check_finite(self, chunk: int = 1024) -> None:
        for m in self.modalities:
            bad, first = 0, None
            for start in range(0, len(self), chunk):
                values = self._rows[start:start + chunk][m]
                if isinstance(values, np.ndarray) and values.ndim == 3:
                    flags = ~np.isfinite(values).all(axis=(1, 2))
                else:  # variable-length rows come back as a list
                    flags = np.array([not np.isfinite(v).all()
                                      for v in values])
                if flags.any() and first is None:
                    first = start + int(np.argmax(flags))
                bad += int(flags.sum())
            if bad:
                raise ValueError(
                    f"column '{m}' of {self._where()}: {bad} of {len(self)} "
                    f'samples contain NaN or Inf (first at index {first}); '
                    'clean the features (the converters set them to 0)')

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: Sequence[int]) -> List[dict]:
        rows = self._rows[list(indices)]
        out = []
        for i, idx in enumerate(indices):
            results = {m: rows[m][i] for m in self.modalities}
            results.update(id=str(rows['id'][i]), gt_label=self.labels[idx],
                           modalities=list(self.modalities))
            out.append(self.pipeline(results))
        return out

    def __getitem__(self, idx: int) -> dict:
        return self.__getitems__([idx])[0]
