"""MOSEI emotion multi-label metric (w-Acc and weighted F1, as MulT)."""
from typing import Optional, Sequence

import numpy as np

from ..registry import METRICS
from .functional import multilabel_metrics
from .multi_binary_metric import MultiBinaryMetric


@METRICS.register_module()
class MultiLabelMetric(MultiBinaryMetric):
    """Per-label weighted accuracy and weighted F1, plus their means.

    Each data sample holds ``gt_label`` (K,) 0/1 and ``pred_label`` (K,)
    0/1, or else ``pred_score`` (K,) sigmoid probabilities thresholded at
    ``thr``. Keys ``wAcc_{name}``, ``F1_{name}``, ``wAcc_mean``,
    ``F1_mean`` (percent, no prefix). Names as :class:`MultiBinaryMetric`.
    """
    gt_dtype = np.float64
    metric_fn = staticmethod(multilabel_metrics)

    def __init__(self, names: Optional[Sequence[str]] = None,
                 thr: float = 0.5, **kwargs):
        super().__init__(names, **kwargs)
        self.thr = thr

    def labels(self, score: np.ndarray) -> np.ndarray:
        """Sigmoid scores (K,) -> 0/1 labels at ``thr``."""
        return score.reshape(-1) >= self.thr
