from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_loader import (load_checkpoint_safely,
                                register_checkpoint_loader)
from .cli import enable_amp, load_config, write_json

# Let Runner.resume / load_from read mmengine checkpoints with
# torch.load(weights_only=True) on torch >= 2.6 (idempotent).
register_checkpoint_loader()

__all__ = ['AutocastOptimWrapper', 'enable_amp', 'load_checkpoint_safely',
           'load_config', 'register_checkpoint_loader', 'write_json']
