"""MOSI/MOSEI regression metric (MMSA ``metricsTop``)."""
from typing import Any, Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from .functional import regression_metrics, sentiment_metrics, to_numpy
from ..utils.errors import InputError


@METRICS.register_module()
class SentimentMetric(BaseMetric):
    """Acc-7, Acc-5, Acc-2/F1 (has0, non0), MAE, Corr on sentiment scores.

    Each data sample holds ``pred_score`` (regression output) and
    ``gt_label`` (float in [-3, 3]), both of shape () or (1,). Keys are bare
    (no prefix), e.g. ``'MAE'``; see :func:`sentiment_metrics`. Its
    ``process`` (one ``(pred, gt)`` pair of numpy scalars, in their own
    dtype, per sample) serves every one-score metric.
    """
    default_prefix = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = to_numpy(sample['pred_score']).reshape(-1)
            gt = to_numpy(sample['gt_label']).reshape(-1)
            if pred.size != 1 or gt.size != 1:
                raise InputError(f'{type(self).__name__} expects one score '
                                 f'per sample, found pred_score '
                                 f'{pred.shape}, gt_label {gt.shape}')
            self.results.append((pred[0], gt[0]))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        arr = np.asarray(results, dtype=np.float64).reshape(-1, 2)
        return sentiment_metrics(arr[:, 0], arr[:, 1])


@METRICS.register_module()
class RegressionMetric(SentimentMetric):
    """MAE and Corr only, for scores on any scale (e.g. MMMO's 1-5)."""

    def compute_metrics(self, results: List) -> Dict[str, float]:
        arr = np.asarray(results, dtype=np.float64).reshape(-1, 2)
        return regression_metrics(arr[:, 0], arr[:, 1])
