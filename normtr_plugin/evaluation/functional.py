"""Metric functions on numpy arrays; usable without mmengine.

Definitions follow SPEC section 4: MMSA's ``metricsTop`` for MOSI/MOSEI and
MulT's ``eval_metrics`` for IEMOCAP / MOSEI emotions. Accuracies and F1 are
percentages (x100); MAE and Corr are raw values. Every function raises
``ValueError`` on empty or mismatched inputs.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from ..utils.errors import InputError

__all__ = ['sentiment_metrics', 'multi_binary_metrics',
           'classification_metrics', 'multilabel_metrics',
           'weighted_accuracy', 'weighted_f1', 'to_numpy']


def to_numpy(x) -> np.ndarray:
    """Tensor (any device) / array / number -> numpy array on the cpu."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _check_pair(pred, truth, ndim: int, what: str):
    """Return (pred, truth) as arrays of equal shape with ``ndim`` dims."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if ndim == 1:  # accept (N, 1) columns for per-sample scalars
        pred, truth = (a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1
                       else a for a in (pred, truth))
    want = '(N,)' if ndim == 1 else '(N, K)'
    for name, arr in (('pred', pred), ('truth', truth)):
        if arr.ndim != ndim:
            raise InputError(f'{what}: {name} must have shape {want}, '
                             f'found {arr.shape}')
    if pred.shape != truth.shape:
        raise InputError(f'{what}: pred and truth must have the same shape, '
                         f'expected {truth.shape} (truth), found {pred.shape} '
                         f'(pred)')
    if pred.shape[0] == 0:
        raise InputError(f'{what}: empty input, expected {want} with N >= 1, '
                         f'found {pred.shape}')
    return pred, truth


def _check_binary(arr: np.ndarray, what: str) -> np.ndarray:
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise InputError(f'{what}: expected 0/1 labels, found '
                         f'{np.unique(arr[bad])[:5].tolist()}')
    return arr.astype(np.int64)


def _names(names: Optional[Sequence[str]], k: int, what: str):
    names = [f'task{i}' for i in range(k)] if names is None else list(names)
    if len(names) != k:
        raise InputError(f'{what}: expected {k} names (one per column of '
                         f'shape (N, {k})), found {len(names)}: {names}')
    return names


def weighted_f1(truth, pred) -> float:
    """Weighted F1 in percent (sklearn ``average='weighted'``; sklearn is
    imported here, not with the package, to keep start-up short)."""
    from sklearn.metrics import f1_score
    return 100.0 * float(f1_score(truth, pred, average='weighted',
                                  zero_division=0))


def regression_metrics(pred, truth) -> Dict[str, float]:
    """MAE and Pearson Corr (0.0 when either side is constant)."""
    pred, truth = _check_pair(pred, truth, 1, 'regression_metrics')
    pred, truth = pred.astype(np.float64), truth.astype(np.float64)
    if np.std(pred) == 0 or np.std(truth) == 0:
        corr = 0.0
    else:
        corr = float(np.corrcoef(pred, truth)[0, 1])
    return {'MAE': float(np.mean(np.abs(pred - truth))), 'Corr': corr}


def sentiment_metrics(pred, truth) -> Dict[str, float]:
    """MOSI/MOSEI regression metrics as MMSA ``metricsTop``; shapes (N,).

    Acc-7 / Acc-5: clip both to [-3, 3] / [-2, 2], ``np.round`` (half to
    even), compare. Acc-2_has0 / F1_has0: (x < 0) vs (x >= 0) on all samples.
    Acc-2_non0 / F1_non0: drop samples with truth exactly 0, then (x > 0);
    they are ``nan`` when every truth is 0. MAE on unclipped values. Corr is
    Pearson's r, returned as 0.0 (not nan) when either side is constant.
    """
    pred, truth = _check_pair(pred, truth, 1, 'sentiment_metrics')
    pred, truth = pred.astype(np.float64), truth.astype(np.float64)

    def acc_clip(c):
        return 100.0 * float(np.mean(np.round(np.clip(pred, -c, c)) ==
                                     np.round(np.clip(truth, -c, c))))

    out = {'Acc-7': acc_clip(3.0), 'Acc-5': acc_clip(2.0)}
    bp, bt = pred >= 0, truth >= 0
    out['Acc-2_has0'] = 100.0 * float(np.mean(bp == bt))
    out['F1_has0'] = weighted_f1(bt, bp)
    nz = truth != 0
    if nz.any():
        bp, bt = pred[nz] > 0, truth[nz] > 0
        out['Acc-2_non0'] = 100.0 * float(np.mean(bp == bt))
        out['F1_non0'] = weighted_f1(bt, bp)
    else:
        out['Acc-2_non0'] = out['F1_non0'] = float('nan')
    out.update(regression_metrics(pred, truth))
    return {k: out[k] for k in ('Acc-7', 'Acc-5', 'Acc-2_has0', 'Acc-2_non0',
                                'F1_has0', 'F1_non0', 'MAE', 'Corr')}


def multi_binary_metrics(pred_label, truth, names=None) -> Dict[str, float]:
    """IEMOCAP protocol (MulT ``eval_iemocap``): K independent binary tasks.

    ``pred_label``/``truth``: (N, K) 0/1 ints. Per task Acc-2 and weighted
    F1, keys ``Acc-2_{name}``/``F1_{name}``, plus ``Acc-2_mean``/``F1_mean``.
    """
    return _per_label_metrics(pred_label, truth, names,
                              'multi_binary_metrics', 'Acc-2', _accuracy)


def classification_metrics(pred_label, truth,
                           num_classes: int) -> Dict[str, float]:
    """Single-label classification (RML): ``Acc-{C}`` and weighted F1.

    ``pred_label``/``truth``: (N,) ints in [0, num_classes).
    """
    pred, truth = _check_pair(pred_label, truth, 1, 'classification_metrics')
    for name, arr in (('pred_label', pred), ('truth', truth)):
        ok = (arr >= 0) & (arr < num_classes) & (arr == np.round(arr))
        if not np.all(ok):
            raise InputError(f'classification_metrics: {name} must hold ints '
                             f'in [0, {num_classes}), found values '
                             f'{np.unique(arr).tolist()[:10]}')
    pred, truth = pred.astype(np.int64), truth.astype(np.int64)
    return {f'Acc-{num_classes}': 100.0 * float(np.mean(pred == truth)),
            'F1': weighted_f1(truth, pred)}


def weighted_accuracy(pred, truth) -> float:
    """w-Acc = (TP * n / p + TN) / (2n), Tong et al. 2017 (MulT), in percent.

    p / n: number of positives / negatives in ``truth``; falls back to plain
    accuracy when either is 0.
    """
    p, n = int(np.sum(truth == 1)), int(np.sum(truth == 0))
    if p == 0 or n == 0:
        return 100.0 * float(np.mean(pred == truth))
    tp = float(np.sum((pred == 1) & (truth == 1)))
    tn = float(np.sum((pred == 0) & (truth == 0)))
    return 100.0 * (tp * n / p + tn) / (2 * n)


def multilabel_metrics(pred_label, truth, names=None) -> Dict[str, float]:
    """MOSEI emotions multi-label: per label w-Acc and weighted F1, plus mean.

    ``pred_label``/``truth``: (N, K) 0/1. Keys ``wAcc_{name}``, ``F1_{name}``,
    ``wAcc_mean``, ``F1_mean``.
    """
    return _per_label_metrics(pred_label, truth, names,
                              'multilabel_metrics', 'wAcc', weighted_accuracy)


def _accuracy(pred, truth) -> float:
    return 100.0 * float(np.mean(pred == truth))


def _per_label_metrics(pred_label, truth, names, what: str, acc_key: str,
                       accuracy) -> Dict[str, float]:
    """K binary labels ((N, K) 0/1): ``{acc_key}_{name}`` (``accuracy``)
    and weighted ``F1_{name}`` per label, plus their ``_mean``."""
    pred, truth = _check_pair(pred_label, truth, 2, what)
    pred = _check_binary(pred, f'{what} pred_label')
    truth = _check_binary(truth, f'{what} truth')
    names = _names(names, truth.shape[1], what)
    out, accs, f1s = {}, [], []
    for i, name in enumerate(names):
        accs.append(accuracy(pred[:, i], truth[:, i]))
        f1s.append(weighted_f1(truth[:, i], pred[:, i]))
        out[f'{acc_key}_{name}'], out[f'F1_{name}'] = accs[-1], f1s[-1]
    out[f'{acc_key}_mean'] = float(np.mean(accs))
    out['F1_mean'] = float(np.mean(f1s))
    return out
