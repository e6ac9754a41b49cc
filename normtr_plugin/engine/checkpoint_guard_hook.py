"""Checks on every checkpoint a Runner loads (``load_from``, ``--resume``,
``tools/test.py``), before mmengine uses it.

- **Weights only.** ``before_run`` (which mmengine calls before
  ``load_or_resume``) installs the safe local checkpoint loader
  (``register_checkpoint_loader``: ``torch.load(weights_only=True)`` with a
  narrow allowlist); importing the plugin does not.
- **No stored text is executed.** ``Runner.resume`` passes
  ``checkpoint['meta']['config']`` to ``Config.fromstring``, which runs it
  as Python. mmengine itself never writes that key (it stores
  ``meta['cfg']``, which resume does not read), so the hook drops both:
  the run's config is the one the user passed.
- **Weights must fit.** mmengine loads non-strictly and only logs a warning
  for missing, unexpected or misshapen keys -- a checkpoint of another
  architecture (fusion depth 4 against 2, an ``hf://`` model of other
  sizes) would give metrics of a partly random model. Here that is a
  :class:`CheckpointMismatchError` naming the file and the keys.
"""
import re

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS
from ..utils.errors import InputError

__all__ = ['CheckpointGuardHook', 'CheckpointMismatchError',
           'CONFIG_TEXT_KEYS']

#: ``meta`` entries holding config source text, never to be executed.
CONFIG_TEXT_KEYS = ('config', 'cfg')


class CheckpointMismatchError(InputError):
    """A checkpoint's weights do not fit the model the config builds."""


@HOOKS.register_module()
class CheckpointGuardHook(Hook):
    """Drop config text from loaded checkpoints and refuse weights that do
    not fit the model (see the module docstring)."""

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = True,
                 revise_keys=((r'^module\.', ''),)):
        self.strict = strict
        self.revise_keys = [(re.compile(p), r) for p, r in revise_keys]

    def before_run(self, runner) -> None:
        from .checkpoint_loader import register_checkpoint_loader
        register_checkpoint_loader()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not isinstance(checkpoint, dict):
            return
        meta = checkpoint.get('meta')
        source = 'the checkpoint'
        if isinstance(meta, dict):
            source = repr(meta.get('source') or getattr(
                runner, '_load_from', None) or source)
            for key in CONFIG_TEXT_KEYS:
                meta.pop(key, None)
        if self.strict:
            self._check_weights(runner, checkpoint, source)

    def _check_weights(self, runner, checkpoint: dict, source: str) -> None:
        from ..utils.state_dict import state_dict_problems
        state = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state, dict):
            raise CheckpointMismatchError(
                f'checkpoint {source} holds no state_dict')
        for pattern, repl in self.revise_keys:
            state = {pattern.sub(repl, k): v for k, v in state.items()}
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        problems = state_dict_problems(model.state_dict(), state)
        if problems:
            raise CheckpointMismatchError(
                f'checkpoint {source} does not fit the model built from the '
                f'config (another architecture or other sizes?): '
                + '; '.join(problems))
