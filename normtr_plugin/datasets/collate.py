from typing import Sequence, Union

import torch

from ..models.data_samples import batch_data_samples
from ..registry import FUNCTIONS


@FUNCTIONS.register_module()
def multimodal_collate(data: Union[dict, Sequence[dict]]) -> dict:
    """Collate for ``MultimodalFeatureDataset``.

    A batch the dataset already packed (batch pipeline) passes through
    untouched: no per-sample work. A list of per-sample packs (a pipeline
    with per-sample transforms) is stacked into the same batch form:
    ``inputs={m: (B, T_m, N_m)}`` and one batched data sample
    (see ``PackMultimodalInputs``).
    """
    if isinstance(data, dict):
        return data
    if not data:
        raise ValueError('multimodal_collate got an empty batch')
    inputs = {m: torch.stack([d['inputs'][m] for d in data])
              for m in data[0]['inputs']}
    return dict(inputs=inputs, data_samples=batch_data_samples(
        [d['data_samples'] for d in data]))
