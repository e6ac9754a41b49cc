"""``NormTRRunner``: mmengine's Runner plus the run-time decisions of a
NORM-TR config, chosen by ``runner_type='NormTRRunner'``
(``configs/_base_/default_runtime.py``).

The tools build it as mmpretrain's do (``RUNNERS.build(cfg)`` when the
config has ``runner_type``). Before mmengine's Runner is built,
:func:`prepare_config`:

1. sends the top-level ``data_root``/``modalities``/``seq_len``/
   ``task``/``label_columns`` and pipelines to the model, the datasets and
   the transforms (``propagate.py``), so ``--cfg-options seq_len.audio=375``
   or ``label_columns=[...]`` reaches everything, and refuses what cannot
   (a ``task`` the head is not for, a changed ``common``);
2. checks the config (``config_check.py``: modality/length mismatches;
   ``data_check.py``: no converted data at ``data_root``) before any data
   is read;
3. applies ``model_selection`` (``model_selection.py``);
4. feeds the device (pinned batches on a GPU);
5. picks the work dir when none is set (:func:`default_work_dir`).

The shipped configs are complete on their own: plain
``Runner.from_cfg(cfg)`` runs them too, without these conveniences.
"""
import copy
import os.path as osp
from typing import Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.dist import barrier
from mmengine.runner import Runner

from ..registry import RUNNERS
from .config_check import ConfigError, check_lengths
from .config_walk import DATALOADERS, dataset_cfgs
from .data_check import check_data_root
from .model_selection import apply_model_selection
from .dataset_keys import check_dataset_keys
from .propagate import propagate
from .run_identity import data_name

__all__ = ['NormTRRunner', 'build_runner', 'default_work_dir',
           'feed_the_device', 'prepare_config']


def default_work_dir(cfg: Config) -> str:
    """``work_dirs/<config name>/<data name>``
    (``work_dirs/ablations/<family>/<name>/<data name>`` for
    ``configs/ablations/<family>/<name>.py``): runs on different data never
    share checkpoints."""
    path = osp.abspath(getattr(cfg, 'filename', None) or 'config.py')
    name = osp.splitext(osp.basename(path))[0]
    family = osp.basename(osp.dirname(path))
    if osp.basename(osp.dirname(osp.dirname(path))) == 'ablations':
        name = osp.join('ablations', family, name)
    roots = [ds.get('data_root')
             for ds in dataset_cfgs(cfg.get('train_dataloader'))]
    data = data_name(next((r for r in roots if r), cfg.get('data_root')))
    return osp.join('./work_dirs', name, *([data] if data else []))


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
                raise ConfigError(f'{name}: a resident split is gathered on'
                                  ' its device in the main process; set '
                                  'num_workers=0')
            loader.pin_memory = False
        elif torch.cuda.is_available():
            loader.setdefault('pin_memory', True)


def prepare_config(cfg: Config) -> Optional[str]:
    """Apply the run-time decisions (module docstring) to ``cfg`` in
    place; returns the model-selection note (or None)."""
    propagate(cfg)
    check_lengths(cfg)
    check_dataset_keys(cfg)
    check_data_root(cfg)
    note = apply_model_selection(cfg)
    feed_the_device(cfg)
    if cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(cfg)
    return note


def build_runner(cfg: Config) -> Runner:
    """mmpretrain's tools' rule: the registered ``runner_type`` when the
    config names one, else mmengine's Runner."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


@RUNNERS.register_module()
class NormTRRunner(Runner):
    """mmengine's Runner after :func:`prepare_config`; tests the weights
    ``model_selection`` keeps (:meth:`test_selected`)."""

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'NormTRRunner':
        cfg = copy.deepcopy(cfg)
        note = prepare_config(cfg)
        runner = super().from_cfg(cfg)
        if note:
            runner.logger.info(f'model selection: {note}')
        return runner

    def selected_checkpoint(self) -> Optional[str]:
        """The checkpoint ``model_selection`` keeps after training: the
        best one (``by='best'``), else the last one. With ``ema=True`` it
        holds the averaged weights (EMAHook saves them as ``state_dict``).
        """
        info = self.message_hub.get_info
        by = (self.cfg.get('model_selection') or {}).get('by', 'best')
        best = info('best_ckpt') if by == 'best' else None
        return best or info('last_ckpt')

    def test_selected(self) -> Tuple[dict, Optional[str]]:
        """Test the selected weights after :meth:`train`; returns the
        metrics and the checkpoint tested.

        The checkpoint is loaded even for ``by='last'``: ``Runner.test``
        rebuilds EMAHook's average from the model's current weights, so
        without loading, an EMA run would test its raw weights.
        """
        path = self.selected_checkpoint()
        barrier()  # rank 0 writes the checkpoint; the others wait for it
        if path:
            self.load_checkpoint(path)
        return self.test(), path
