"""What tools/train.py and tools/test.py share: config loading and options."""
import os.path as osp

import torch
from mmengine.config import Config

from ..utils import atomic

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def load_config(path: str, cfg_options: dict = None, work_dir: str = None,
                launcher: str = 'none') -> Config:
    """Load a config, merge ``--cfg-options`` and set work_dir/launcher.

    ``data_root`` is the one setting that says where the data lives:
    ``--cfg-options data_root=DIR`` reaches every dataloader's dataset.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} not found')
    cfg = Config.fromfile(path)
    cfg_options = dict(cfg_options or {})
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'data_root' in cfg_options:
        for name in DATALOADERS:
            if cfg.get(name):
                cfg[name]['dataset']['data_root'] = cfg_options['data_root']
    feed_the_device(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(path))[0]
        family = osp.basename(osp.dirname(osp.abspath(path)))
        if osp.basename(osp.dirname(osp.dirname(osp.abspath(path)))) == \
                'ablations':  # configs/ablations/<family>/<name>.py
            name = osp.join('ablations', family, name)
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


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
