from mmengine.structures import BaseDataElement

from ...registry import TRANSFORMS
from .base import BatchTransform


@TRANSFORMS.register_module()
class PackMultimodalInputs(BatchTransform):
    """Pack a batch for the model: ``dict(inputs=..., data_samples=...)``.

    ``inputs={m: float32 tensor (B, T_m, N_m)}`` and ONE
    ``BaseDataElement`` for the batch with ``gt_label`` (B,) or (B, K)
    (when labelled), ``lengths`` long (B, M) (valid steps per modality, in
    modality order) and metainfo ``ids``
    (:mod:`normtr_plugin.structures.data_samples`).
    """

    def transform(self, batch: dict) -> dict:
        modalities = batch['modalities']
        inputs = {m: batch[m].float().contiguous() for m in modalities}
        sample = BaseDataElement()
        # set_field, unlike metainfo=, does not deep-copy B strings
        sample.set_field(list(batch['ids']), 'ids', field_type='metainfo')
        sample.lengths = batch['lengths']
        if 'gt_label' in batch:
            sample.gt_label = batch['gt_label']
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return 'PackMultimodalInputs()'
