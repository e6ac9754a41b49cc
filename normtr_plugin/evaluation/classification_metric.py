"""Single-label classification metric (RML: Acc-6 and weighted F1)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from .functional import classification_metrics, to_numpy
from ..utils.errors import InputError


@METRICS.register_module()
class ClassificationMetric(BaseMetric):
    """``Acc-{C}`` and weighted ``F1`` in percent (no prefix).

    Each data sample holds ``gt_label`` () int and ``pred_label`` () int
    or else ``pred_score`` (C,), argmax-ed. C is ``num_classes``, else
    ``len(dataset_meta['classes'])``, else the width of ``pred_score``.
    """
    default_prefix = None

    def __init__(self, num_classes: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = sample.get('pred_score')
            width = -1 if score is None else int(to_numpy(score).size)
            if 'pred_label' in sample:
                pred = int(to_numpy(sample['pred_label']).reshape(-1)[0])
            else:
                pred = int(to_numpy(score).reshape(-1).argmax())
            gt = int(to_numpy(sample['gt_label']).reshape(-1)[0])
            self.results.append((pred, gt, width))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        arr = np.asarray(results, dtype=np.int64).reshape(-1, 3)
        num_classes = self.num_classes
        if num_classes is None and self.dataset_meta \
                and self.dataset_meta.get('classes') is not None:
            num_classes = len(self.dataset_meta['classes'])
        if num_classes is None:
            if arr[:, 2].min() < 0:
                raise InputError('ClassificationMetric: give num_classes, '
                                 "dataset_meta['classes'] or pred_score")
            num_classes = int(arr[:, 2].max())
        return classification_metrics(arr[:, 0], arr[:, 1], num_classes)
