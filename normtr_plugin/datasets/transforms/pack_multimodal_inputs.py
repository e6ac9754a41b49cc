import numpy as np
import torch
from mmengine.structures import BaseDataElement

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackMultimodalInputs:
    """Pack a sample for the model: ``inputs`` and one data sample.

    Output: ``dict(inputs={m: float32 tensor (T, N_m)}, data_samples=
    BaseDataElement(gt_label=tensor, metainfo=dict(id=...)))``. Modalities
    are those the dataset listed in ``results['modalities']``.
    """

    def __call__(self, results: dict) -> dict:
        inputs = {m: torch.from_numpy(
            np.ascontiguousarray(results[m], dtype=np.float32))
            for m in results['modalities']}
        sample = BaseDataElement(metainfo=dict(id=results.get('id')))
        if 'gt_label' in results:
            sample.gt_label = torch.as_tensor(results['gt_label'])
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return 'PackMultimodalInputs()'
