"""The grid of the robustness evaluation (SPEC 5): masking ratios and
masking seeds, parsed from the command line or a config."""
import math
from typing import List, Sequence, Union

import numpy as np

from ..structures.maskers import check_ratio
from ..utils.errors import InputError

__all__ = ['parse_ratios', 'parse_seeds']


def parse_ratios(spec: Union[str, Sequence[float]]) -> List[float]:
    """Masking ratios from ``'start:stop:step'`` (stop included when on the
    grid: ``'0:1:0.1'`` -> 0.0, 0.1, ..., 1.0), a comma list
    (``'0,0.25,0.5'``) or a sequence of numbers.

    Values are rounded to 10 decimals (no float drift), must lie in [0, 1]
    and be distinct; they are returned sorted.
    """
    if isinstance(spec, str):
        text = spec.strip()
        if ':' in text:
            parts = text.split(':')
            if len(parts) != 3:
                raise InputError(f"ratios range must be 'start:stop:step', "
                                 f'got {spec!r}')
            try:
                start, stop, step = (float(p) for p in parts)
            except ValueError:
                raise InputError(f"ratios range must be 'start:stop:step' "
                                 f'numbers, got {spec!r}') from None
            if not all(math.isfinite(v) for v in (start, stop, step)):
                raise InputError(f'ratios range must be finite, got {spec!r}')
            if step <= 0:
                raise InputError(f'ratios step must be > 0, got {spec!r}')
            if stop < start:
                raise InputError(f'ratios stop must be >= start, got '
                                 f'{spec!r}')
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [start + i * step for i in range(count)]
        else:
            try:
                values = [float(p) for p in text.split(',') if p.strip()]
            except ValueError:
                raise InputError(f"ratios must be 'start:stop:step' or a "
                                 f'comma list of numbers, got {spec!r}') \
                    from None
    else:
        values = [float(v) for v in spec]
    if not values:
        raise InputError(f'no masking ratios in {spec!r}')
    values = [round(v, 10) + 0.0 for v in values]  # + 0.0: no -0.0
    for v in values:
        check_ratio(v)
    if len(set(values)) != len(values):
        dup = sorted({v for v in values if values.count(v) > 1})
        raise InputError(f'duplicate masking ratios {dup} in {spec!r}')
    return sorted(values)


def parse_seeds(spec: Union[str, int, Sequence[int]]) -> List[int]:
    """``3`` or ``'3'`` -> [0, 1, 2]; ``'0,5,7'`` or a list -> those seeds."""
    if isinstance(spec, str):
        text = spec.strip()
        try:
            spec = ([int(p) for p in text.split(',') if p.strip()]
                    if ',' in text else int(text))
        except ValueError:
            raise InputError(f'seeds must be a count (3) or a comma list '
                             f'(0,5,7), got {text!r}') from None
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise InputError(f'the number of seeds must be >= 1, got {spec}')
        return list(range(int(spec)))
    seeds = [int(s) for s in spec]
    if not seeds or any(s < 0 for s in seeds):
        raise InputError(f'seeds must be non-negative ints, got {seeds}')
    if len(set(seeds)) != len(seeds):
        raise InputError(f'duplicate seeds in {seeds}')
    return seeds
