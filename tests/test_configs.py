"""Every config parses and builds its model and datasets; one train step."""
import glob
import os.path as osp

import pytest
import torch
from normtr_plugin.datasets import multimodal_collate

from conftest import ROOT, write_dataset
from normtr_plugin.engine import load_config
from normtr_plugin.registry import DATASETS, MODELS, build_in_scope

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))


def test_all_paper_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'normtr_mosi.py', 'normtr_mosei.py', 'normtr_iemocap.py',
            'normtr_rml.py', 'normtr_demo.py', 'normtr_sims.py',
            'normtr_mosei_emotions.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_steps(path, tmp_path):
    probe = load_config(path)
    ds_cfg = probe.train_dataloader.dataset
    root = write_dataset(
        tmp_path / 'data', dict(probe.modalities), task=ds_cfg.task,
        label_columns=ds_cfg.label_columns, seq_len=probe.seq_len + 3)
    cfg = load_config(path, dict(data_root=root), str(tmp_path / 'wd'))
    assert cfg.default_scope == 'normtr_plugin'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.data_root == root
    model = build_in_scope(MODELS, cfg.model)
    assert list(model.modalities) == list(cfg.modalities)
    train = build_in_scope(DATASETS, cfg.train_dataloader.dataset)
    test = build_in_scope(DATASETS, cfg.test_dataloader.dataset)
    assert len(train) == 12 and len(test) == 6
    data = model.data_preprocessor(
        multimodal_collate(train.__getitems__(list(range(4)))), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))
    assert {'loss_er', 'loss_adv1', 'loss_adv2'} <= set(losses)
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(
            multimodal_collate(test.__getitems__([0, 1]))), mode='predict')
    assert len(out) == 2 and 'pred_score' in out[0]


def test_paper_hyper_parameters():
    """SPEC section 3.3 and 2: depths, loss weights, T, optimiser."""
    expected = {'normtr_mosi.py': (2, 0.01, 50, 40),
                'normtr_mosei.py': (4, 0.01, 50, 20),
                'normtr_iemocap.py': (4, 0.005, 8, 30),
                'normtr_rml.py': (2, 0.005, 8, 60),
                'normtr_mosei_emotions.py': (4, 0.01, 50, 20),
                'normtr_sims.py': (2, 0.01, 39, 40)}
    for name, (depth, w, T, epochs) in expected.items():
        cfg = load_config(osp.join(ROOT, 'configs', name))
        assert cfg.model.fusion.depth == depth
        assert cfg.model.fusion.num_heads == 8
        assert cfg.model.embed_dim == 256
        assert cfg.model.loss_weights == dict(adv1=w, adv2=w, er=1.0)
        assert cfg.model.seq_len == T
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4)
        assert cfg.train_dataloader.batch_size == 16
        warmup = cfg.param_scheduler[0]
        assert warmup.end == pytest.approx(0.05 * epochs)


def test_missing_dataset_says_how_to_prepare(tmp_path):
    cfg = load_config(osp.join(ROOT, 'configs', 'normtr_mosi.py'),
                      dict(data_root=str(tmp_path / 'absent')))
    with pytest.raises(FileNotFoundError, match='not found.*Prepare it with'):
        build_in_scope(DATASETS, cfg.train_dataloader.dataset)


def test_missing_config_file():
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config('configs/nope.py')
