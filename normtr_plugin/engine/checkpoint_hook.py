"""mmengine's CheckpointHook, made crash-safe and exactly resumable.

:class:`AtomicCheckpointHook` (the shipped ``default_runtime.py`` uses it)
changes what happens around a save, not what is saved:

- every checkpoint (``epoch_N.pth``, ``best_*.pth``, the re-save after a new
  best) is written through :class:`~.atomic_backend.AtomicLocalBackend`:
  temporary name, fsync, rename -- a kill never leaves a truncated file;
- ``last_checkpoint`` is rewritten atomically, and only after the checkpoint
  it names is complete;
- outdated checkpoints (``max_keep_ckpts``, the previous best) are deleted
  only after their replacement is on disk;
- each checkpoint carries the random states (``rng_state.py``) and a resumed
  run restores them before training continues. Validation runs on saved and
  restored random states, so it draws nothing from the training streams and
  the states saved at the end of an epoch are those the next epoch starts
  with -- a resumed run then equals an uninterrupted one, bit for bit.
"""
import os.path as osp
from contextlib import contextmanager

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ..registry import HOOKS
from ..utils import write_text
from .atomic_backend import ATOMIC_BACKEND
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
    @contextmanager
    def _deferred_removal(self):
        """Delete what the parent class removes only once the body (the new
        checkpoint and ``last_checkpoint``) is complete."""
        pending, backend = [], self.file_backend
        self.file_backend = _DeferredRemoval(backend, pending)
        try:
            yield
        finally:
            self.file_backend = backend
        keep = {self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                *(getattr(self, 'best_ckpt_path_dict', None) or {}).values()}
        for path in pending:
            if path in keep:
                continue
            if backend.isfile(path):
                backend.remove(path)
            elif backend.isdir(path):
                backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        with self._deferred_removal():
            self._save_and_point(runner, step, meta)

    def _save_and_point(self, runner, step, meta):
        """mmengine 0.10.7's ``_save_checkpoint_with_step`` with an atomic
        ``last_checkpoint`` (removals are deferred by the caller)."""
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                old = self.keep_ckpt_ids.popleft()
                if is_main_process():
                    self.file_backend.remove(self.file_backend.join_path(
                        self.out_dir, self.filename_tmpl.format(old)))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if is_main_process():
            write_text(osp.join(runner.work_dir, 'last_checkpoint'),
                       self.last_ckpt)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._deferred_removal():
            super()._save_best_checkpoint(runner, metrics)

    # ----------------------------------------------------- random states
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # During validation the training streams are parked in _val_rng.
        checkpoint.setdefault('meta', {})[RNG_KEY] = (
            self._val_rng if self._val_rng is not None
            else capture_rng_state(runner))

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

    def before_train(self, runner) -> None:
        super().before_train(runner)
        # Runner.train loads or resumes just before this; restore only on a
        # resume (load_from starts a new run from its own seed).
        if getattr(runner, '_resume', False) and self._loaded_rng:
            restore_rng_state(runner, self._loaded_rng)
        self._loaded_rng = None
