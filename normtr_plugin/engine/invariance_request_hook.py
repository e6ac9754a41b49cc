"""Invariance diagnostics only on request (issue 17).

``NormTR.predict`` computes the invariance statistics (D1's and D2's hits,
the NRGF cosines and the noisy second forward pass) only while
``model.compute_invariance`` is True. It is False after building and is not
part of the model's config (``config.json``). This hook turns it on for a
validation or test run whose evaluator lists an ``InvarianceMetric``, and
off again afterwards, so plain inference, robustness passes and
evaluations without that metric never run the adversaries.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..evaluation.invariance_metric import InvarianceMetric
from ..registry import HOOKS

__all__ = ['InvarianceRequestHook', 'asks_for_invariance',
           'set_invariance_request']


def asks_for_invariance(evaluator) -> bool:
    """True when an mmengine ``Evaluator`` (or a list of metrics) holds an
    :class:`InvarianceMetric`."""
    metrics = getattr(evaluator, 'metrics', evaluator) or []
    return any(isinstance(m, InvarianceMetric) for m in metrics)


def set_invariance_request(model, on: bool) -> None:
    """Set ``compute_invariance`` on ``model`` (unwrapping DDP and such)."""
    module = model.module if is_model_wrapper(model) else model
    if hasattr(module, 'compute_invariance'):
        module.compute_invariance = bool(on)


@HOOKS.register_module()
class InvarianceRequestHook(Hook):
    """Switch the model's invariance statistics on for the val/test runs
    whose evaluator has an ``InvarianceMetric`` (module docstring). In
    ``default_hooks`` of ``configs/_base_/default_runtime.py``."""

    priority = 'VERY_HIGH'

    def before_val(self, runner) -> None:
        set_invariance_request(runner.model,
                               asks_for_invariance(runner.val_loop.evaluator))

    def before_test(self, runner) -> None:
        set_invariance_request(runner.model, asks_for_invariance(
            runner.test_loop.evaluator) and not getattr(
                runner.test_loop, 'never_diagnoses', False))

    def after_val(self, runner) -> None:
        set_invariance_request(runner.model, False)

    def after_test(self, runner) -> None:
        set_invariance_request(runner.model, False)
