"""Cross-validated model selection: ``model_selection=dict(by='cv',
folds=K)``, for data whose validation split is too small to pick a
checkpoint on.

:func:`cross_validate` pools train and validation (``'train+validation'``,
one ``MultimodalFeatureDataset``) and runs the config once per fold, with
mmengine's Runner and loops as they are: the fold's ``KFoldSplit`` part
``'train'`` trains (train pipeline), part ``'holdout'`` validates every
epoch (test pipeline). Folds are group-disjoint when the data has groups
and stratified for single-label classification (``datasets/
kfold_split.py``). The epoch count whose validation metric (the config's
``default_hooks.checkpoint.save_best``), averaged over folds, is best is
chosen; :func:`apply_cv_result` sets it as ``train_cfg.max_epochs`` and the
final run (``NormTRRunner``, ``model_selection.apply_model_selection``)
trains on train + validation for that many epochs with the same schedule,
without validation, and tests its last epoch once.

The result (``WORK_DIR/cv_selection.json``) records the metric per fold
and epoch, the chosen epoch and the spread over folds at that epoch
(mean, sample std).
"""
import copy
import json
import os.path as osp
import uuid
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook

from ..utils import atomic
from .config_check import ConfigError
from .config_walk import dataset_cfgs
from .runner import NormTRRunner, prepare_config

__all__ = ['CV_FILE', 'EpochMetricsHook', 'apply_cv_result', 'choose_epoch',
           'cross_validate', 'cv_metrics', 'describe', 'fold_config',
           'read_cv_result', 'select_by_cv', 'selection_metric']

CV_FILE = 'cv_selection.json'
_LESS = ('mae', 'mse', 'rmse', 'loss', 'error', 'eer')


def selection_metric(cfg: Config) -> Tuple[str, str]:
    """``(metric, rule)`` of ``default_hooks.checkpoint.save_best``; rule
    'greater' or 'less' (from ``rule``, else from the name: MAE, loss...
    are 'less')."""
    ckpt = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    key, rule = ckpt.get('save_best'), ckpt.get('rule')
    if not isinstance(key, str) or key == 'auto':
        raise ConfigError(f'selection needs one named metric in '
                          f'default_hooks.checkpoint.save_best, found '
                          f'{key!r} (e.g. save_best=\'MAE\', rule=\'less\')')
    if rule is None:
        rule = 'less' if any(w in key.lower() for w in _LESS) else 'greater'
    if rule not in ('greater', 'less'):
        raise ConfigError(f"default_hooks.checkpoint.rule must be 'greater' "
                          f"or 'less', got {rule!r}")
    return key, rule


class EpochMetricsHook(Hook):
    """Keeps the validation metrics of every epoch: ``history`` is a list
    of ``(epoch, metrics)``."""

    priority = 'LOWEST'

    def __init__(self):
        self.history: List[Tuple[int, Dict[str, float]]] = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics:
            self.history.append((runner.epoch, {
                k: float(v) for k, v in metrics.items()
                if np.ndim(v) == 0}))


def fold_config(cfg: Config, fold: int, work_dir: str,
                pool: str = 'train+validation') -> Config:
    """The config of fold ``fold`` (``cfg``: the user's, before
    ``prepare_config``; ``pool``: the split the folds divide): trains on the fold's ``KFoldSplit`` part 'train',
    validates on part 'holdout' every epoch, never tests, saves no
    checkpoint."""
    cfg = copy.deepcopy(cfg)
    sel = dict(cfg.get('model_selection') or {})
    seed = (cfg.get('randomness') or {}).get('seed') or 0
    for name, part in (('train_dataloader', 'train'),
                       ('val_dataloader', 'holdout')):
        inner = ConfigDict(cfg[name].dataset.to_dict())
        for ds in dataset_cfgs(dict(dataset=inner)):
            ds.split = pool
        cfg[name].dataset = ConfigDict(
            type='KFoldSplit', dataset=inner, folds=sel.get('folds', 5),
            fold=fold, part=part, seed=seed, group=sel.get('group'),
            group_pattern=sel.get('group_pattern'))
    cfg.train_cfg.val_interval = 1
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.model_selection = dict(by='last', ema=sel.get('ema', False),
                               ema_momentum=sel.get('ema_momentum', 0.01))
    if cfg.get('default_hooks', {}).get('checkpoint'):
        cfg.default_hooks.checkpoint.update(
            interval=-1, save_last=False, save_best=None)
    cfg.work_dir = osp.join(work_dir, f'fold_{fold}')
    cfg.resume, cfg.load_from = False, None
    cfg.experiment_name = f'cv_fold{fold}_{uuid.uuid4().hex[:8]}'
    return cfg


