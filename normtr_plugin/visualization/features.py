"""NRGFs, MFs and fused features of a model over batches (Figs. 7-9)."""
from typing import Iterable, Optional

import numpy as np
import torch

from ..structures.data_samples import split_data_samples
from ..structures.maskers import BaseMasker
from ..utils.errors import InputError

__all__ = ['collect_features']


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.is_floating_point() and x.dtype != torch.float64:
            x = x.float()
        return x.numpy()
    return np.asarray(x)


@torch.no_grad()
def collect_features(model, batches: Iterable[dict], max_samples: int = 500,
                     masker: Optional[BaseMasker] = None,
                     return_fused: bool = False):
    """Run ``model`` (eval mode) over the first ``max_samples`` samples.

    Args:
        model: a NORM-TR model (``data_preprocessor``,
            ``extract_features``).
        batches: packed batches ``dict(inputs, data_samples)``, e.g. a
            ``DataLoader`` built by ``Runner.build_dataloader`` from a
            config's ``test_dataloader`` (its workers and sampler apply).
        max_samples: stop after this many samples.
        masker: a member of the masker family, applied on the model's
            device after the data preprocessor, exactly as the robustness
            loop does (same seed and ratio: same masks).
        return_fused: also return the fused tokens.

    Returns:
        ``(nrgf, mf, labels, ids)``: nrgf/mf float CPU tensors
        (n, M, T, N/2), labels a numpy array (n, ...) of ``gt_label`` (None
        when the samples have none) and ids a list of str. With
        ``return_fused`` also ``fused`` (n, M*T, N/2) as a fifth item.
    """
    total = int(max_samples)
    if total < 1:
        raise InputError(f'max_samples must be >= 1, got {max_samples}')
    was_training = model.training
    model.eval()
    nrgf, mf, fused, labels, ids = [], [], [], [], []
    count = 0
    try:
        for batch in batches:
            data = model.data_preprocessor(batch, False)
            if masker is not None:
                data, _ = masker.mask_data(data)
            take = min(total - count, len(next(iter(
                data['inputs'].values()))))
            feats = model.extract_features(
                {m: x[:take] for m, x in data['inputs'].items()})
            nrgf.append(feats['nrgf'].float().cpu())
            mf.append(feats['mf'].float().cpu())
            if return_fused:
                fused.append(feats['fused'].float().cpu())
            for sample in split_data_samples(data['data_samples'])[:take]:
                ids.append(str(sample.metainfo.get('id')))
                if 'gt_label' in sample:
                    labels.append(_numpy(sample.gt_label))
            count += take
            if count >= total:
                break
    finally:
        model.train(was_training)
    if not count:
        raise InputError('no samples to collect: the batches are empty')
    labels = np.stack(labels) if len(labels) == count else None
    out = (torch.cat(nrgf), torch.cat(mf), labels, ids)
    if return_fused:
        out = out + (torch.cat(fused),)
    return out
