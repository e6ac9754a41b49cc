"""MOSEI emotion multi-label metric (w-Acc and weighted F1, as MulT)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from .functional import multilabel_metrics, to_numpy
from .multi_binary_metric import task_names


@METRICS.register_module()
class MultiLabelMetric(BaseMetric):
    """Per-label weighted accuracy and weighted F1, plus their means.

    Each data sample holds ``gt_label`` (K,) 0/1 and ``pred_label`` (K,)
    0/1, or else ``pred_score`` (K,) sigmoid probabilities thresholded at
    ``thr``. Keys ``wAcc_{name}``, ``F1_{name}``, ``wAcc_mean``,
    ``F1_mean`` (percent, no prefix). Names as :class:`MultiBinaryMetric`.
    """
    default_prefix = None

    def __init__(self, names: Optional[Sequence[str]] = None,
                 thr: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.names = None if names is None else list(names)
        self.thr = thr

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = to_numpy(sample['pred_label']).reshape(-1)
            else:
                pred = to_numpy(sample['pred_score']).reshape(-1) >= self.thr
            gt = to_numpy(sample['gt_label']).reshape(-1)
            self.results.append((pred.astype(np.int64), gt.astype(np.float64)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        pred = np.stack([r[0] for r in results])
        gt = np.stack([r[1] for r in results])
        names = task_names(self.names, self.dataset_meta, gt.shape[1])
        return multilabel_metrics(pred, gt, names)
