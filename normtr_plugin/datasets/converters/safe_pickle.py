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

The allowed callables are handed out bounded (:meth:`SafeUnpickler.
find_class`): nothing a call builds may be larger than the pickle itself
(``bytearray(2**37)``, ``list(range(2**40))``, a 1 TiB array shape are
refused before any memory is taken), ``_reconstruct`` builds numpy arrays
only, and ``_codecs.encode`` only latin-1 (what protocol 2 writes).
"""
import _compat_pickle
import codecs
import collections
import io
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


#: the least any call may build, whatever the pickle's size (bytes)
MIN_LIMIT = 1 << 20


class _NdarrayName:
    """What ``numpy.ndarray`` resolves to: the type ``_reconstruct`` gets
    (turned back into ``numpy.ndarray`` there); called itself, a bounded
    ``numpy.ndarray(shape, dtype)``."""

    def __init__(self, unpickler: 'SafeUnpickler'):
        self.unpickler = unpickler

    def __call__(self, shape=(), dtype=float, *args, **kwargs):
        self.unpickler.check_array(shape, dtype, 'numpy.ndarray')
        return np.ndarray(shape, dtype, *args, **kwargs)


def _size(value) -> int:
    """How many items/bytes ``value`` would make a container or buffer
    hold (ints: ``bytes(n)`` / ``bytearray(n)``)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except OverflowError:  # range(2**70)
        return 1 << 64
    except TypeError:  # iterators, scalars
        return 0


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`SAFE_GLOBALS`, each
    bounded by ``limit`` (default: the file's size, at least
    :data:`MIN_LIMIT`).

    ``source`` names the file in errors.
    """

    def __init__(self, file: IO[bytes], source: str = 'the pickle',
                 limit: int = None, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source
        self.limit = max(_file_size(file), MIN_LIMIT) if limit is None \
            else limit

    def refuse(self, what: str):
        raise UnsafePickleError(
            f'refusing to unpickle {self.source!r}: it asks for {what}; '
            'nothing of it was run. MMSA and MulT pickles hold only numpy '
            'arrays, dtypes, scalars and builtin containers, no bigger than '
            'the file; re-save the data as plain numpy arrays if it holds '
            'other objects')

    def check_array(self, shape, dtype, what: str) -> None:
        """Refuse an array larger than the pickle (before allocating)."""
        try:
            shape = (int(shape),) if np.ndim(shape) == 0 else \
                tuple(int(n) for n in shape)
            itemsize = np.dtype(dtype).itemsize
        except Exception:  # noqa: B902 - not a shape/dtype at all
            self.refuse(f'{what} with shape {shape!r}, dtype {dtype!r}')
        count = 1
        for n in shape:
            count *= max(n, 0)
        if count * max(itemsize, 1) > self.limit:
            self.refuse(f'{what} of shape {shape} (dtype {np.dtype(dtype)}'
                        f'), larger than the {self.limit}-byte bound')

    def find_class(self, module: str, name: str):
        key = (module, name)
        # Python 2 names (__builtin__.set, copy_reg...) as pickle maps them.
        key = _compat_pickle.NAME_MAPPING.get(key, key)
        key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
        if key not in SAFE_GLOBALS:
            self.refuse(f'{module}.{name}, which is not a numpy array, '
                        'dtype or scalar nor a builtin container')
        target = SAFE_GLOBALS[key]
        if target is np.ndarray:
            return _NdarrayName(self)
        if key[1] == '_reconstruct':
            return self._reconstruct
        if key[1] == 'scalar':
            return self._scalar
        if target is codecs.encode:
            return self._encode
        if key[0] == 'builtins':
            return self._bounded(target)
        return target

    def _reconstruct(self, subtype, shape, dtype):
        if not isinstance(subtype, _NdarrayName):
            name = getattr(subtype, '__name__', type(subtype).__name__)
            self.refuse(f'numpy _reconstruct of {name}, not of a numpy '
                        'array')
        self.check_array(shape, dtype, 'numpy _reconstruct')
        return SAFE_GLOBALS[('numpy._core.multiarray', '_reconstruct')](
            np.ndarray, shape, dtype)

    def _scalar(self, dtype, *args):
        self.check_array((), dtype, 'numpy scalar')
        return SAFE_GLOBALS[('numpy._core.multiarray', 'scalar')](
            dtype, *args)

    def _encode(self, obj, encoding='utf-8', *args):
        if str(encoding).replace('-', '').lower() != 'latin1':
            self.refuse(f'_codecs.encode(..., {encoding!r}), not latin-1')
        return codecs.encode(obj, encoding, *args)

    def _bounded(self, target: Callable) -> Callable:
        def build(*args, **kwargs):
            for value in (*args, *kwargs.values()):
                if _size(value) > self.limit:
                    self.refuse(f'builtins.{target.__name__} of '
                                f'{_size(value)} items, larger than the '
                                f'{self.limit}-byte bound')
            return target(*args, **kwargs)
        build.__name__ = build.__qualname__ = target.__name__
        return build


def _file_size(file) -> int:
    """Bytes in ``file`` (0 when it cannot seek)."""
    try:
        here = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(here)
        return int(end)
    except (AttributeError, OSError, ValueError):
        return 0


def load(file: IO[bytes], source: str = 'the pickle', **kwargs):
    """``pickle.load`` through :class:`SafeUnpickler` (``kwargs``: e.g.
    ``encoding='latin1'`` for Python 2 pickles)."""
    return SafeUnpickler(file, source, **kwargs).load()
