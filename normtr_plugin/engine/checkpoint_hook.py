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
  once per run (``rendered_config.py``), not by yapf at every save;
- only checkpoints this run wrote in its own work dir are ever removed
  (``run_files.py``): the best/last/kept checkpoints that a resumed message
  hub names are used and removed only when the work dir's ledger lists
  them, so a crafted checkpoint cannot delete a user's folder, nor a
  checkpoint copied from another run that run's best;
- a checkpoint saved at the end of an epoch whose validation had not
  finished (``meta['val_pending']``: the run was killed during validation
  or the best-checkpoint save) makes the resumed run validate that epoch
  first, so the best checkpoint is chosen as in an uninterrupted run.

Only mmengine's public hook methods are overridden.
"""
import os.path as osp
from collections import deque
from contextlib import contextmanager

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner import find_latest_checkpoint

from ..registry import HOOKS
from ..utils import write_text
from .atomic_backend import ATOMIC_BACKEND
from .checkpoint_digest import CONTENT_HASH_KEY, content_hashes
from .rendered_config import render_config_once
from .rng_state import capture_rng_state, restore_rng_state
from .run_files import RunFiles

__all__ = ['AtomicCheckpointHook']

RNG_KEY = 'rng_state'
VAL_PENDING_KEY = 'val_pending'


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
        self._loaded_val_pending = False
        self._val_due = False  # a validation follows the epoch just saved
        self._files = None  # RunFiles: the checkpoints this run wrote

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
        self._val_due = self._validation_follows(runner)
        try:
            with self._saving(runner):
                super().after_train_epoch(runner)
        finally:
            self._val_due = False

    def after_val_epoch(self, runner, metrics) -> None:
        with self._saving(runner):
            super().after_val_epoch(runner, metrics)

    @staticmethod
    def _validation_follows(runner) -> bool:
        """Whether the epoch-based loop validates after the epoch now ending
        (its own condition; ``runner.epoch`` is not yet incremented)."""
        loop = runner.train_loop
        begin = getattr(loop, 'val_begin', None)
        interval = getattr(loop, 'val_interval', None)
        if runner.val_loop is None or begin is None or not interval:
            return False
        done = runner.epoch + 1
        return done >= begin and (done % interval == 0 or
                                  done == loop.max_epochs)

    @contextmanager
    def _saving(self, runner):
        """Around mmengine's save: delete what it removes only once the new
        checkpoint is complete, then rewrite ``last_checkpoint`` atomically
        (mmengine writes it in place)."""
        pending, backend = [], self.file_backend
        before = self.last_ckpt
        self.file_backend = _DeferredRemoval(backend, pending)
        keep = set()
        try:
            yield
        finally:
            self.file_backend = backend
            keep = {self.last_ckpt, *self._best_paths()}
            if is_main_process():  # what was written, even if then killed
                self._record(keep)
        if not is_main_process():
            return
        if self.last_ckpt != before:
            write_text(osp.join(runner.work_dir, 'last_checkpoint'),
                       self.last_ckpt)
        self._remove_owned([p for p in pending if p not in keep])

    # ------------------------------------------------- what may be removed
    def _best_paths(self) -> list:
        return [p for p in (getattr(self, 'best_ckpt_path', None),
                            *(getattr(self, 'best_ckpt_path_dict', None)
                              or {}).values()) if p]

    def _own(self, path) -> bool:
        return self._files is not None and bool(self._files.owns(path))

    def _record(self, paths) -> None:
        if self._files is not None:
            self._files.record(paths)

    def _remove_owned(self, paths) -> None:
        if self._files is not None:
            self._files.remove(paths)

    def _adopt_resumed_state(self, runner) -> None:
        """Start or continue the ledger (``run_files.py``), and forget what
        the resumed message hub names that this run did not write. Runs in
        ``before_train``, after the resume; a remote ``out_dir`` keeps no
        ledger and has nothing removed."""
        if '://' in str(self.out_dir):
            return
        hub = runner.message_hub
        source = None
        if runner.cfg.get('resume'):  # mmengine's choice when none is named
            source = runner.cfg.get('load_from') or \
                find_latest_checkpoint(runner.work_dir)
        self._files = RunFiles(self.out_dir, source, is_main_process())
        foreign = []
        if getattr(self, 'best_ckpt_path', None) and \
                not self._own(self.best_ckpt_path):
            foreign.append(self.best_ckpt_path)
            self.best_ckpt_path = None
            hub.pop_info('best_ckpt', None)
            hub.pop_info('best_score', None)
        for key, path in list((getattr(self, 'best_ckpt_path_dict', None)
                               or {}).items()):
            if path and not self._own(path):
                foreign.append(path)
                self.best_ckpt_path_dict[key] = None
                hub.pop_info(f'best_ckpt_{key}', None)
                hub.pop_info(f'best_score_{key}', None)
        if hub.get_info('last_ckpt') and \
                not self._own(hub.get_info('last_ckpt')):
            hub.pop_info('last_ckpt', None)
        if self.max_keep_ckpts > 0:
            kept = [step for step in self.keep_ckpt_ids if self._own(
                osp.join(self.out_dir, self.filename_tmpl.format(step)))]
            self.keep_ckpt_ids = deque(kept, self.max_keep_ckpts)
            hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        if foreign and is_main_process():
            runner.logger.warning(
                f'the resumed checkpoint names best checkpoint(s) {foreign} '
                f'that this run did not write in {self.out_dir}: they are '
                'neither used nor removed; the best checkpoint is chosen '
                'among the epochs trained from here on')

    # ----------------------------------------------------- random states
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # During validation the training streams are parked in _val_rng.
        meta = checkpoint.setdefault('meta', {})
        meta[RNG_KEY] = (self._val_rng if self._val_rng is not None
                         else capture_rng_state(runner))
        meta[VAL_PENDING_KEY] = self._val_due
        # Verified on every load (checkpoint_digest.py).
        meta[CONTENT_HASH_KEY] = content_hashes(checkpoint)

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
        self._loaded_val_pending = isinstance(meta, dict) and \
            meta.get(VAL_PENDING_KEY) is True

    def before_run(self, runner) -> None:
        super().before_run(runner)
        render_config_once(runner.cfg)

    def before_train(self, runner) -> None:
        # mmengine removes the kept checkpoints beyond max_keep_ckpts that
        # the resumed hub lists: only those this run wrote are removed
        # (_adopt_resumed_state), so the hub's list is set aside here.
        kept = runner.message_hub.pop_info('keep_ckpt_ids', None)
        super().before_train(runner)
        if self.max_keep_ckpts > 0 and isinstance(kept, list):
            self.keep_ckpt_ids = deque(kept)
        self._adopt_resumed_state(runner)
        if self.max_keep_ckpts > 0 and isinstance(kept, list) and \
                len(kept) > self.max_keep_ckpts and is_main_process():
            self._remove_owned([
                osp.join(self.out_dir, self.filename_tmpl.format(step))
                for step in kept[:-self.max_keep_ckpts]])
        # Runner.train loads or resumes just before this; restore only on a
        # resume, which alone moves the loop past iteration 0 (load_from
        # starts a new run from its own seed).
        resumed = runner.iter > 0
        if resumed and self._loaded_rng:
            restore_rng_state(runner, self._loaded_rng)
        self._loaded_rng = None
        if resumed and self._loaded_val_pending and self.by_epoch and \
                runner.val_loop is not None:
            # killed during this epoch's validation or best save: validate
            # it now (on saved and restored random states, as always)
            runner.logger.info(f'validating epoch {runner.epoch} again: the'
                               ' run was stopped before its validation '
                               'finished')
            runner.val_loop.run()
        self._loaded_val_pending = False
