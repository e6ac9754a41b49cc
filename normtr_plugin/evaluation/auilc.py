"""Area Under Indicators Line Chart (AUILC, paper Eq. 10; Yuan et al. 2021).

``AUILC = sum_t (x_t + x_{t+1}) / 2 * (r_{t+1} - r_t)``: the trapezoid area
under a metric-vs-masking-ratio curve. It is in the metric's own unit (for
ratios 0..1, a constant curve c gives c), so higher is better for
accuracies and Corr, lower for MAE.
"""
import math
from typing import Dict, Mapping, Sequence

from ..utils.errors import InputError

__all__ = ['auilc', 'auilc_table']


def auilc(ratios: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoid area of ``values`` over ``ratios`` (Eq. 10).

    ``ratios`` must be finite and strictly increasing, with as many entries
    as ``values`` and at least 2. A NaN value gives NaN.
    """
    ratios, values = list(ratios), list(values)
    if len(ratios) != len(values):
        raise InputError(f'AUILC: ratios and values must have the same '
                         f'length, found {len(ratios)} ratios and '
                         f'{len(values)} values')
    if len(ratios) < 2:
        raise InputError(f'AUILC needs at least 2 points, found '
                         f'{len(ratios)}')
    try:
        ratios = [float(r) for r in ratios]
        values = [float(v) for v in values]
    except (TypeError, ValueError) as err:
        raise InputError(f'AUILC: ratios and values must be numbers '
                         f'({err})') from None
    if not all(math.isfinite(r) for r in ratios):
        raise InputError(f'AUILC: ratios must be finite, found {ratios}')
    for i in range(len(ratios) - 1):
        if not ratios[i + 1] > ratios[i]:
            raise InputError(
                f'AUILC: ratios must be strictly increasing, found '
                f'{ratios[i]:g} then {ratios[i + 1]:g} at positions {i}, '
                f'{i + 1}')
    return float(sum((values[i] + values[i + 1]) / 2 *
                     (ratios[i + 1] - ratios[i])
                     for i in range(len(ratios) - 1)))


def auilc_table(per_ratio: Mapping[float, Mapping[str, float]]
                ) -> Dict[str, float]:
    """AUILC of every metric from ``{ratio: {metric: value}}``.

    Ratios are sorted (duplicates are impossible in a mapping); every ratio
    must report the same metrics.
    """
    if len(per_ratio) < 2:
        raise InputError(f'AUILC needs at least 2 ratios, found '
                         f'{len(per_ratio)}')
    ratios = sorted(per_ratio, key=float)
    names = list(per_ratio[ratios[0]])
    for r in ratios[1:]:
        if set(per_ratio[r]) != set(names):
            raise InputError(
                f'AUILC: ratio {r} reports metrics {sorted(per_ratio[r])}, '
                f'ratio {ratios[0]} reports {sorted(names)}')
    return {name: auilc([float(r) for r in ratios],
                        [per_ratio[r][name] for r in ratios])
            for name in names}
