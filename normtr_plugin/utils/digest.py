"""SHA-256 digests of files and of tensors, and the error of a mismatch.

Cheap by design: one pass of ``hashlib`` over the bytes, nothing copied
beyond what moving a tensor to the CPU needs.
"""
import hashlib
from typing import Mapping

from .errors import InputError

__all__ = ['ChecksumError', 'file_sha256', 'tensors_sha256']


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
