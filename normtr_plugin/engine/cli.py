"""What tools/train.py and tools/test.py share: config loading and options.

:func:`load_config` is the one way the tools read a config: merge
``--cfg-options``, send the top-level ``data_root``/``modalities``/
``seq_len`` everywhere (``propagate.py``), apply ``model_selection``
(``model_selection.py``) and pick the work dir.
"""
import os.path as osp

import torch
from mmengine.config import Config

from ..utils import atomic
from .model_selection import apply_model_selection
from .propagate import DATALOADERS, TOP_KEYS, propagate
from .run_identity import data_name


def load_config(path: str, cfg_options: dict = None, work_dir: str = None,
                launcher: str = 'none') -> Config:
    """Load a config, merge ``--cfg-options``, propagate the top-level keys
    and set ``model_selection``, work_dir and launcher.

    The top-level ``data_root``, ``modalities`` and ``seq_len`` (from the
    config, a child config or ``--cfg-options``) reach the model, the three
    dataloaders and every transform with a ``seq_len``; dims or T left
    ``None`` are read from the data (``engine/propagate.py``). A nested
    option such as ``test_dataloader.dataset.data_root=DIR`` is applied
    after that and wins for that one place. ``cfg.model_selection_note``
    says how a dataset without a validation split is handled (or None).

    The default work dir is ``work_dirs/<config name>/<data name>``
    (``work_dirs/ablations/<family>/<name>/<data name>`` for
    ``configs/ablations/<family>/<name>.py``), so runs on different data
    never share checkpoints.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} not found')
    cfg = Config.fromfile(path)
    cfg_options = dict(cfg_options or {})
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    propagate(cfg)
    nested = {k: v for k, v in cfg_options.items()
              if k.split('.')[0] not in TOP_KEYS}
    if nested:  # explicit nested settings win over the propagated ones
        cfg.merge_from_dict(nested)
    cfg.model_selection_note = apply_model_selection(cfg)
    feed_the_device(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(path, cfg)
    return cfg


def default_work_dir(path: str, cfg: Config) -> str:
    """``work_dirs/<config name>[/<data name>]`` (see :func:`load_config`).
    """
    name = osp.splitext(osp.basename(path))[0]
    family = osp.basename(osp.dirname(osp.abspath(path)))
    if osp.basename(osp.dirname(osp.dirname(osp.abspath(path)))) == \
            'ablations':  # configs/ablations/<family>/<name>.py
        name = osp.join('ablations', family, name)
    roots = [ds.get('data_root') for ds in _train_datasets(cfg)]
    data = data_name(next((r for r in roots if r), cfg.get('data_root')))
    return osp.join('./work_dirs', name, *([data] if data else []))


def _train_datasets(cfg: Config):
    from .propagate import dataset_cfgs
    return list(dataset_cfgs(cfg.get('train_dataloader')))


def feed_the_device(cfg: Config) -> None:
    """Dataloader settings that keep a GPU fed.

    On a GPU, batches are pinned (``pin_memory``) so that the model's data
    preprocessor (``non_blocking=True``) copies them asynchronously. A
    split kept on the device (``dataset.resident='cuda'``) is gathered
    there: no pinning, no worker processes.
    """
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not loader:
            continue
        if loader.get('dataset', {}).get('resident'):
            if loader.get('num_workers', 0):
                raise ValueError(f'{name}: a resident split is gathered on '
                                 'its device in the main process; set '
                                 'num_workers=0')
            loader.pin_memory = False
        elif torch.cuda.is_available():
            loader.setdefault('pin_memory', True)


def set_mixed_precision(cfg: Config, dtype: str = None) -> None:
    """Mixed precision: mmengine's AmpOptimWrapper on GPU (fp16 by default,
    with a dynamic loss scale), bf16 autocast on CPU (no scaler needed)."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in ('OptimWrapper', 'AmpOptimWrapper',
                       'AutocastOptimWrapper'):
        raise ValueError(f'mixed precision needs OptimWrapper, found '
                         f'{wrapper}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if dtype:
            cfg.optim_wrapper.dtype = dtype
    else:
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'


def enable_amp(cfg: Config) -> None:
    """``--amp``: fp16 AmpOptimWrapper on GPU, bf16 autocast on CPU."""
    set_mixed_precision(cfg)


def write_json(path: str, data: dict) -> None:
    """Write atomically (``normtr_plugin.utils.write_json``): never a
    half-written file, never NaN/Inf."""
    atomic.write_json(path, data)
