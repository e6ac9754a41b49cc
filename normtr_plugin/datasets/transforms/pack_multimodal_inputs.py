import numpy as np
import torch
from mmengine.structures import BaseDataElement

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackMultimodalInputs:
    """Pack for the model: ``dict(inputs=..., data_samples=...)``.

    Per batch (:meth:`transform_batch`, the shipped configs' path):
    ``inputs={m: float32 tensor (B, T_m, N_m)}`` and ONE ``BaseDataElement``
    for the batch with ``gt_label`` (B,) or (B, K), ``lengths`` long (B, M)
    (valid steps per modality, in modality order) and metainfo ``ids``.

    Per sample (``__call__``): ``inputs={m: (T_m, N_m)}`` and a
    ``BaseDataElement`` with ``gt_label``, ``lengths`` (M,) and metainfo
    ``id``; ``multimodal_collate`` stacks those into the batch form.
    """

    def __call__(self, results: dict) -> dict:
        modalities = results['modalities']
        inputs = {m: torch.from_numpy(
            np.ascontiguousarray(results[m], dtype=np.float32))
            for m in modalities}
        lengths = results.get('lengths', {})
        sample = BaseDataElement(metainfo=dict(id=results.get('id')))
        sample.lengths = torch.tensor(
            [lengths.get(m, len(inputs[m])) for m in modalities])
        if 'gt_label' in results:
            sample.gt_label = torch.as_tensor(results['gt_label'])
        return dict(inputs=inputs, data_samples=sample)

    def transform_batch(self, batch: dict) -> dict:
        modalities = batch['modalities']
        inputs = {m: batch[m].float().contiguous() for m in modalities}
        sample = BaseDataElement()
        # set_field, unlike metainfo=, does not deep-copy B strings
        sample.set_field(list(batch['ids']), 'ids', field_type='metainfo')
        sample.lengths = torch.stack(
            [batch['lengths'][m] for m in modalities], dim=1)
        if 'gt_label' in batch:
            sample.gt_label = batch['gt_label']
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return 'PackMultimodalInputs()'
