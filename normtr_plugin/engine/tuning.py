"""One hyperparameter-search trial, run with mmengine's Runner
(``tools/tune.py``).

The trial's value is the config's selection metric on validation
(``default_hooks.checkpoint.save_best``): its best epoch for a plain run,
or the cross-validated mean at the chosen epoch with
``model_selection.by='cv'``. Nothing is tested: the test split stays
unseen until the best config is trained (``tools/train.py``). Each epoch's
validation metric goes to the trial (:class:`TrialPruningHook`) so a
pruner can stop a poor trial early.
"""
import copy
import os.path as osp
import uuid
from typing import Optional, Tuple

from mmengine.config import Config

from .cv_selection import (EpochMetricsHook, choose_epoch, cross_validate,
                           selection_metric)
from .runner import NormTRRunner
from .trial_pruning_hook import TrialPruningHook

__all__ = ['run_trial', 'trial_config', 'trial_work_dir']


def trial_config(cfg: Config, work_dir: str) -> Config:
    """``cfg`` for a trial run in ``work_dir``: no test, and checkpoints
    kept only as long as the run needs them (none saved)."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'trial_{uuid.uuid4().hex[:8]}'
    cfg.resume, cfg.load_from = False, None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cv = (cfg.get('model_selection') or {}).get('by') == 'cv'
    if cfg.get('default_hooks', {}).get('checkpoint') and not cv:
        # (cross_validate's folds save none either)
        cfg.default_hooks.checkpoint.update(interval=-1, save_last=False,
                                            save_best=None)
    return cfg


def run_trial(cfg: Config, trial, work_dir: str,
              logger=print) -> Optional[Tuple[float, int]]:
    """Train ``cfg`` in ``work_dir`` for ``trial``; returns ``(value,
    epoch)`` (the epoch the value belongs to), or None when the trial was
    pruned."""
    metric, rule = selection_metric(cfg)
    cfg = trial_config(cfg, work_dir)
    epochs = cfg.train_cfg.max_epochs
    if (cfg.get('model_selection') or {}).get('by') == 'cv':
        result = cross_validate(
            cfg, work_dir, logger=logger, fold_hooks=lambda fold: [
                TrialPruningHook(trial, metric, fold * epochs)])
        return None if result is None else (result['mean'], result['epoch'])
    runner = NormTRRunner.from_cfg(cfg)
    recorder, pruning = EpochMetricsHook(), TrialPruningHook(trial, metric)
    runner.register_hook(recorder)
    runner.register_hook(pruning)
    runner.train()
    if pruning.pruned:
        return None
    best = choose_epoch([recorder.history], metric, rule)
    return best['mean'], best['epoch']


def trial_work_dir(work_dir: str, number: int) -> str:
    """``work_dir/trial_<number>``."""
    return osp.join(work_dir, f'trial_{number}')
