"""IEMOCAP multi-binary metric (MulT ``eval_iemocap``)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from .functional import multi_binary_metrics, to_numpy


def task_names(names: Optional[Sequence[str]], dataset_meta: Optional[dict],
               k: int) -> List[str]:
    """``names`` arg, else ``dataset_meta['label_names']``, else task0..."""
    if names is None and dataset_meta:
        names = dataset_meta.get('label_names')
    return [f'task{i}' for i in range(k)] if names is None else list(names)


@METRICS.register_module()
class MultiBinaryMetric(BaseMetric):
    """K binary tasks (IEMOCAP: Neutral, Happy, Sad, Angry).

    Each data sample holds ``gt_label`` (K,) ints and ``pred_label`` (K,)
    or else ``pred_score`` (K, 2), argmax-ed. Keys ``Acc-2_{name}``,
    ``F1_{name}``, ``Acc-2_mean``, ``F1_mean`` (percent, no prefix).

    Subclasses for other per-label outputs set ``gt_dtype``, ``metric_fn``
    (``fn(pred (N, K), gt (N, K), names) -> dict``) and ``labels``.
    """
    default_prefix = None
    gt_dtype = np.int64
    metric_fn = staticmethod(multi_binary_metrics)

    def __init__(self, names: Optional[Sequence[str]] = None, **kwargs):
        super().__init__(**kwargs)
        self.names = None if names is None else list(names)

    def labels(self, score: np.ndarray) -> np.ndarray:
        """``pred_score`` (K, 2) of one sample -> its 0/1 labels (K,)."""
        return score.argmax(-1).reshape(-1)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = to_numpy(sample['pred_label']).reshape(-1)
            else:
                pred = self.labels(to_numpy(sample['pred_score']))
            gt = to_numpy(sample['gt_label']).reshape(-1)
            self.results.append((pred.astype(np.int64),
                                 gt.astype(self.gt_dtype)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        pred = np.stack([r[0] for r in results])
        gt = np.stack([r[1] for r in results])
        names = task_names(self.names, self.dataset_meta, gt.shape[1])
        return self.metric_fn(pred, gt, names)
