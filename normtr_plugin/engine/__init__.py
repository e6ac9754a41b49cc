from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_loader import (load_checkpoint_safely,
                                register_checkpoint_loader)
from .cli import enable_amp, load_config, set_mixed_precision, write_json
from .distributed import launched_distributed, setup_distributed
from .grl_lambda_hook import GRLLambdaHook, dann_lambda

# Let Runner.resume / load_from read mmengine checkpoints with
# torch.load(weights_only=True) on torch >= 2.6 (idempotent).
register_checkpoint_loader()

__all__ = [
    'AutocastOptimWrapper', 'GRLLambdaHook', 'dann_lambda', 'enable_amp',
    'launched_distributed', 'load_checkpoint_safely', 'load_config',
    'register_checkpoint_loader', 'set_mixed_precision', 'setup_distributed',
    'write_json'
]
