"""DANN's schedule of the gradient reversal factor (Ganin & Lempitsky 2015,
section 5.2.2): ``lambda_p = 2 / (1 + exp(-gamma p)) - 1``, p the training
progress, from 0 at the first iteration to 1 at the last."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS
from ..utils.errors import InputError


def dann_lambda(progress: float, gamma: float = 10.0) -> float:
    """``2 / (1 + exp(-gamma p)) - 1`` for p in [0, 1]: 0 at p = 0, about
    0.987 at p = 0.5 with gamma = 10, towards 1 at the end."""
    if not 0.0 <= progress <= 1.0:
        raise InputError(f'training progress must be in [0, 1], got '
                         f'{progress}')
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


@HOOKS.register_module()
class GRLLambdaHook(Hook):
    """Set ``model.grl_lambda`` before every training iteration to
    ``max_lambda * dann_lambda(iter / max_iters, gamma)``.

    Args:
        gamma: the schedule's steepness (DANN: 10).
        max_lambda: the factor reached at the end; None (default) takes the
            model's configured ``grl_lambda``.

    The factor is a Python float set on the model from the runner's
    iteration counter (no device work; resuming recomputes it), and is
    logged as ``grl_lambda``. Config: ``custom_hooks =
    [dict(type='GRLLambdaHook')]``.
    """
    priority = 'NORMAL'

    def __init__(self, gamma: float = 10.0, max_lambda: float = None):
        if gamma <= 0:
            raise InputError(f'gamma must be > 0, got {gamma}')
        self.gamma = float(gamma)
        self.max_lambda = None if max_lambda is None else float(max_lambda)

    @staticmethod
    def _model(runner):
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        if not hasattr(model, 'grl_lambda'):
            raise AttributeError(f'GRLLambdaHook needs a model with a '
                                 f'grl_lambda; {type(model).__name__} has '
                                 'none')
        return model

    def before_train(self, runner) -> None:
        if self.max_lambda is None:
            self.max_lambda = float(self._model(runner).grl_lambda)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        progress = min(runner.iter / max(runner.max_iters, 1), 1.0)
        value = self.max_lambda * dann_lambda(progress, self.gamma)
        self._model(runner).grl_lambda = value
        runner.message_hub.update_scalar('train/grl_lambda', value)
