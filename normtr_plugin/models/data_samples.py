"""The model's data samples: one ``BaseDataElement`` per batch.

Fields: ``gt_label`` (B,) or (B, K), ``lengths`` long (B, M) (valid steps
per modality, in the model's modality order), metainfo ``ids`` ([str] * B).
"""
from typing import List, Sequence

import torch
from mmengine.structures import BaseDataElement


def batch_data_samples(samples: Sequence[BaseDataElement]
                       ) -> BaseDataElement:
    """Stack per-sample elements (``gt_label``, ``lengths``, metainfo
    ``id``) into the batched element."""
    batch = BaseDataElement(metainfo=dict(
        ids=[s.metainfo.get('id') for s in samples]))
    for field in ('gt_label', 'lengths'):
        if all(field in s for s in samples):
            batch.set_field(torch.stack([torch.as_tensor(s.get(field))
                                         for s in samples]), field)
    return batch


def split_data_samples(batch: BaseDataElement) -> List[BaseDataElement]:
    """The batched element as per-sample elements (metainfo ``id``)."""
    ids = batch.metainfo.get('ids', [])
    out = [BaseDataElement(metainfo=dict(id=i)) for i in ids]
    for field in ('gt_label', 'lengths'):
        if field in batch:
            values = batch.get(field)
            for i, sample in enumerate(out):
                sample.set_field(values[i], field)
    return out
