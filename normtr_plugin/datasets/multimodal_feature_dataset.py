from typing import Dict, List, Optional, Sequence

import datasets as hf
import numpy as np
import torch
from mmengine.dataset import Compose
from torch.utils.data import Dataset

from ..registry import DATASETS, TRANSFORMS, build_in_scope, head_class
from .frame_column import FrameColumn
from .sources import load_splits
from .transforms.base import check_batch_pipeline
from ..utils.errors import InputError, UnknownNameError


def usable_device(name, where: str) -> torch.device:
    """``torch.device(name)`` when this machine can hold tensors there;
    else an :class:`InputError` naming ``where`` (e.g. ``resident='cuda'``
    on a machine without an NVIDIA driver)."""
    try:
        device = torch.device(name)
        torch.empty(0, device=device)
    except Exception as err:  # noqa: B902 - torch's RuntimeError,
        # AssertionError ("Torch not compiled with CUDA"), ...
        reason = ' '.join(str(err).split())[:160]
        raise InputError(f'{where}={name!r}: this machine cannot hold '
                         f'tensors on that device ({reason}); use '
                         "resident='cpu' or leave it unset") from None
    return device



@DATASETS.register_module()
class MultimodalFeatureDataset(Dataset):
    """Pre-computed multimodal features in the project's format.

    The format (docs/datasets.md): one row per sample, an ``id`` string
    column, one ``Array2D(shape=(None, N_m), dtype='float32')`` column per
    modality (named after the modality) and label columns, in splits
    ``train``/``validation``/``test``. Rows hold valid steps only (the
    converters strip padding), so a row's length is its valid length.

    Data stays memory-mapped (Arrow): each modality is viewed as one
    contiguous frames array per Arrow chunk (``FrameColumn``).
    ``__getitems__`` gathers the whole batch with one fancy index per
    modality and runs the pipeline (batch transforms,
    ``transforms/base.py``; a per-sample callable through ``PerSample``)
    once on ``(B, T, N_m)`` tensors with lengths ``(B, M)``; the collate
    (``multimodal_collate``) then does nothing.

    Args:
        data_root: a folder (saved with ``save_to_disk``, or a Hub-style
            folder of parquet files) or a Hub dataset id ``org/name``.
        split: split name; ``'train+validation'`` pools splits in that
            order (cross-validated model selection, ``engine/
            cv_selection.py``).
        revision: Hub revision (branch, tag or commit) for a Hub id.
        modalities: modality name -> feature dim expected by the config.
        label_columns: label column(s); several are stacked into a vector.
            Empty (``()``): the split is read without labels (inference
            on unlabelled features); samples then have no ``gt_label``.
        task: one of 'regression', 'classification', 'multi_binary',
            'multi_label' (or a head type); its head class
            (``registry.head_class``) decides label dtype and range.
        num_classes: for 'classification' when the column is not a
            ``ClassLabel``.
        pipeline: transforms (TRANSFORMS registry configs or callables).
        check_finite: scan the features for NaN/Inf once at start.
        resident: a device ('cuda', 'cpu') on which to keep the whole split
            as padded tensors (needs ``num_workers=0`` and no
            ``pin_memory``); batches are then gathered and
            transformed there. ``None`` (default) reads from the
            memory-mapped files.
    """

    def __init__(self, data_root: str, split: str,
                 modalities: Dict[str, int],
                 label_columns: Sequence[str] = ('label',),
                 task: str = 'regression',
                 num_classes: Optional[int] = None,
                 pipeline: Sequence = (),
                 check_finite: bool = True,
                 revision: Optional[str] = None,
                 resident: Optional[str] = None):
        self.head = head_class(task)  # owns label dtype, range, classes
        self.data_root, self.split = data_root, split
        self.task = self.head.task
        self.revision = revision
        device = None if resident is None else \
            usable_device(resident, f'{self._where()}: resident')
        self.modalities = dict(modalities)
        self.label_columns = list(label_columns)
        table = self._load_split()
        self._table = table  # read by column() (group columns)
        self._check_columns(table)
        self._check_dims(table)
        self.classes = self._class_names(table, num_classes)
        self.labels = (self._read_labels(table) if self.label_columns
                       else None)
        self.ids = np.asarray(table.data.column('id').to_pylist(), object)
        self.columns = {m: FrameColumn(table.data.column(m), dim,
                                       f"modality '{m}' of {self._where()}")
                        for m, dim in self.modalities.items()}
        if check_finite:
            self._check_finite()
        self.pipeline = Compose([
            build_in_scope(TRANSFORMS, t) if isinstance(t, dict) else t
            for t in pipeline])
        for transform in self.pipeline.transforms:
            if hasattr(transform, 'bind_stats'):
                transform.bind_stats(self.feature_stats, self._where())
        check_batch_pipeline(self.pipeline.transforms)
        self._steps = {m: self._leading_steps(m) for m in self.modalities}
        self.resident = None
        if device is not None:
            self._make_resident(device)

    @property
    def metainfo(self) -> dict:
        return dict(modalities=list(self.modalities), task=self.task,
                    label_names=self.label_columns, classes=self.classes,
                    feature_stats=self.feature_stats)

    def _where(self) -> str:
        return f"split '{self.split}' of {self.data_root}"

    def _load_split(self) -> hf.Dataset:
        splits, stats = load_splits(self.data_root, self.revision)
        names = self.split.split('+')
        for name in names:
            if name not in splits:
                raise UnknownNameError(f"split '{name}' not in "
                                       f'{self.data_root}; found '
                                       f'{sorted(splits)}')
        self.feature_stats = stats['modalities'] if stats else None
        if len(names) == 1:
            return splits[names[0]]
        # pooled: the columns every split has (MMMO's validation and test
        # have text, its train split has not)
        parts = [splits[n] for n in names]
        shared = [c for c in parts[0].column_names
                  if all(c in p.column_names for p in parts)]
        return hf.concatenate_datasets([p.select_columns(shared)
                                        for p in parts])

    def column(self, name: str) -> Optional[np.ndarray]:
        """The values of another column of the split (e.g. a ``speaker``
        column for group-disjoint folds), ``(N,)``; None when absent."""
        if name not in self._table.column_names:
            return None
        return np.asarray(self._table.data.column(name).to_pylist(), object)

    def _check_columns(self, table: hf.Dataset) -> None:
        absent = [m for m in self.modalities if m not in table.column_names]
        if absent:
            raise UnknownNameError(
                f'modality {absent[0]!r} (configured: {list(self.modalities)}'
                f') is missing from {self._where()}; its columns are '
                f'{table.column_names}')
        wanted = ['id'] + self.label_columns
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise UnknownNameError(
                f'columns {missing} (configured labels or id) '
                f'missing from {self._where()}; found {table.column_names}')

    def _check_dims(self, table: hf.Dataset) -> None:
        for m, dim in self.modalities.items():
            feature = table.features[m]
            shape = getattr(feature, 'shape', None)
            if shape is None or len(shape) != 2:
                raise InputError(f"modality '{m}' in {self._where()}: "
                                 'expected an Array2D (T, '
                                 f'{dim}) column, found {feature}')
            if shape[1] != dim:
                raise InputError(
                    f"modality '{m}': the config expects feature dim {dim}, "
                    f'the data in {self._where()} has {shape[1]}')

    def _class_names(self, table: hf.Dataset,
                     num_classes: Optional[int]) -> Optional[List[str]]:
        if self.head.names_key != 'classes' or not self.label_columns:
            return None
        feature = table.features[self.label_columns[0]]
        if isinstance(feature, hf.ClassLabel):
            return list(feature.names)
        if num_classes is None:
            raise InputError(f"label column '{self.label_columns[0]}' is not "
                             'a ClassLabel: set num_classes')
        return [str(i) for i in range(num_classes)]

    def _read_labels(self, table: hf.Dataset) -> np.ndarray:
        cols = table.select_columns(self.label_columns).with_format('numpy')
        labels = np.stack([np.asarray(cols[c], dtype=np.float64)
                           for c in self.label_columns], axis=1)
        for j, col in enumerate(self.label_columns):
            bad = ~np.isfinite(labels[:, j])
            if bad.any():
                raise InputError(f"label column '{col}' in {self._where()} "
                                 f'has {int(bad.sum())} NaN/Inf values')
        return self.head.read_labels(
            labels, self.label_columns, self._where(),
            len(self.classes) if self.classes else 2)

    def _check_finite(self) -> None:
        for m, column in self.columns.items():
            flags = column.non_finite_rows()
            bad = int(flags.sum())
            first = int(np.argmax(flags)) if bad else None
            if bad:
                raise InputError(
                    f"column '{m}' of {self._where()}: {bad} of {len(self)} "
                    f'samples contain NaN or Inf (first at index {first}); '
                    'clean the features (the converters set them to 0)')

    def __len__(self) -> int:
        return len(self.ids)

    def _leading_steps(self, key: str) -> Optional[int]:
        """How many leading steps of ``key`` the pipeline reads (None: all).

        Elementwise transforms (normalisation) commute with taking leading
        steps; the first other transform on ``key`` decides.
        """
        for t in self.pipeline.transforms:
            if getattr(t, 'elementwise', False):
                continue
            keys = getattr(t, 'keys', None)
            if keys is None or key in keys:
                steps = getattr(t, 'leading_steps', None)
                return steps(key) if steps else None
        return None

    def _make_resident(self, device: torch.device) -> None:
        all_rows = np.arange(len(self))
        self.resident = dict(
            device=device,
            labels=None if self.labels is None else
            torch.from_numpy(self.labels).to(device),
            **{m: tuple(torch.from_numpy(a).to(device) for a in
                        self.columns[m].gather(all_rows, self._steps[m]))
               for m in self.modalities})

    def read_batch(self, indices: Sequence[int]) -> dict:
        """Rows ``indices`` as a batch dict (``transforms/base.py``).

        Rows come grouped by Arrow chunk (a stable reordering of
        ``indices``; ``ids`` and labels follow), so each chunk is one copy.
        """
        indices = np.asarray(indices, np.int64)
        if self.resident is None and self.columns:
            indices = indices[next(iter(
                self.columns.values())).chunk_order(indices)]
        batch = dict(modalities=list(self.modalities),
                     ids=self.ids[indices].tolist())
        lengths = []
        if self.resident is not None:
            index = torch.as_tensor(indices, device=self.resident['device'])
            if self.labels is not None:
                batch['gt_label'] = self.resident['labels'][index]
            for m in self.modalities:
                x, length = self.resident[m]
                batch[m] = x[index]
                lengths.append(length[index])
        else:
            if self.labels is not None:
                batch['gt_label'] = torch.from_numpy(self.labels[indices])
            for m, column in self.columns.items():
                x, length = column.gather(indices, self._steps[m])
                batch[m] = torch.from_numpy(x)
                lengths.append(torch.from_numpy(length))
        batch['lengths'] = torch.stack(lengths, dim=1).long() if lengths \
            else torch.zeros(len(indices), 0, dtype=torch.long)
        return batch

    def read_sample(self, idx: int) -> dict:
        """Row ``idx`` as plain data for inspection (no pipeline): ``id``,
        ``{m: (L_m, N_m)}`` valid steps, ``lengths`` ``{m: L_m}`` and
        ``gt_label``. Models read batches (:meth:`__getitems__`)."""
        results = {m: self.columns[m].row(idx) for m in self.modalities}
        results.update(id=str(self.ids[idx]),
                       lengths={m: len(results[m]) for m in self.modalities})
        if self.labels is not None:
            results['gt_label'] = self.labels[idx]
        return results

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """The packed batch of rows ``indices`` (the pipeline's output)."""
        return self.pipeline(self.read_batch(indices))

    def __getitem__(self, idx: int) -> dict:
        """Row ``idx`` as a packed batch of one."""
        return self.__getitems__([idx])
