from typing import Dict, Optional, Sequence

import numpy as np

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class NormalizeFeatures:
    """Standardise features with the train split's per-feature statistics.

    ``x = (x - mean) / std`` per feature dim (std below ``eps`` leaves the
    feature centred but unscaled). The statistics are computed once at
    conversion (``feature_stats.json``) and bound here by the dataset, or
    given as ``stats={modality: dict(mean=[...], std=[...])}`` (inference).
    Shapes: ``(T, N_m) -> (T, N_m)`` for each modality in ``keys`` (default:
    every modality of the sample).
    """

    def __init__(self, keys: Optional[Sequence[str]] = None,
                 stats: Optional[Dict[str, dict]] = None, eps: float = 1e-6):
        self.keys = tuple(keys) if keys else None
        self.eps = eps
        self._mean, self._scale = {}, {}
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

    def __call__(self, results: dict) -> dict:
        for key in self.keys or results['modalities']:
            if key not in self._mean:
                raise KeyError(f"no feature statistics for modality '{key}';"
                               f' have {sorted(self._mean)}')
            x = results[key]
            if x.shape[-1] != self._mean[key].shape[0]:
                raise ValueError(
                    f"modality '{key}': statistics have "
                    f'{self._mean[key].shape[0]} dims, features {x.shape[-1]}')
            results[key] = (x - self._mean[key]) * self._scale[key]
        return results

    def __repr__(self):
        return f'NormalizeFeatures(keys={self.keys})'
