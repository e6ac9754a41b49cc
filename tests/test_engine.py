"""Mixed precision set-up, the bf16 optim wrapper and config loading."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from normtr_plugin.engine import (AutocastOptimWrapper, default_work_dir,
                                  enable_amp, merge_cfg_options, propagate,
                                  set_mixed_precision)


def test_autocast_wrapper_runs_the_step_in_bf16():
    model = torch.nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).sum())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(before, model.weight)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour')
def test_amp_on_cpu_selects_bf16_autocast():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'normtr_demo.py'))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    bad = Config(dict(optim_wrapper=dict(type='DeepSpeedOptimWrapper')))
    with pytest.raises(ValueError, match='DeepSpeedOptimWrapper'):
        set_mixed_precision(bad)


def test_data_root_reaches_every_dataloader():
    cfg = merge_cfg_options(
        Config.fromfile(osp.join(ROOT, 'configs', 'normtr_iemocap.py')),
        dict(data_root='/data/iemocap',
             **{'train_dataloader.batch_size': 8}))
    propagate(cfg)  # what NormTRRunner does first
    assert {cfg[k].dataset.data_root for k in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')} == \
        {'/data/iemocap'}
    assert cfg.train_dataloader.batch_size == 8
    default = Config.fromfile(osp.join(ROOT, 'configs', 'normtr_iemocap.py'))
    # the data's name is part of the default work dir
    assert default_work_dir(default) == osp.join(
        './work_dirs', 'normtr_iemocap', 'iemocap')
