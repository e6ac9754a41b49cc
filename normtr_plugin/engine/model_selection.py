"""Which weights a run keeps and tests: the ``model_selection`` switch.

A config (or ``--cfg-options model_selection.by=last``) sets::

    model_selection = dict(
        by='best',     # 'best': the checkpoint with the best validation
                       #   metric (default_hooks.checkpoint.save_best);
                       # 'last': the weights of the last epoch;
                       # 'cv': K-fold cross-validation over train +
                       #   validation picks the epoch count, then one run
                       #   trains on train + validation for that many
                       #   epochs (cv_selection.py)
        folds=5,       # by='cv': K
        group=None,    # by='cv': a data column naming each sample's
                       #   group (folds group-disjoint); default: the
                       #   data's speaker / video_id / group column if any
        group_pattern=None,  # by='cv': or a regular expression on the ids
        ema=False,     # True: validate, save and test an exponential
                       #   moving average of the weights (mmengine's
                       #   EMAHook); a dict adds EMAHook options
        ema_momentum=0.01,  # EMA momentum per iteration: the average
                       #   spans about 1 / ema_momentum iterations
        holdout=None,  # a fraction (e.g. 0.2): when the data has no
                       #   validation split, validate on this part of train
    )

A dataset without the validation split the config names (RML folds: train
and test only) is validated on ``holdout`` of the train split when it is
set (``HeldOutSplit``, seeded, the rest trains); otherwise validation is
switched off and the last epoch is selected. :func:`apply_model_selection`
returns a one-line note saying which, logged by ``NormTRRunner``.
"""
from typing import Optional

from mmengine.config import Config, ConfigDict

from .config_check import ConfigError
from .config_walk import dataset_cfgs
from .data_check import split_names

__all__ = ['BY', 'DEFAULTS', 'DEFAULT_EMA_MOMENTUM', 'apply_model_selection',
           'has_split', 'pool_train_and_validation']

BY = ('best', 'last', 'cv')
#: per-iteration EMA momentum for ``ema=True`` (about 100 iterations)
DEFAULT_EMA_MOMENTUM = 0.01
#: the keys of ``model_selection`` and their defaults
DEFAULTS = dict(by='best', ema=False, ema_momentum=DEFAULT_EMA_MOMENTUM,
                holdout=None, folds=5, group=None, group_pattern=None)


def _ema_hook(ema, momentum: float) -> dict:
    options = dict(ema) if isinstance(ema, dict) else {}
    options.setdefault('momentum', momentum)
    if not 0 < float(options['momentum']) < 1:
        raise ConfigError(f"model_selection.ema_momentum must be in (0, 1), "
                         f"got {options['momentum']!r}")
    return dict(type='EMAHook', ema_type='ExponentialMovingAverage',
                update_buffers=True, priority='NORMAL', **options)


def has_split(cfg: Config, split: str) -> Optional[bool]:
    """Whether every data_root of the val loader has ``split`` (None when
    that cannot be told now: data missing or unreadable)."""
    roots = {ds.get('data_root') for ds in dataset_cfgs(
        cfg.get('val_dataloader'))}
    if not roots or None in roots:
        return None
    try:
        return all(part in split_names(root, cfg) for root in roots
                   for part in split.split('+'))
    except Exception:  # noqa: BLE001 (reported when the data is loaded)
        return None


def _hold_out(cfg: Config, fraction: float) -> None:
    """Train on ``1 - fraction`` of train, validate on the rest."""
    seed = (cfg.get('randomness') or {}).get('seed') or 0
    for name, part in (('train_dataloader', 'train'),
                       ('val_dataloader', 'holdout')):
        inner = ConfigDict(cfg[name].dataset.to_dict())
        inner.split = 'train'
        cfg[name].dataset = ConfigDict(
            type='HeldOutSplit', dataset=inner, fraction=fraction,
            part=part, seed=seed)


def _val_split(cfg: Config) -> Optional[str]:
    """The split the val loader's dataset (through wrappers) reads."""
    leaf = next(dataset_cfgs(cfg.get('val_dataloader')), None)
    return None if leaf is None else leaf.get('split', 'validation')


def pool_train_and_validation(cfg: Config) -> str:
    """The split cross-validation divides into folds:
    ``'train+validation'`` (``'train'`` when the data has no validation
    split)."""
    split = _val_split(cfg)
    if not split or has_split(cfg, split) is False:
        return 'train'
    return f'train+{split}'


def _train_on_pool(cfg: Config) -> str:
    """by='cv', the final run: train on train + validation, no
    validation; returns the pooled split."""
    pool = pool_train_and_validation(cfg)
    for ds in dataset_cfgs(cfg.train_dataloader):
        ds.split = pool
    _no_validation(cfg)
    return pool


def _no_validation(cfg: Config) -> None:
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('checkpoint'):
        hooks.checkpoint.save_best = None


def apply_model_selection(cfg: Config) -> Optional[str]:
    """Apply ``cfg.model_selection`` (see the module docstring); returns a
    note on what was chosen when the data has no validation split."""
    sel = dict(DEFAULTS)
    sel.update(cfg.get('model_selection') or {})
    unknown = set(sel) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f'model_selection takes {", ".join(DEFAULTS)}; '
                         f'got unknown {sorted(unknown)}')
    if sel['by'] not in BY:
        raise ConfigError(f"model_selection.by must be one of {BY}, got "
                         f"{sel['by']!r}")
    holdout = sel['holdout']
    if holdout is not None and not 0 < float(holdout) < 1:
        raise ConfigError(f'model_selection.holdout must be a fraction in '
                         f'(0, 1), got {holdout!r}')
    if sel['by'] == 'cv' and not (isinstance(sel['folds'], int)
                                  and sel['folds'] >= 2):
        raise ConfigError(f"model_selection.folds must be an int >= 2, got "
                         f"{sel['folds']!r}")
    note = None
    val = cfg.get('val_dataloader')
    split = _val_split(cfg)
    if sel['by'] == 'cv':
        pool = _train_on_pool(cfg)
        note = (f"cross-validated: {sel['folds']} folds over '{pool}' chose "
                f"the epoch count; training on '{pool}' for "
                f"{cfg.train_cfg.get('max_epochs')} epochs, testing the "
                'last epoch')
    elif val and has_split(cfg, split) is False:
        if holdout:
            _hold_out(cfg, float(holdout))
            note = (f"the data has no '{split}' split: validating on a "
                    f'held-out {float(holdout):.0%} of train '
                    f"(model_selection.holdout), selecting by {sel['by']}")
        else:
            _no_validation(cfg)
            sel['by'] = 'last'
            note = (f"the data has no '{split}' split: no validation; the "
                    'last epoch is tested (set model_selection.holdout to '
                    'validate on part of train)')
    if sel['by'] != 'best' and cfg.get('default_hooks', {}).get(
            'checkpoint'):
        cfg.default_hooks.checkpoint.save_best = None
    if sel['ema']:
        hooks = [h for h in cfg.get('custom_hooks') or []
                 if h.get('type') != 'EMAHook']
        cfg.custom_hooks = hooks + [_ema_hook(sel['ema'],
                                              sel['ema_momentum'])]
    cfg.model_selection = sel
    return note
