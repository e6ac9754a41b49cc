from .atomic_backend import ATOMIC_BACKEND, AtomicLocalBackend
from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_guard_hook import CheckpointGuardHook, CheckpointMismatchError
from .checkpoint_hook import AtomicCheckpointHook
from .checkpoint_loader import (CorruptCheckpointError,
                                load_checkpoint_safely,
                                register_checkpoint_loader)
from .cli import (CfgOptions, add_cfg_options, add_launcher_arguments,
                  add_overwrite_argument,
                  merge_runner_args, parse_runner_args,
                  enable_amp, merge_cfg_options,
                  read_metrics, set_mixed_precision, write_json,
                  write_metrics)
from .config_check import ConfigError, check_lengths
from .cv_selection import (EpochMetricsHook, apply_cv_result, choose_epoch,
                           cross_validate, cv_metrics, fold_config,
                           select_by_cv, selection_metric)
from .cv_selection import describe as describe_cv
from .data_check import DataRootError, check_data_root
from .distributed import launched_distributed, setup_distributed
from .grl_lambda_hook import GRLLambdaHook, dann_lambda
from .invariance_request_hook import InvarianceRequestHook
from .non_finite_hook import NonFiniteHook
from .model_selection import apply_model_selection
from .propagate import infer_from_data, propagate
from .runner import (NormTRRunner, build_runner, default_work_dir,
                     prepare_config)
from .resume import ResumeError, newest_readable_checkpoint, resolve_resume
from .tool_run import read_tool_config, report_test_metrics, start_runner
from .trial_pruning_hook import TrialPruningHook
from .rng_state import capture_rng_state, restore_rng_state
from .robustness_loop import RobustnessTestLoop
from .run_identity import (ResumeMismatchError, RunIdentityHook,
                           check_resume, run_identity)

# Importing this package changes nothing process-wide: the safe local
# checkpoint loader is installed by register_checkpoint_loader(), which the
# tools and CheckpointGuardHook.before_run call explicitly.

__all__ = [
    'CorruptCheckpointError',
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'CfgOptions', 'add_cfg_options', 'add_launcher_arguments',
    'add_overwrite_argument',
    'merge_runner_args', 'parse_runner_args',
    'ConfigError', 'EpochMetricsHook', 'apply_cv_result', 'choose_epoch',
    'cross_validate', 'cv_metrics', 'describe_cv', 'fold_config',
    'select_by_cv', 'selection_metric', 'read_tool_config', 'report_test_metrics',
    'start_runner', 'NormTRRunner', 'build_runner',
    'check_lengths', 'merge_cfg_options', 'prepare_config',
    'read_metrics',
    'write_metrics',
    'AutocastOptimWrapper', 'CheckpointGuardHook', 'CheckpointMismatchError',
    'DataRootError', 'GRLLambdaHook', 'InvarianceRequestHook', 'NonFiniteHook', 'ResumeError', 'ResumeMismatchError',
    'RobustnessTestLoop', 'TrialPruningHook',
    'RunIdentityHook', 'apply_model_selection', 'capture_rng_state',
    'check_data_root', 'check_resume', 'dann_lambda', 'default_work_dir', 'enable_amp',
    'infer_from_data', 'launched_distributed', 'load_checkpoint_safely',
    'newest_readable_checkpoint', 'propagate',
    'register_checkpoint_loader', 'resolve_resume', 'restore_rng_state',
    'run_identity', 'set_mixed_precision', 'setup_distributed', 'write_json'
]
