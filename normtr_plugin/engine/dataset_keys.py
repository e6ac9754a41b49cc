"""Checks of the top-level keys a dataset config states (``task``,
``label_columns``, the helper dicts), after ``propagate`` sent them
where they are used (``propagate.py`` docstring): what cannot all hold
is refused by name.
"""
from typing import Optional

from mmengine.config import Config

from .config_check import ConfigError
from .config_walk import DATALOADERS, LABEL_KEYS, dataset_cfgs

__all__ = ['FILE_ONLY_KEYS', 'check_dataset_keys', 'check_file_only_keys',
           'differs', 'head_class_of', 'plain']

#: helper keys a config file reads while it loads; changing them later
#: reaches nothing
FILE_ONLY_KEYS = ('common', '_loader')


def plain(value):
    """A ``ConfigDict`` as a plain dict (other values as they are)."""
    return value.to_dict() if hasattr(value, 'to_dict') else value


def differs(cfg, reference: Optional[Config], key: str) -> bool:
    """Whether ``cfg[key]`` was changed from the config file's value."""
    return reference is not None and key in reference and \
        plain(cfg.get(key)) != plain(reference.get(key))


def head_class_of(head):
    """The registered head class of a ``model.head`` config, or None."""
    from ..registry import head_class
    from ..utils.errors import InputError
    try:
        return head_class(str(head.get('type')))
    except InputError:
        return None  # not one of this project's heads


def check_file_only_keys(cfg: Config, reference: Optional[Config]) -> None:
    """Refuse a change to a key only the config file reads (``common``)."""
    for key in FILE_ONLY_KEYS:
        if differs(cfg, reference, key):
            raise ConfigError(
                f'{key!r} is read only while the config file loads (it '
                "fills the dataloaders' datasets), so changing it reaches "
                'nothing: set the top-level key instead (e.g. '
                'label_columns=..., task=..., data_root=...) or '
                'train_dataloader.dataset.KEY')


def check_dataset_keys(cfg: Config) -> None:
    """Refuse label settings that cannot all hold: a ``task`` the head is
    not for, several label columns for a one-column head, an output
    count other than ``len(label_columns)``, datasets that disagree with
    the top-level ``task``/``label_columns``."""
    for key in LABEL_KEYS:
        if key not in cfg:
            continue
        for name in DATALOADERS:
            for ds in dataset_cfgs(cfg.get(name)):
                if key in ds and plain(ds[key]) != plain(cfg[key]):
                    raise ConfigError(
                        f'{name}.dataset.{key} {plain(ds[key])!r} differs '
                        f'from {key} {plain(cfg[key])!r}: set the '
                        f'top-level {key} (it reaches every dataset)')
    head = (cfg.get('model') or {}).get('head')
    cls = head_class_of(head) if isinstance(head, dict) else None
    if cls is None:
        return
    task = cfg.get('task')
    if task is not None and task != cls.task:
        raise ConfigError(
            f'task {task!r} does not fit model.head {cls.__name__} (a '
            f"{cls.task!r} head): set model.head.type (and the "
            f'evaluators) for {task!r} too, or use a config of that task')
    columns = cfg.get('label_columns')
    if columns is None:
        return
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)) \
            or not columns:
        raise ConfigError(f'label_columns must be a non-empty list of '
                          f'column names, found {plain(columns)!r}')
    if cls.single_column and len(columns) != 1:
        raise ConfigError(
            f'label_columns {list(columns)} has {len(columns)} columns but '
            f'model.head {cls.__name__} takes one label column')
    key = cls.outputs_key
    if key and head.get(key) is not None and head[key] != len(columns):
        raise ConfigError(
            f'model.head.{key}={head[key]} but label_columns has '
            f'{len(columns)} columns {list(columns)}')
