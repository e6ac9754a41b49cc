"""Finiteness checks for results: metrics, predictions, statistics.

NaN and Inf are never reported as results: a tool that finds one stops with
:class:`NonFiniteError`, naming where it is.
"""
import math
import numbers
from typing import Iterable, List

import numpy as np

from .errors import NormTRError

__all__ = ['NonFiniteError', 'non_finite_paths', 'require_finite']


class NonFiniteError(NormTRError, FloatingPointError, ValueError):
    """A result (metric, prediction, statistic) is NaN or infinite."""


def non_finite_paths(value, path: str = '') -> List[str]:
    """``'path=value'`` for every NaN/Inf number in nested dicts, lists,
    tuples, numpy arrays and tensors (``path`` uses ``.key`` and ``[i]``).
    """
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += non_finite_paths(v, f'{path}.{k}' if path else str(k))
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for i, v in enumerate(value):
            out += non_finite_paths(v, f'{path}[{i}]')
        return out
    if hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in 'fc':
            return []
        bad = np.argwhere(~np.isfinite(value))
        return [f'{path}[{", ".join(map(str, idx))}]={value[tuple(idx)]}'
                if value.ndim else f'{path}={value}' for idx in bad]
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if not math.isfinite(complex(value).real) or \
                not math.isfinite(complex(value).imag):
            return [f'{path}={value}']
    return []


def require_finite(value, what: str, limit: int = 10) -> None:
    """Raise :class:`NonFiniteError` if ``value`` holds NaN/Inf numbers,
    naming ``what`` and the first ``limit`` places."""
    bad = non_finite_paths(value)
    if bad:
        raise NonFiniteError(_message(what, bad, limit))


def _message(what: str, bad: Iterable[str], limit: int) -> str:
    bad = list(bad)
    shown = ', '.join(bad[:limit]) + (f' (and {len(bad) - limit} more)'
                                      if len(bad) > limit else '')
    return f'{what} is not finite: {shown}'
