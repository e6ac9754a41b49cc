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
users the same way or is refused by name (``dataset_keys.py``):

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
import copy
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config_walk import (DATALOADERS, LABEL_KEYS, PIPELINE_LOADERS,
                          PIPELINES, TOP_KEYS, dataset_cfgs)
from .data_check import check_data_root, read_splits
from .dataset_keys import check_file_only_keys, differs, head_class_of
from .dataset_keys import plain as _plain

__all__ = ['infer_from_data', 'propagate']


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


def _file_config(cfg: Config) -> Optional[Config]:
    name = getattr(cfg, 'filename', None)
    return Config.fromfile(name) if name and osp.isfile(name) else None


def _pipelines(cfg: Config, reference: Optional[Config]) -> None:
    """A top-level pipeline changed from the file reaches the datasets
    whose pipeline was a copy of it there (and is not changed itself)."""
    for top, loaders in PIPELINE_LOADERS.items():
        if not differs(cfg, reference, top):
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
    key = getattr(head_class_of(head), 'outputs_key', None)
    if not key:
        return
    orig = ((reference or {}).get('model') or {}).get('head') or {}
    if key in head and key in orig and head[key] != orig[key]:
        return  # set on its own: checked by check_dataset_keys
    head[key] = len(cfg.label_columns)


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
