"""An mmengine file backend whose writes are atomic.

mmengine's ``LocalBackend.put`` opens the target and writes into it, so a
kill mid-write leaves a truncated ``epoch_N.pth`` or ``best_*.pth`` that
looks complete. :class:`AtomicLocalBackend` (registered as
``'atomic_local'``) writes every file through
``normtr_plugin.utils.atomic_write`` instead: temporary name in the same
folder, flush, fsync, ``os.replace``. ``AtomicCheckpointHook`` selects it
with ``backend_args=dict(backend='atomic_local')``, which reaches
``Runner.save_checkpoint``.
"""
from mmengine.fileio import LocalBackend, register_backend

from ..utils import atomic_write

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend']

ATOMIC_BACKEND = 'atomic_local'


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` with crash-safe ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath) -> None:
        with atomic_write(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        with atomic_write(filepath, 'w', encoding=encoding) as f:
            f.write(obj)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
