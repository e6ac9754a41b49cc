"""Numbers of the robustness evaluation: curves and AUILC (SPEC 5), over
masking seeds for one checkpoint and over checkpoints (training seeds) for
one model. Pure functions on plain dicts; no I/O.

Two spreads, never mixed:

- **masking spread**: one checkpoint, several masking seeds; std with
  ddof=0 (``std``, as the evaluation always reported it). Over several
  checkpoints it is pooled: ``mask_std = sqrt(mean_c std_c^2)``.
- **training spread**: one value per checkpoint (its mean over masking
  seeds), std with ddof=1 over the checkpoints (``train_std``; ``None``
  for a single checkpoint). This is the spread that decides whether two
  models differ.

AUILC is reported over the full ratio grid (``auilc``) and over the ratios
below 1 (``auilc_below_1``): at r = 1 every input is zero and every model
predicts a constant, so that point rewards a collapsed model as much as a
good one.
"""
import math
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .auilc import auilc
from ..utils.errors import InputError

__all__ = ['LOWER_IS_BETTER', 'lower_is_better', 'reference_areas',
           'summarise_checkpoints', 'summarise_masking']

LOWER_IS_BETTER = re.compile(r'(^|_)(MAE|MSE|RMSE|loss)($|_)', re.I)


def lower_is_better(metric: str) -> bool:
    """MAE, MSE, RMSE and losses: lower is better; anything else higher."""
    return bool(LOWER_IS_BETTER.search(metric))


def _mean_std(values: Sequence[float], ddof: int = 0
              ) -> Tuple[float, Optional[float]]:
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) <= ddof:
        return float(arr.mean()), None
    return float(arr.mean()), float(arr.std(ddof=ddof))


def _curve_areas(ratios: List[float], curves: Mapping[str, List[float]],
                 below_1: bool) -> Optional[float]:
    """AUILC of one curve, or None when the grid has < 2 points."""
    keep = [i for i, r in enumerate(ratios) if r < 1 or not below_1]
    if len(keep) < 2:
        return None
    return auilc([ratios[i] for i in keep], [curves[i] for i in keep])


def summarise_masking(per_run: Mapping[Tuple[int, float], Dict[str, float]],
                      ratios: Sequence[float], seeds: Sequence[int]
                      ) -> dict:
    """One checkpoint over the (masking seed, ratio) grid.

    Args:
        per_run: ``{(seed, ratio): {metric: value}}`` for every pair.
        ratios: sorted distinct ratios; seeds: the masking seeds.

    Returns ``dict(metrics, per_ratio, auilc, auilc_below_1)``:
    ``per_ratio`` a list (one per ratio) of ``dict(ratio, per_seed=
    {seed: {metric: value}}, mean={...}, std={...})``; ``auilc`` and
    ``auilc_below_1`` map each metric to ``dict(mean, std, per_seed=
    {seed: value})`` (std ddof=0 over masking seeds; empty when the grid
    has fewer than 2 ratios).
    """
    ratios, seeds = list(ratios), list(seeds)
    names = list(per_run[(seeds[0], ratios[0])])
    per_ratio = []
    for r in ratios:
        entry = dict(ratio=r, per_seed={str(s): dict(per_run[(s, r)])
                                        for s in seeds}, mean={}, std={})
        for name in names:
            entry['mean'][name], entry['std'][name] = _mean_std(
                [per_run[(s, r)][name] for s in seeds])
        per_ratio.append(entry)
    out = dict(metrics=names, per_ratio=per_ratio)
    for key, below_1 in (('auilc', False), ('auilc_below_1', True)):
        table = {}
        for name in names:
            per_seed = {str(s): _curve_areas(
                ratios, [per_run[(s, r)][name] for r in ratios], below_1)
                for s in seeds}
            if None in per_seed.values():
                continue
            mean, std = _mean_std(list(per_seed.values()))
            table[name] = dict(mean=mean, std=std, per_seed=per_seed)
        out[key] = table
    return out


def _pooled(stds: Sequence[float]) -> float:
    """Root mean square of per-checkpoint masking stds."""
    return float(math.sqrt(np.mean(np.square(np.asarray(stds, np.float64)))))


def summarise_checkpoints(runs: Sequence[dict]) -> dict:
    """One model over its checkpoints (training seeds).

    Args:
        runs: :func:`summarise_masking` outputs of the same grid, one per
            checkpoint.

    Returns ``dict(metrics, num_checkpoints, per_ratio, auilc,
    auilc_below_1)``: ``per_ratio`` a list of ``dict(ratio, mean={m: ...},
    train_std={m: ... or None}, mask_std={m: ...}, per_checkpoint={m:
    [...]})``; the AUILC tables map each metric to ``dict(mean, train_std,
    mask_std, per_checkpoint=[...])`` (see the module doc for the spreads).
    """
    if not runs:
        raise InputError('summarise_checkpoints needs at least one run')
    ratios = [row['ratio'] for row in runs[0]['per_ratio']]
    for i, run in enumerate(runs[1:], 1):
        if [row['ratio'] for row in run['per_ratio']] != ratios:
            raise InputError(f'run {i} has ratios '
                             f"{[row['ratio'] for row in run['per_ratio']]},"
                             f' run 0 has {ratios}')
    names = [m for m in runs[0]['metrics']
             if all(m in run['metrics'] for run in runs)]
    per_ratio = []
    for i, r in enumerate(ratios):
        rows = [run['per_ratio'][i] for run in runs]
        entry = dict(ratio=r, mean={}, train_std={}, mask_std={},
                     per_checkpoint={})
        for name in names:
            values = [row['mean'][name] for row in rows]
            entry['mean'][name], entry['train_std'][name] = _mean_std(
                values, ddof=1)
            entry['mask_std'][name] = _pooled(
                [row['std'][name] for row in rows])
            entry['per_checkpoint'][name] = values
        per_ratio.append(entry)
    out = dict(metrics=names, num_checkpoints=len(runs), per_ratio=per_ratio)
    for key in ('auilc', 'auilc_below_1'):
        table = {}
        for name in names:
            if not all(name in run[key] for run in runs):
                continue
            values = [run[key][name]['mean'] for run in runs]
            mean, train_std = _mean_std(values, ddof=1)
            table[name] = dict(
                mean=mean, train_std=train_std,
                mask_std=_pooled([run[key][name]['std'] for run in runs]),
                per_checkpoint=values)
        out[key] = table
    return out


def reference_areas(metrics: Mapping[str, float], ratios: Sequence[float]
                    ) -> Dict[str, Dict[str, Optional[float]]]:
    """AUILC of a constant predictor (the same metrics at every ratio):
    ``{'auilc': {m: ...}, 'auilc_below_1': {m: ...}}``."""
    ratios = list(ratios)
    return {key: {m: _curve_areas(ratios, [v] * len(ratios), below_1)
                  for m, v in metrics.items()}
            for key, below_1 in (('auilc', False), ('auilc_below_1', True))}
