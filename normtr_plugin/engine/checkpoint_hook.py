"""mmengine's CheckpointHook, made crash-safe and exactly resumable.

:class:`AtomicCheckpointHook` (the shipped ``default_runtime.py`` uses it)
changes what happens around a save, not what is saved:

- every checkpoint (``epoch_N.pth``, ``best_*.pth``, the re-save after a new
  best) is written through :class:`~.atomic_backend.AtomicLocalBackend`:
  temporary name, fsync, rename -- a kill never leaves a truncated file;
- ``last_checkpoint`` is rewritten atomically once the checkpoint it names
  is complete (mmengine's own in-place write of it comes first; a pointer
  torn by a kill is caught by ``resume.py``, which names the newest
  readable checkpoint);
- outdated checkpoints (``max_keep_ckpts``, the previous best) are deleted
  only after their replacement is on disk;
- each checkpoint carries the random states (``rng_state.py``) and a resumed
  run restores them before training continues. Validation runs on saved and
  restored random states, so it draws nothing from the training streams and
  the states saved at the end of an epoch are those the next epoch starts
  with -- a resumed run then equals an uninterrupted one, bit for bit;
- each checkpoint carries the SHA-256 of its weights
  (``checkpoint_digest.py``), verified whenever it is loaded;
- the config text stored in every checkpoint (``meta['cfg']``) is rendered
  once per run (``rendered_config.py``), not by yapf at every save.

Only mmengine's public hook methods are overridden.
"""
import os.path as osp
from contextlib import contextmanager

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ..registry import HOOKS
from ..utils import write_text
from .atomic_backend import ATOMIC_BACKEND
from .checkpoint_digest import CONTENT_HASH_KEY, content_hashes
from .rendered_config import render_config_once
from .rng_state import capture_rng_state, restore_rng_state

__all__ = ['AtomicCheckpointHook']

RNG_KEY = 'rng_state'


class _DeferredRemoval:
    """A file backend proxy that records ``remove``/``rmtree`` calls."""

    def __init__(self, backend, pending: list):
        self._backend, self._pending = backend, pending

    def remove(self, path):
        self._pending.append(path)

    def rmtree(self, path):
        self._pending.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with atomic writes, deletions after the write and
    random states in every checkpoint (see the module docstring). Takes
    CheckpointHook's arguments; ``backend_args`` defaults to the atomic
    local backend (a remote ``out_dir`` keeps mmengine's backends)."""

    def __init__(self, *args, backend_args=None, **kwargs):
        remote = '://' in str(kwargs.get('out_dir') or '')
        if kwargs.get('file_client_args') is None and not remote:
            backend_args = dict(backend_args or {})
            backend_args.setdefault('backend', ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)
        self._val_rng = None
        self._loaded_rng = None

    # ------------------------------------------------------------ saving
    # mmengine's public hook points wrap its saves; nothing of its private
    # saving code is copied or overridden.
    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.by_epoch:  # the shipped configs: nothing to save per iter
            return
        with self._saving(runner):
            super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def after_train_epoch(self, runner) -> None:
        with self._saving(runner):
            super().after_train_epoch(runner)

    def after_val_epoch(self, runner, metrics) -> None:
        with self._saving(runner):
            super().after_val_epoch(runner, metrics)

    @contextmanager
    def _saving(self, runner):
        """Around mmengine's save: delete what it removes only once the new
        checkpoint is complete, then rewrite ``last_checkpoint`` atomically
        (mmengine writes it in place)."""
        pending, backend = [], self.file_backend
        before = self.last_ckpt
        self.file_backend = _DeferredRemoval(backend, pending)
        try:
            yield
        finally:
            self.file_backend = backend
        if self.last_ckpt != before and is_main_process():
            write_text(osp.join(runner.work_dir, 'last_checkpoint'),
                       self.last_ckpt)
        keep = {self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                *(getattr(self, 'best_ckpt_path_dict', None) or {}).values()}
        for path in pending:
            if path in keep:
                continue
            if backend.isfile(path):
                backend.remove(path)
            elif backend.isdir(path):
                backend.rmtree(path)

    # ----------------------------------------------------- random states
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # During validation the training streams are parked in _val_rng.
        checkpoint.setdefault('meta', {})[RNG_KEY] = (
            self._val_rng if self._val_rng is not None
            else capture_rng_state(runner))
        # Verified on every load (checkpoint_digest.py).
        checkpoint['meta'][CONTENT_HASH_KEY] = content_hashes(checkpoint)

    def before_val(self, runner) -> None:
        self._val_rng = capture_rng_state(runner)

    def after_val(self, runner) -> None:
        if self._val_rng is not None:
            restore_rng_state(runner, self._val_rng)
        self._val_rng = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) \
            else None
        self._loaded_rng = meta.get(RNG_KEY) if isinstance(meta, dict) \
            else None

    def before_run(self, runner) -> None:
        super().before_run(runner)
        render_config_once(runner.cfg)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        # Runner.train loads or resumes just before this; restore only on a
        # resume, which alone moves the loop past iteration 0 (load_from
        # starts a new run from its own seed).
        if runner.iter > 0 and self._loaded_rng:
            restore_rng_state(runner, self._loaded_rng)
        self._loaded_rng = None
