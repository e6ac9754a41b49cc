"""Top-level config keys that reach everything: ``data_root``,
``modalities``, ``seq_len``, ``task``, ``label_columns`` and the
pipelines.

Every shipped config states them in each place that reads them (plain
mmengine: ``Config.fromfile`` + ``MODELS.build``/``DATASETS.build`` need
nothing from here). ``NormTRRunner`` calls :func:`propagate` so that a
top-level value changed later (``--cfg-options data_root=DIR``,
``seq_len.audio=375``, ``modalities.text=300``) reaches the model, the
datasets of the three dataloaders (through wrappers) and every transform
with a ``seq_len``. A place whose value was itself changed from what the
config file holds (``--cfg-options test_dataloader.dataset.data_root=DIR``)
keeps it.

Every other top-level key a dataset config states either reaches its
users the same way or is refused by name (:func:`check_dataset_keys`):

- ``task``, ``label_columns``: every dataset that states them; the head's
  output count (``num_tasks``/``num_labels``, the head's ``outputs_key``)
  follows ``len(label_columns)``; a ``task`` the head (``model.head``) is
  not for, several label columns for a one-column head, or datasets that
  disagree are refused.
- ``train_pipeline``/``val_pipeline``/``test_pipeline``: the datasets whose
  pipeline was a copy of it in the config file.
- ``common`` and ``_loader`` (helper dicts the file spreads into the
  datasets and dataloaders) are read only while the file loads: changing
  them is refused.
- ``data_source`` (the error message's hint), the dataloaders and the
  evaluators are read where they are.

A dim left ``None`` (``modalities = dict(audio=None, video=None)``) or
``seq_len = None`` is read from the data's metadata (:func:`infer_from_data`):
the feature dim of each modality column, and as T the shortest of the
modalities' longest valid lengths in the train split.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config

import copy

from .config_walk import (DATALOADERS, LABEL_KEYS, PIPELINE_LOADERS,
                          PIPELINES, TOP_KEYS, dataset_cfgs)
from .data_check import check_data_root, read_splits

__all__ = ['check_dataset_keys', 'infer_from_data', 'propagate']

#: helper keys a config file reads while it loads; changing them later
#: reaches nothing
FILE_ONLY_KEYS = ('common', '_loader')

_MISSING = object()


def _places(cfg: Config):
    """``(holder, key)`` for every place a top-level key reaches."""
    for name in DATALOADERS:
        for ds in dataset_cfgs(cfg.get(name)):
            yield 'data_root', ds, 'data_root'
            yield 'modalities', ds, 'modalities'
            for key in LABEL_KEYS:
                if key in ds:
                    yield key, ds, key
            for t in ds.get('pipeline') or ():
                if isinstance(t, dict) and 'seq_len' in t:
                    yield 'seq_len', t, 'seq_len'
    for name in PIPELINES:
        for t in cfg.get(name) or () if isinstance(cfg.get(name), list) \
                else ():
            if isinstance(t, dict) and 'seq_len' in t:
                yield 'seq_len', t, 'seq_len'
    model = cfg.get('model')
    if isinstance(model, dict) and model.get('type') == 'NormTR':
        yield 'modalities', model, 'modalities'
        yield 'seq_len', model, 'seq_len'


def _plain(value):
    return value.to_dict() if hasattr(value, 'to_dict') else value


def _file_config(cfg: Config) -> Optional[Config]:
    name = getattr(cfg, 'filename', None)
    return Config.fromfile(name) if name and osp.isfile(name) else None


def _differs(cfg, reference, key) -> bool:
    return reference is not None and key in reference and \
        _plain(cfg.get(key)) != _plain(reference.get(key))


def _pipelines(cfg: Config, reference: Optional[Config]) -> None:
    """A top-level pipeline changed from the file reaches the datasets
    whose pipeline was a copy of it there (and is not changed itself)."""
    for top, loaders in PIPELINE_LOADERS.items():
        if not _differs(cfg, reference, top):
            continue
        for name in loaders:
            mine = list(dataset_cfgs(cfg.get(name)))
            theirs = list(dataset_cfgs(reference.get(name)))
            if len(mine) != len(theirs):
                continue
            for ds, orig in zip(mine, theirs):
                if _plain(orig.get('pipeline')) == _plain(reference[top]) \
                        and _plain(ds.get('pipeline')) == \
                        _plain(orig.get('pipeline')):
                    ds['pipeline'] = copy.deepcopy(_plain(cfg[top]))


def _head_outputs(cfg: Config, reference: Optional[Config]) -> None:
    """``label_columns`` sets the head's output count (its
    ``outputs_key``) unless that count was itself changed."""
    head = (cfg.get('model') or {}).get('head')
    if not isinstance(head, dict) or 'label_columns' not in cfg:
        return
    key = getattr(_head_class(head), 'outputs_key', None)
    if not key:
        return
    orig = ((reference or {}).get('model') or {}).get('head') or {}
    if key in head and key in orig and head[key] != orig[key]:
        return  # set on its own: checked by check_dataset_keys
    head[key] = len(cfg.label_columns)


def _head_class(head):
    from ..registry import head_class
    from ..utils.errors import InputError
    try:
        return head_class(str(head.get('type')))
    except InputError:
        return None  # not one of this project's heads


def propagate(cfg: Config) -> None:
    """Write ``cfg.data_root``/``modalities``/``seq_len``/``task``/
    ``label_columns`` and the pipelines into every place (see the module
    docstring); fills ``None`` dims and T from the data first."""
    if not any(k in cfg for k in TOP_KEYS + LABEL_KEYS):
        return
    reference = _file_config(cfg)
    check_file_only_keys(cfg, reference)
    _pipelines(cfg, reference)
    infer_from_data(cfg)
    kept = [] if reference is None else [
        (holder.get(key, _MISSING)) for _, holder, key in _places(reference)]
    places = list(_places(cfg))
    if len(kept) != len(places):  # structure changed: everything follows
        kept = [_MISSING] * len(places)
    for (top, holder, key), original in zip(places, kept):
        if top not in cfg:
            continue
        mine = holder.get(key, _MISSING)
        if original is not _MISSING and _plain(mine) != _plain(original):
            continue  # set on its own (a nested --cfg-options): it wins
        value = _plain(cfg[top])
        holder[key] = copy.deepcopy(value)
    _head_outputs(cfg, reference)


def check_file_only_keys(cfg: Config, reference: Optional[Config]) -> None:
    """Refuse a change to a key only the config file reads (``common``)."""
    from .config_check import ConfigError
    for key in FILE_ONLY_KEYS:
        if _differs(cfg, reference, key):
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
    from .config_check import ConfigError
    for key in LABEL_KEYS:
        if key not in cfg:
            continue
        for name in DATALOADERS:
            for ds in dataset_cfgs(cfg.get(name)):
                if key in ds and _plain(ds[key]) != _plain(cfg[key]):
                    raise ConfigError(
                        f'{name}.dataset.{key} {_plain(ds[key])!r} differs '
                        f'from {key} {_plain(cfg[key])!r}: set the '
                        f'top-level {key} (it reaches every dataset)')
    head = (cfg.get('model') or {}).get('head')
    cls = _head_class(head) if isinstance(head, dict) else None
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
                          f'column names, found {_plain(columns)!r}')
    if cls.single_column and len(columns) != 1:
        raise ConfigError(
            f'label_columns {list(columns)} has {len(columns)} columns but '
            f'model.head {cls.__name__} takes one label column')
    key = cls.outputs_key
    if key and head.get(key) is not None and head[key] != len(columns):
        raise ConfigError(
            f'model.head.{key}={head[key]} but label_columns has '
            f'{len(columns)} columns {list(columns)}')


def _unknown(cfg: Config) -> tuple:
    mods = cfg.get('modalities')
    dims = [m for m, d in (mods or {}).items() if d is None]
    return dims, 'seq_len' in cfg and cfg.seq_len is None


def infer_from_data(cfg: Config) -> Optional[dict]:
    """Fill ``None`` modality dims and a ``None`` ``seq_len`` from the data
    at ``cfg.data_root`` (train split); returns what was filled in."""
    dims, need_T = _unknown(cfg)
    if not dims and not need_T:
        return None
    from ..datasets.frame_column import FrameColumn
    from .config_check import ConfigError
    root = cfg.get('data_root')
    what = ', '.join([f'modalities.{m}' for m in dims] +
                     (['seq_len'] if need_T else []))
    if root is None:
        raise ConfigError(f'{what} is left None in the config, to be read '
                          'from the data, but the config sets no data_root')
    check_data_root(cfg, reason=f'{what} is left None in the config and '
                    'is read from the data', roots=[str(root)])
    splits = read_splits(root, cfg)
    split = 'train' if 'train' in splits else next(iter(splits))
    table = splits[split]
    filled = {}
    for m in cfg.modalities:
        if m not in table.column_names:
            raise KeyError(f"modality '{m}' is configured but split "
                           f"'{split}' of {root} has no column '{m}'; "
                           f'found {table.column_names}')
    for m in dims:
        shape = getattr(table.features[m], 'shape', None)
        if not shape or len(shape) != 2:
            raise TypeError(f"column '{m}' of split '{split}' of {root} is "
                            f'not an Array2D feature column: '
                            f'{table.features[m]}')
        cfg.modalities[m] = filled[f'modalities.{m}'] = int(shape[1])
    if need_T:
        longest = []
        for m, dim in cfg.modalities.items():
            column = FrameColumn(table.data.column(m), dim,
                                 f"modality '{m}' of {root}")
            longest.append(int(column.lengths.max(initial=0)))
        cfg.seq_len = filled['seq_len'] = max(1, min(longest))
    return filled
