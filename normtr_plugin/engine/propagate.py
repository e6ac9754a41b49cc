"""Top-level config keys that reach everything: ``data_root``,
``modalities`` and ``seq_len``.

A dataset config states each of them once, at the top level. After the
config is loaded and ``--cfg-options`` are merged, :func:`propagate` writes
them into the model and into the dataset of every dataloader (through
dataset wrappers) and into every transform that has a ``seq_len``. So
``--cfg-options modalities.text=300``, ``data_root=DIR`` or ``seq_len=20``
(or the same keys in a child config) change the model and the three
loaders together. An explicit nested option such as
``--cfg-options test_dataloader.dataset.data_root=DIR`` is applied after
the propagation and wins for that one place.

A dim left ``None`` (``modalities = dict(audio=None, video=None)``) or
``seq_len = None`` is read from the data's metadata (:func:`infer_from_data`):
the feature dim of each modality column, and as T the shortest of the
modalities' longest valid lengths in the train split (the release's T for
aligned data; for unaligned MOSI, text 50 / audio 375 / video 500 gives 50).
"""
from typing import Iterator, Optional

from mmengine.config import Config, ConfigDict

__all__ = ['DATALOADERS', 'TOP_KEYS', 'dataset_cfgs', 'infer_from_data',
           'propagate']

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
TOP_KEYS = ('data_root', 'modalities', 'seq_len')
PIPELINES = ('train_pipeline', 'val_pipeline', 'test_pipeline')


def dataset_cfgs(loader) -> Iterator[ConfigDict]:
    """The dataset configs of a dataloader config, through wrappers
    (``dataset=dict(type=Wrapper, dataset=...)`` or ``datasets=[...]``)."""
    if not isinstance(loader, dict):
        return
    stack = [loader.get('dataset')]
    while stack:
        ds = stack.pop()
        if not isinstance(ds, dict):
            continue
        inner = [ds.get('dataset')] + list(ds.get('datasets') or [])
        inner = [d for d in inner if isinstance(d, dict)]
        if inner:  # a wrapper: its leaves hold the data settings
            stack.extend(inner)
        else:
            yield ds


def _set_seq_len(pipeline, seq_len: int) -> None:
    for transform in pipeline or ():
        if isinstance(transform, dict) and 'seq_len' in transform:
            transform['seq_len'] = seq_len


def _takes(model: dict, key: str) -> bool:
    return isinstance(model, dict) and (
        key in model or model.get('type') == 'NormTR')


def propagate(cfg: Config) -> None:
    """Write ``cfg.data_root``/``modalities``/``seq_len`` everywhere (see
    the module docstring); fills ``None`` dims and T from the data first."""
    present = {k: cfg[k] for k in TOP_KEYS if k in cfg}
    if not present:
        return
    infer_from_data(cfg)
    present = {k: cfg[k] for k in TOP_KEYS if k in cfg}
    seq_len = present.get('seq_len')
    pipeline_T = seq_len if isinstance(seq_len, int) else None
    for name in DATALOADERS:
        for ds in dataset_cfgs(cfg.get(name)):
            if 'data_root' in present:
                ds['data_root'] = present['data_root']
            if 'modalities' in present:
                ds['modalities'] = dict(present['modalities'])
            if pipeline_T is not None:
                _set_seq_len(ds.get('pipeline'), pipeline_T)
    if pipeline_T is not None:
        for name in PIPELINES:
            if isinstance(cfg.get(name), list):
                _set_seq_len(cfg[name], pipeline_T)
    model = cfg.get('model')
    for key in ('modalities', 'seq_len'):
        if key in present and _takes(model, key):
            value = present[key]
            model[key] = dict(value) if isinstance(value, dict) else value


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
    from .data_check import check_data_root, read_splits
    root = cfg.get('data_root')
    what = ', '.join([f'modalities.{m}' for m in dims] +
                     (['seq_len'] if need_T else []))
    if root is None:
        raise ValueError(f'{what} is left None in the config, to be read '
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
