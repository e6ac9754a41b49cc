from typing import Sequence, Union

import torch
from mmengine.structures import BaseDataElement

from ..registry import FUNCTIONS


@FUNCTIONS.register_module()
def multimodal_collate(data: Union[dict, Sequence[dict]]) -> dict:
    """Collate for ``MultimodalFeatureDataset``.

    The dataset packs whole batches (``__getitems__``), which pass through
    untouched: no per-sample work. A list of packed batches (a loader that
    calls ``__getitem__`` per index: batches of one) is concatenated into
    one: ``inputs={m: (B, T_m, N_m)}`` (each modality zero-padded to its
    longest) and one batched data sample (``PackMultimodalInputs``).
    """
    if isinstance(data, dict):
        return data
    if not data:
        raise ValueError('multimodal_collate got an empty batch')
    inputs = {}
    for m in data[0]['inputs']:
        steps = max(d['inputs'][m].shape[1] for d in data)
        inputs[m] = torch.cat([torch.nn.functional.pad(
            d['inputs'][m], (0, 0, 0, steps - d['inputs'][m].shape[1]))
            for d in data])
    samples = [d['data_samples'] for d in data]
    batch = BaseDataElement()
    batch.set_field(sum((list(s.metainfo.get('ids') or []) for s in samples),
                        []), 'ids', field_type='metainfo')
    for key in ('gt_label', 'lengths'):
        if all(key in s for s in samples):
            batch.set_field(torch.cat([s.get(key) for s in samples]), key)
    return dict(inputs=inputs, data_samples=batch)
