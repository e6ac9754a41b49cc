"""Stop at the first NaN/Inf: a loss in training, a metric in evaluation.

Without it a NaN in ``feature_stats.json`` or features that overflow
(finite values of 3e38) train on to ``loss: nan`` and a run that exits 0
with ``{"MAE": NaN}``. The check adds no device synchronisation: mmengine's
``RuntimeInfoHook`` (priority VERY_HIGH) has already turned every logged
value of the iteration into a Python float in the message hub; this hook
(HIGH, right after it) reads those floats.
"""
import math

from mmengine.hooks import Hook

from ..registry import HOOKS
from ..utils import NonFiniteError, non_finite_paths

__all__ = ['NonFiniteHook']

HINT = ('usual causes: NaN/Inf or huge feature values (overflow, e.g. 3e38),'
        ' damaged feature_stats.json, a learning rate that is too high')


@HOOKS.register_module()
class NonFiniteHook(Hook):
    """Raise :class:`~normtr_plugin.utils.NonFiniteError` at the first
    non-finite training loss (naming the iteration and the loss terms) or
    validation/test metric."""

    priority = 'HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not outputs:
            return
        hub = runner.message_hub
        values = {}
        for key in outputs:
            buffer = hub.log_scalars.get(f'train/{key}')
            values[key] = buffer.current() if buffer is not None else \
                float(outputs[key])
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if not bad:
            return
        terms = [k for k in bad if k != 'loss'] or bad
        raise NonFiniteError(
            f'training stopped: non-finite loss at iteration '
            f'{runner.iter + 1} (epoch {runner.epoch + 1}, batch '
            f'{batch_idx + 1}): '
            + ', '.join(f'{k}={values[k]}' for k in terms)
            + ' (all terms: ' + ', '.join(
                f'{k}={v:.6g}' for k, v in values.items()) + f'); {HINT}. '
            'The weights of this iteration are not saved.')

    def _check_metrics(self, runner, metrics, stage: str) -> None:
        bad = non_finite_paths(dict(metrics or {}))
        if bad:
            raise NonFiniteError(
                f'{stage} metrics are not finite: {", ".join(bad)}; they '
                f'are not reported as results ({HINT})')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._check_metrics(runner, metrics, 'validation')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._check_metrics(runner, metrics, 'test')
