"""Optuna pruning inside mmengine's loops (``tools/tune.py``)."""
from mmengine.hooks import Hook

__all__ = ['TrialPruningHook']


class TrialPruningHook(Hook):
    """Reports the validation ``metric`` of every epoch to an Optuna
    ``trial`` (``trial.report(value, step)``, step = ``step_offset`` +
    epoch) and, when ``trial.should_prune()``, stops the run cleanly:
    mmengine's train loop ends after this epoch (``stop_training``, as
    its EarlyStoppingHook does) and ``pruned`` is set for the caller,
    which then raises ``optuna.TrialPruned``.

    No Optuna import here: any object with ``report`` and
    ``should_prune`` serves.
    """

    priority = 'LOW'

    def __init__(self, trial, metric: str, step_offset: int = 0):
        self.trial, self.metric = trial, metric
        self.step_offset = step_offset
        self.pruned = False

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not metrics or self.metric not in metrics:
            return
        self.trial.report(float(metrics[self.metric]),
                          self.step_offset + runner.epoch)
        if self.trial.should_prune():
            self.pruned = True
            runner.train_loop.stop_training = True
