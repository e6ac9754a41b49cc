from typing import Callable, Union

import numpy as np
import torch

from ...registry import TRANSFORMS, build_in_scope
from .base import BatchTransform


@TRANSFORMS.register_module()
class PerSample(BatchTransform):
    """Run a user's per-sample callable on every sample of a batch.

    The callable gets one results dict per sample: ``{m: float32 array
    (L_m, N_m)}`` (the valid steps only), ``id``, ``modalities``,
    ``lengths`` ``{m: L_m}`` and ``gt_label`` (when labelled), and returns
    it changed. The samples are then stacked again, each modality
    zero-padded to its longest result; a sample's length is
    ``min(lengths[m], len(array))`` (a callable that cuts steps shortens it,
    one that pads with zeros may keep ``lengths`` as it was). Slower than a batch transform: for
    prototypes and custom features.

    Args:
        transform: a callable or a TRANSFORMS config of one.
    """

    def __init__(self, transform: Union[Callable, dict]):
        self.inner = build_in_scope(TRANSFORMS, transform) \
            if isinstance(transform, dict) else transform
        if not callable(self.inner):
            raise TypeError(f'PerSample needs a callable, got {transform!r}')

    def _samples(self, batch: dict):
        modalities, lengths = batch['modalities'], batch['lengths'].cpu()
        for i, sample_id in enumerate(batch['ids']):
            res = {m: batch[m][i, :int(lengths[i, j])].cpu().numpy()
                   for j, m in enumerate(modalities)}
            res.update(id=sample_id, modalities=list(modalities),
                       lengths={m: int(lengths[i, j])
                                for j, m in enumerate(modalities)})
            if 'gt_label' in batch:
                res['gt_label'] = batch['gt_label'][i].cpu().numpy()
            yield res

    def transform(self, batch: dict) -> dict:
        modalities = batch['modalities']
        device = batch['lengths'].device
        out = [self.inner(res) for res in self._samples(batch)]
        lengths = torch.tensor(
            [[min(int(r.get('lengths', {}).get(m, len(r[m]))), len(r[m]))
              for m in modalities] for r in out], dtype=torch.long).reshape(len(out), -1)
        for j, m in enumerate(modalities):
            rows = [np.asarray(r[m], np.float32) for r in out]
            steps = max((len(x) for x in rows), default=0)
            x = np.zeros((len(rows), steps) + rows[0].shape[1:], np.float32)
            for i, row in enumerate(rows):
                x[i, :len(row)] = row
            batch[m] = torch.from_numpy(x).to(device)
        batch['lengths'] = lengths.to(device)
        batch['ids'] = [str(r.get('id')) for r in out]
        if 'gt_label' in batch:
            batch['gt_label'] = torch.as_tensor(
                np.stack([r['gt_label'] for r in out])).to(device)
        return batch

    def __repr__(self):
        return f'PerSample({self.inner!r})'
