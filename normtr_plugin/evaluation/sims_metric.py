"""CH-SIMS regression metrics, as MMSA's ``MetricsTop.__eval_sims_regression``.

MMSA clips predictions and labels to [-1, 1], then buckets both:

- 2 classes: [-1, 0] and (0, 1] (``ms_2 = [-1.01, 0.0, 1.01]``);
- 3 classes: [-1, -0.1], (-0.1, 0.1], (0.1, 1]
  (``ms_3 = [-1.01, -0.1, 0.1, 1.01]``);
- 5 classes: [-1, -0.7], (-0.7, -0.1], (-0.1, 0.1], (0.1, 0.7], (0.7, 1]
  (``ms_5 = [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]``);

a value v goes to bucket i when ``ms[i] < v <= ms[i + 1]``. Acc-k compares
the buckets, F1 is sklearn's weighted F1 of the 2-class buckets, MAE and
Corr (Pearson) are computed on the *clipped* values. The comparisons run in
the arrays' own float32, as MMSA does on the model's float32 tensors (a
label of exactly 0.1 stays in (-0.1, 0.1]). Differences from MMSA's dict:
accuracies and F1 in percent (this project's convention; MMSA gives
fractions rounded to 4 decimals), no rounding, Corr 0.0 (not NaN) when
either side is constant, and keys ``Acc-2``, ``Acc-3``, ``Acc-5``, ``F1``,
``MAE``, ``Corr``.
"""
from typing import Dict, List

import numpy as np

from ..registry import METRICS
from ..utils.errors import InputError
from .functional import to_numpy, weighted_f1
from .sentiment_metric import SentimentMetric

__all__ = ['SIMS_BOUNDARIES', 'SIMSMetric', 'sims_metrics']

#: MMSA's bucket edges for 2, 3 and 5 classes.
SIMS_BOUNDARIES = {
    2: [-1.01, 0.0, 1.01],
    3: [-1.01, -0.1, 0.1, 1.01],
    5: [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01],
}


def _buckets(values: np.ndarray, edges) -> np.ndarray:
    out = values.copy()
    for i in range(len(edges) - 1):
        out[np.logical_and(values > edges[i], values <= edges[i + 1])] = i
    return out


def sims_metrics(pred, truth) -> Dict[str, float]:
    """CH-SIMS metrics of predictions and labels, shapes (N,) or (N, 1)
    (see the module docstring)."""
    pred = to_numpy(pred).reshape(-1)
    truth = to_numpy(truth).reshape(-1)
    if pred.shape != truth.shape or pred.size == 0:
        raise InputError(f'sims_metrics: pred and truth must be non-empty '
                         f'and of equal size, found {pred.shape} (pred) and '
                         f'{truth.shape} (truth)')
    dtype = np.result_type(pred.dtype, truth.dtype, np.float32)
    pred = np.clip(pred.astype(dtype), a_min=-1., a_max=1.)
    truth = np.clip(truth.astype(dtype), a_min=-1., a_max=1.)
    out = {}
    for k, edges in SIMS_BOUNDARIES.items():
        p, t = _buckets(pred, edges), _buckets(truth, edges)
        out[f'Acc-{k}'] = 100.0 * float(
            np.sum(np.round(p) == np.round(t)) / float(len(t)))
        if k == 2:
            out['F1'] = weighted_f1(t, p)
    out['MAE'] = float(np.mean(np.absolute(pred - truth)).astype(np.float64))
    if np.std(pred) == 0 or np.std(truth) == 0:
        out['Corr'] = 0.0
    else:
        out['Corr'] = float(np.corrcoef(pred, truth)[0][1])
    return {k: out[k] for k in ('Acc-2', 'Acc-3', 'Acc-5', 'F1', 'MAE',
                                'Corr')}


@METRICS.register_module()
class SIMSMetric(SentimentMetric):
    """CH-SIMS sentiment in [-1, 1]: Acc-2, Acc-3, Acc-5, F1, MAE, Corr
    (:func:`sims_metrics`). Samples hold ``pred_score`` and ``gt_label``,
    one value each (``SentimentMetric.process``, dtype kept)."""

    def compute_metrics(self, results: List) -> Dict[str, float]:
        pred = np.asarray([r[0] for r in results])
        truth = np.asarray([r[1] for r in results])
        return sims_metrics(pred, truth)
