"""SHA-256 digests of files and of tensors, and the error of a mismatch.

Cheap by design: one pass of ``hashlib`` over the bytes, nothing copied
beyond what moving a tensor to the CPU needs.
"""
import hashlib
from typing import Mapping

from .errors import InputError

__all__ = ['ChecksumError', 'file_sha256', 'tensors_sha256', 'value_sha256']


class ChecksumError(InputError):
    """A file's content differs from the SHA-256 recorded when it was
    written: corrupted (or changed) since."""


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def tensors_sha256(state: Mapping) -> str:
    """Hex SHA-256 of a state dict: every key (sorted), dtype, shape and the
    raw bytes of every tensor; a value that is no tensor by its ``repr``."""
    import torch
    digest = hashlib.sha256()
    for key in sorted(state, key=str):
        value = state[key]
        digest.update(repr(str(key)).encode())
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f'{t.dtype}{tuple(value.shape)}'.encode())
            if t.numel():
                digest.update(t.view(torch.uint8).numpy())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def value_sha256(value) -> str:
    """Hex SHA-256 of a nested checkpoint value (dicts, lists, tuples,
    tensors, numpy arrays and scalars, and objects by their attributes, such
    as mmengine's ``HistoryBuffer``), stable across ``torch.save`` and
    ``torch.load``."""
    digest = hashlib.sha256()
    _update(digest, value)
    return digest.hexdigest()


def _update(digest, value) -> None:
    import numpy as np
    import torch
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f'T{t.dtype}{tuple(value.shape)}'.encode())
        if t.numel():
            digest.update(t.view(torch.uint8).numpy())
    elif isinstance(value, np.ndarray) and value.dtype != object:
        digest.update(f'A{value.dtype.str}{value.shape}'.encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Mapping):
        digest.update(f'D{len(value)}'.encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f'{type(value).__name__[0]}{len(value)}'.encode())
        for item in value:
            _update(digest, item)
    elif isinstance(value, np.ndarray):  # object arrays
        _update(digest, value.tolist())
    elif hasattr(value, '__dict__') and not isinstance(value, type):
        digest.update(f'O{type(value).__qualname__}'.encode())
        _update(digest, vars(value))
    else:  # str, bytes, numbers, bools, None, numpy scalars
        digest.update(f'{type(value).__name__}:{value!r}'.encode())
