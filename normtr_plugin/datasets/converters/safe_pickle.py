"""Read the MMSA / MulT pickles users pass around without running code.

Those releases are dicts of splits, each a dict of numpy arrays (float
features, labels; ``id``/``raw_text``/``annotations`` as numpy str or
object arrays of str), numpy scalars and plain Python containers. Unpickling
needs nothing but the globals in :data:`SAFE_GLOBALS`: numpy's array, dtype
and scalar reconstructors (numpy 1.x ``numpy.core`` and 2.x ``numpy._core``
names alike), builtin containers and ``_codecs.encode`` (how protocol-2
pickles store bytes). :class:`SafeUnpickler` resolves those names to the
installed objects without importing anything and refuses every other
global (``os.system``, ``builtins.eval``, torch tensors, ...) with
:class:`UnsafePickleError`, before any of it is called.
"""
import _compat_pickle
import codecs
import collections
import pickle
from typing import IO, Callable, Dict, Tuple

import numpy as np

from ...utils.errors import NormTRError

__all__ = ['SAFE_GLOBALS', 'SafeUnpickler', 'UnsafePickleError', 'load']


class UnsafePickleError(NormTRError, pickle.UnpicklingError):
    """The pickle names a global outside :data:`SAFE_GLOBALS`."""


def _numpy_globals() -> Dict[Tuple[str, str], Callable]:
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2.0
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore
    found = {('numpy', 'ndarray'): np.ndarray, ('numpy', 'dtype'): np.dtype}
    for package in ('numpy.core', 'numpy._core'):
        found[(f'{package}.multiarray', '_reconstruct')] = \
            multiarray._reconstruct
        found[(f'{package}.multiarray', 'scalar')] = multiarray.scalar
        # protocol 5 pickles of contiguous arrays
        found[(f'{package}.numeric', '_frombuffer')] = numeric._frombuffer
    return found


#: (module, name) -> the object it stands for.
SAFE_GLOBALS: Dict[Tuple[str, str], Callable] = {
    **_numpy_globals(),
    **{('builtins', t.__name__): t for t in (
        dict, list, tuple, set, frozenset, bytearray, bytes, str, int,
        float, complex, bool, slice, range)},
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('_codecs', 'encode'): codecs.encode,
}


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`SAFE_GLOBALS`.

    ``source`` names the file in errors.
    """

    def __init__(self, file: IO[bytes], source: str = 'the pickle',
                 **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str):
        key = (module, name)
        # Python 2 names (__builtin__.set, copy_reg...) as pickle maps them.
        key = _compat_pickle.NAME_MAPPING.get(key, key)
        key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
        if key in SAFE_GLOBALS:
            return SAFE_GLOBALS[key]
        raise UnsafePickleError(
            f'refusing to unpickle {self.source!r}: it asks for '
            f'{module}.{name}, which is not a numpy array, dtype or scalar '
            'nor a builtin container; nothing of it was run. MMSA and MulT '
            'pickles hold only those; re-save the data as plain numpy '
            'arrays if it holds other objects')


def load(file: IO[bytes], source: str = 'the pickle', **kwargs):
    """``pickle.load`` through :class:`SafeUnpickler` (``kwargs``: e.g.
    ``encoding='latin1'`` for Python 2 pickles)."""
    return SafeUnpickler(file, source, **kwargs).load()
