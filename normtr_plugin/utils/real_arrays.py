"""The one rule for which arrays hold numbers the package may read.

Features, labels and lengths are real numbers. Casting a complex array to
float drops its imaginary part (numpy only warns); casting strings, objects,
dates or raw bytes fails deep inside with a traceback, or turns bytes into
numbers. So every reader of arrays from a user's file (``.npz`` inference
inputs, converter pickles and HDF5 files, feature statistics) asks
:func:`check_real` first and refuses anything else with one line naming
the file/key, the dtype found and what is expected.
"""
import numpy as np

from .errors import InputError

__all__ = ['REAL_KINDS', 'check_real', 'real_array']

#: numpy dtype kinds of real numbers: bool, signed, unsigned, float
REAL_KINDS = 'biuf'
_KIND_NAMES = {'c': 'complex numbers', 'U': 'text', 'S': 'bytes',
               'O': 'Python objects', 'V': 'raw/structured records',
               'M': 'dates', 'm': 'time deltas'}


def check_real(dtype, where: str) -> None:
    """Refuse ``dtype`` unless its values are real numbers (bool, int,
    float); ``where`` names the file/key/modality in the message."""
    dtype = np.dtype(dtype)
    if dtype.kind not in REAL_KINDS:
        what = _KIND_NAMES.get(dtype.kind, f'dtype kind {dtype.kind!r}')
        raise InputError(f'{where}: expected real numbers (bool, int or '
                         f'float), found dtype {dtype} ({what})')


def real_array(values, where: str, dtype=None) -> np.ndarray:
    """``values`` as a numpy array of real numbers (cast to ``dtype`` when
    given) after :func:`check_real`; torch tensors are accepted."""
    if hasattr(values, 'detach'):  # a torch tensor
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    check_real(arr.dtype, where)
    return arr if dtype is None else arr.astype(dtype, copy=False)
