from typing import Dict, Optional, Sequence

import numpy as np
import torch

from ...registry import TRANSFORMS
from ...structures.lengths import valid_mask
from .base import BatchTransform


@TRANSFORMS.register_module()
class NormalizeFeatures(BatchTransform):
    """Standardise features with the train split's per-feature statistics.

    ``x = (x - mean) / std`` per feature dim (std below ``eps`` leaves the
    feature centred but unscaled). The statistics are computed once at
    conversion (``feature_stats.json``) and bound here by the dataset, or
    given as ``stats={modality: dict(mean=[...], std=[...])}`` (inference).
    Only valid steps are normalised; padding stays 0. Shapes:
    ``(B, T, N_m) -> (B, T, N_m)`` for each modality in ``keys`` (default:
    every modality).
    """
    elementwise = True  # commutes with taking leading steps

    def __init__(self, keys: Optional[Sequence[str]] = None,
                 stats: Optional[Dict[str, dict]] = None, eps: float = 1e-6):
        self.keys = tuple(keys) if keys else None
        self.eps = eps
        self._mean, self._scale, self._on_device = {}, {}, {}
        if stats is not None:
            self.bind_stats(stats, 'the given stats')

    def bind_stats(self, stats: Optional[Dict[str, dict]],
                   where: str) -> None:
        if stats is None:
            if not self._mean:
                raise ValueError(
                    f'NormalizeFeatures needs feature statistics, but {where}'
                    ' has no feature_stats.json; convert the data with '
                    'tools/convert_dataset.py or pass stats=')
            return
        for key in self.keys or stats:
            if key not in stats:
                raise KeyError(f"no feature statistics for modality '{key}' "
                               f'in {where}; found {sorted(stats)}')
            std = np.asarray(stats[key]['std'], np.float32)
            self._mean[key] = np.asarray(stats[key]['mean'], np.float32)
            self._scale[key] = np.where(std > self.eps, 1 / std, 1.0).astype(
                np.float32)
        self._on_device.clear()

    def _check(self, key: str, dim: int) -> None:
        if key not in self._mean:
            raise KeyError(f"no feature statistics for modality '{key}';"
                           f' have {sorted(self._mean)}')
        if dim != self._mean[key].shape[0]:
            raise ValueError(
                f"modality '{key}': statistics have "
                f'{self._mean[key].shape[0]} dims, features {dim}')

    def _stats_on(self, key: str, device) -> tuple:
        cached = self._on_device.get((key, device))
        if cached is None:
            cached = self._on_device[(key, device)] = tuple(
                torch.from_numpy(a).to(device)
                for a in (self._mean[key], self._scale[key]))
        return cached

    def transform(self, batch: dict) -> dict:
        for key in self.keys or batch['modalities']:
            x = batch[key]
            self._check(key, x.shape[-1])
            mean, scale = self._stats_on(key, x.device)
            length = batch['lengths'][:, self.column(batch, key)]
            keep = valid_mask(length, x.shape[1])[..., None]
            batch[key] = (x - mean) * scale * keep
        return batch

    def __repr__(self):
        return f'NormalizeFeatures(keys={self.keys})'
