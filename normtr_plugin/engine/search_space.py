"""Hyperparameter search spaces (``tools/tune.py --space FILE``).

A space file is plain data read with ``Config.fromfile``: every top-level
``dict`` is one parameter, named by its variable::

    lr = dict(key='optim_wrapper.optimizer.lr', type='float',
              low=1e-5, high=1e-3, log=True)
    depth = dict(key='model.fusion.depth', type='int', low=1, high=4)
    heads = dict(key='model.fusion.num_heads', type='categorical',
                 choices=[2, 4, 8])
    noise = dict(key='model.noise.probs', type='categorical',
                 choices=dict(even=[1 / 3, 1 / 3, 1 / 3],
                              clean_half=[0.5, 0.25, 0.25]))

``key`` is a config key (``--cfg-options`` spelling) or a list of keys set
to the same value; ``type`` is 'float' (``low``, ``high``, optional
``log`` or ``step``), 'int' (``low``, ``high``, optional ``step``,
``log``) or 'categorical' (``choices``: a list of numbers/strings/bools,
or a dict of named values, the name being what the sampler sees).
``train_cfg.max_epochs`` also moves the end of the learning-rate schedule
(:func:`set_max_epochs`). Nothing in the file is run beyond what
``Config.fromfile`` does with any config.
"""
import os.path as osp
from typing import Dict

from mmengine.config import Config

from .cli import merge_cfg_options
from .config_check import ConfigError

__all__ = ['apply_params', 'load_space', 'set_max_epochs', 'suggest']

_TYPES = {'float': ('low', 'high'), 'int': ('low', 'high'),
          'categorical': ('choices',)}
_OPTIONAL = {'float': ('log', 'step'), 'int': ('log', 'step'),
             'categorical': ()}


def _check(name: str, spec, where: str) -> dict:
    if not isinstance(spec, dict):
        raise ConfigError(f'{where}: parameter {name!r} must be a dict, '
                          f'found {type(spec).__name__}')
    kind = spec.get('type')
    if kind not in _TYPES:
        raise ConfigError(f'{where}: parameter {name!r} has type {kind!r}; '
                          f'expected one of {sorted(_TYPES)}')
    allowed = {'key', 'type', *_TYPES[kind], *_OPTIONAL[kind]}
    missing = [k for k in ('key', *_TYPES[kind]) if k not in spec]
    unknown = sorted(set(spec) - allowed)
    if missing or unknown:
        raise ConfigError(f'{where}: parameter {name!r} ({kind}) needs '
                          f'{sorted(allowed - set(_OPTIONAL[kind]))}; '
                          f'missing {missing}, unknown {unknown}')
    keys = spec['key'] if isinstance(spec['key'], (list, tuple)) \
        else [spec['key']]
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(f'{where}: parameter {name!r}: key must be a '
                          f'config key or a list of them')
    if kind != 'categorical' and not spec['low'] < spec['high']:
        raise ConfigError(f"{where}: parameter {name!r}: low must be below "
                          f"high, got {spec['low']} and {spec['high']}")
    if kind == 'categorical' and not spec['choices']:
        raise ConfigError(f'{where}: parameter {name!r} has no choices')
    return dict(spec, key=list(keys))


def load_space(path: str) -> Dict[str, dict]:
    """The parameters of the space file at ``path`` (checked), by name."""
    if not osp.isfile(path):
        raise ConfigError(f'space file {path!r} not found')
    raw = Config.fromfile(path).to_dict()
    space = {name: _check(name, spec, path) for name, spec in raw.items()
             if not name.startswith('_')}
    if not space:
        raise ConfigError(f'{path}: no parameters (top-level dicts)')
    return space


def suggest(trial, space: Dict[str, dict]) -> dict:
    """One value per parameter from an Optuna ``trial`` (what the sampler
    sees: numbers, or a choice's name for named choices)."""
    out = {}
    for name, spec in space.items():
        kind = spec['type']
        if kind == 'categorical':
            choices = spec['choices']
            names = list(choices) if isinstance(choices, dict) else choices
            out[name] = trial.suggest_categorical(name, names)
        else:
            fn = trial.suggest_float if kind == 'float' else trial.suggest_int
            extra = {k: spec[k] for k in ('log', 'step') if k in spec}
            out[name] = fn(name, spec['low'], spec['high'], **extra)
    return out


def set_max_epochs(cfg: Config, epochs: int) -> None:
    """``train_cfg.max_epochs = epochs``, moving every epoch-based
    scheduler that ended at the old count (its ``end``, and ``T_max`` by
    the same difference) so the schedule still spans the run."""
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = int(epochs)
    if cfg.get('max_epochs') == old:  # the config's variable, kept in step
        cfg.max_epochs = int(epochs)
    schedulers = cfg.get('param_scheduler') or []
    for s in schedulers if isinstance(schedulers, list) else [schedulers]:
        if s.get('by_epoch', True) and s.get('end') == old:
            s.end = int(epochs)
            if 'T_max' in s:
                s.T_max = s.T_max + int(epochs) - old


def apply_params(cfg: Config, space: Dict[str, dict], params: dict) -> dict:
    """Set ``params`` (from :func:`suggest` or a finished trial) in
    ``cfg``; returns the config options set, key -> value."""
    options = {}
    for name, value in params.items():
        spec = space[name]
        choices = spec.get('choices')
        if isinstance(choices, dict):
            value = choices[value]
        for key in spec['key']:
            options[key] = value
    epochs = options.pop('train_cfg.max_epochs', None)
    merge_cfg_options(cfg, options)
    if epochs is not None:
        set_max_epochs(cfg, epochs)
        options['train_cfg.max_epochs'] = epochs
    return options
