from .atomic_backend import ATOMIC_BACKEND, AtomicLocalBackend
from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_guard_hook import CheckpointGuardHook, CheckpointMismatchError
from .checkpoint_hook import AtomicCheckpointHook
from .checkpoint_loader import (load_checkpoint_safely,
                                register_checkpoint_loader)
from .cli import enable_amp, load_config, set_mixed_precision, write_json
from .distributed import launched_distributed, setup_distributed
from .non_finite_hook import NonFiniteHook
from .resume import ResumeError, newest_readable_checkpoint, resolve_resume
from .rng_state import capture_rng_state, restore_rng_state
from .robustness_loop import RobustnessTestLoop

# Importing this package changes nothing process-wide: the safe local
# checkpoint loader is installed by register_checkpoint_loader(), which the
# tools and CheckpointGuardHook.before_run call explicitly.

__all__ = [
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'AutocastOptimWrapper', 'CheckpointGuardHook', 'CheckpointMismatchError',
    'NonFiniteHook', 'ResumeError', 'RobustnessTestLoop',
    'capture_rng_state', 'enable_amp',
    'launched_distributed', 'load_checkpoint_safely', 'load_config',
    'newest_readable_checkpoint', 'register_checkpoint_loader',
    'resolve_resume', 'restore_rng_state', 'set_mixed_precision',
    'setup_distributed', 'write_json'
]
