"""One data element per batch, and back to one per sample.

The model's batched data sample (issue 10) is ONE ``BaseDataElement`` for
the whole batch:

- ``gt_label``: tensor (B,) (regression, classification) or (B, K);
- ``lengths`` (optional): long tensor (B, M), each sample's number of valid
  steps per modality, in the model's modality order;
- metainfo ``ids``: list of B str.

Evaluators iterate samples, so ``NormTR.predict`` returns a list of
per-sample elements (metainfo ``id``); :func:`split_data_samples` does the
split. :func:`batch_data_samples` turns the older list form into the batched
one.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.structures import BaseDataElement

Samples = Union[BaseDataElement, Sequence[BaseDataElement]]


def _sample_lengths(sample: BaseDataElement, i: int,
                    modalities: Optional[Sequence[str]]) -> torch.Tensor:
    """One sample's lengths: its (M,) row of the batch's (B, M)."""
    lengths = torch.as_tensor(sample.lengths, dtype=torch.long)
    if lengths.dim() != 1 or (modalities is not None and
                              lengths.numel() != len(modalities)):
        raise ValueError(f'sample {i}: lengths must be (M,), one entry per '
                         f'modality {list(modalities or [])}, found shape '
                         f'{tuple(lengths.shape)}')
    return lengths


def batch_data_samples(samples: Sequence[BaseDataElement],
                       modalities: Optional[Sequence[str]] = None
                       ) -> BaseDataElement:
    """Stack per-sample elements into the batched one.

    Each sample may hold ``gt_label`` (tensor () or (K,)), ``lengths``
    ((M,) in model order: its row of the batch's (B, M); ``modalities``
    checks M) and metainfo ``id``. ``gt_label`` and ``lengths`` are stacked when every
    sample has them (a ValueError if only some do).
    """
    samples = list(samples)
    if not samples:
        raise ValueError('batch_data_samples needs at least one sample')
    batch = BaseDataElement(metainfo=dict(
        ids=[s.metainfo.get('id') for s in samples]))
    for key in ('gt_label', 'lengths'):
        present = [key in s for s in samples]
        if not any(present):
            continue
        if not all(present):
            missing = [i for i, p in enumerate(present) if not p]
            raise ValueError(f'{key} is present in some samples but missing '
                             f'in samples {missing}')
        if key == 'gt_label':
            batch.gt_label = torch.stack(
                [torch.as_tensor(s.gt_label) for s in samples])
        else:
            batch.lengths = torch.stack(
                [_sample_lengths(s, i, modalities)
                 for i, s in enumerate(samples)])
    return batch


def num_samples(data_samples: BaseDataElement) -> int:
    """B of a batched element: from ``ids`` or the first data field."""
    ids = data_samples.metainfo.get('ids')
    if ids is not None:
        return len(ids)
    for value in data_samples.values():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return value.shape[0]
    raise ValueError('cannot tell the batch size of a data element with '
                     'neither metainfo ids nor batched tensor fields')


def split_data_samples(data_samples: Samples) -> List[BaseDataElement]:
    """Per-sample elements of a batched element (a list is returned as a
    list, so callers work with both forms).

    Every data field indexed on its first dimension; metainfo ``id`` from
    ``ids`` (other metainfo is copied as it is).
    """
    if not isinstance(data_samples, BaseDataElement):
        return list(data_samples)
    B = num_samples(data_samples)
    meta = dict(data_samples.metainfo_items())
    ids = meta.pop('ids', None) or [None] * B
    out = []
    for i in range(B):
        sample = BaseDataElement(metainfo=dict(meta, id=ids[i]))
        for key, value in data_samples.items():
            sample.set_field(value[i], key)
        out.append(sample)
    return out