def choose_epoch(histories: Sequence[Sequence[Tuple[int, dict]]],
                 metric: str, rule: str) -> dict:
    """The epoch whose metric, averaged over the folds that validated it,
    is best (the earliest on ties); its mean and sample std over folds."""
    per_epoch: Dict[int, List[float]] = {}
    for history in histories:
        for epoch, metrics in history:
            if metric not in metrics:
                raise ConfigError(f'validation gave no {metric!r} (the '
                                  f'selection metric); it gave '
                                  f'{sorted(metrics)}')
            per_epoch.setdefault(epoch, []).append(metrics[metric])
    full = {e: v for e, v in per_epoch.items() if len(v) == len(histories)}
    if not full:
        raise ConfigError('no epoch was validated in every fold')
    means = {e: float(np.mean(v)) for e, v in sorted(full.items())}
    sign = -1.0 if rule == 'greater' else 1.0
    epoch = min(means, key=lambda e: (sign * means[e], e))
    values = np.asarray(full[epoch], np.float64)
    return dict(metric=metric, rule=rule, epoch=int(epoch),
                mean=means[epoch],
                std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                folds=values.tolist(), mean_per_epoch=means)


def cross_validate(cfg: Config, work_dir: Optional[str] = None,
                   fold_hooks: Optional[Callable[[int], list]] = None,
                   logger=print) -> Optional[dict]:
    """Run the K folds of ``cfg`` (``model_selection.by='cv'``) and choose
    the epoch count (:func:`choose_epoch`); writes ``work_dir/
    cv_selection.json`` (``work_dir``: the run's, the folds go to
    ``work_dir/cv/fold_i``) and returns the result. ``fold_hooks(i)`` gives
    extra hooks for fold i's Runner; one whose ``pruned`` is set after the
    fold (``TrialPruningHook``) ends the cross-validation: the result is
    then None."""
    sel = cfg.get('model_selection') or {}
    if sel.get('by') != 'cv':
        raise ConfigError("cross_validate needs model_selection.by='cv'")
    metric, rule = selection_metric(cfg)
    prepared = copy.deepcopy(cfg)
    prepare_config(prepared)  # what the final run will train on
    work_dir = work_dir or prepared.work_dir
    pool = next(dataset_cfgs(prepared.train_dataloader)).split
    histories = []
    for fold in range(prepared.model_selection.folds):
        runner = NormTRRunner.from_cfg(fold_config(
            cfg, fold, osp.join(work_dir, 'cv'), pool))
        recorder = EpochMetricsHook()
        extra = fold_hooks(fold) if fold_hooks else []
        for hook in [recorder, *extra]:
            runner.register_hook(hook)
        runner.train()
        if any(getattr(hook, 'pruned', False) for hook in extra):
            return None
        histories.append(recorder.history)
        logger(f"cv fold {fold}: {metric} per epoch " + ' '.join(
            f'{e}:{m[metric]:.4g}' for e, m in recorder.history))
    result = choose_epoch(histories, metric, rule)
    result.update(folds_k=len(histories), histories=[
        [dict(epoch=e, **m) for e, m in h] for h in histories])
    atomic.write_json(osp.join(work_dir, CV_FILE), result)
    logger(describe(result))
    return result


def describe(result: dict) -> str:
    """One log line: the chosen epoch and the spread over folds."""
    return (f"cross-validation ({result['folds_k']} folds): epoch "
            f"{result['epoch']} is best, {result['metric']} "
            f"{result['mean']:.4g} ± {result['std']:.4g} over folds")


def read_cv_result(work_dir: str) -> dict:
    """The result :func:`cross_validate` wrote in ``work_dir``."""
    path = osp.join(work_dir, CV_FILE)
    if not osp.isfile(path):
        raise ConfigError(f'{path!r} not found: run the cross-validation '
                          f'(tools/train.py without --resume) first')
    with open(path) as f:
        return json.load(f)


def apply_cv_result(cfg: Config, result: dict) -> None:
    """The final run trains for the chosen number of epochs."""
    cfg.train_cfg.max_epochs = int(result['epoch'])


def cv_metrics(result: dict) -> Dict[str, float]:
    """Flat metrics-file entries: ``cv_epoch``, ``cv_<metric>_mean``,
    ``cv_<metric>_std``."""
    m = result['metric']
    return {'cv_epoch': result['epoch'], f'cv_{m}_mean': result['mean'],
            f'cv_{m}_std': result['std']}


def select_by_cv(cfg: Config, resume: bool = False) -> Optional[dict]:
    """``tools/train.py``'s step before the run: with ``by='cv'``, run
    :func:`cross_validate` (or read its result when resuming) and set the
    chosen epoch count in ``cfg``; None for the other rules."""
    if (cfg.get('model_selection') or {}).get('by') != 'cv':
        return None
    if resume:
        prepared = copy.deepcopy(cfg)
        prepare_config(prepared)
        result = read_cv_result(prepared.work_dir)
    else:
        result = cross_validate(cfg)
    apply_cv_result(cfg, result)
    return result
