"""Every file under configs/ is a plain mmengine config: ``Config.fromfile``
then ``MODELS.build(cfg.model)`` and ``DATASETS.build`` of its datasets
work with no help from the plugin's loader (on tiny generated data), and
plain ``Runner.from_cfg`` trains the demo."""
import glob
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import normtr_plugin  # noqa: F401 (registers the plugin's modules)
from conftest import ROOT, write_dataset
from normtr_plugin.datasets import multimodal_collate
from normtr_plugin.registry import DATASETS, MODELS, RUNNERS

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                      recursive=True)
                 if osp.relpath(p, osp.join(ROOT, 'configs')).split(
                     osp.sep)[0] != '_base_')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _id(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


def _longest(seq_len):
    return max(seq_len.values()) if isinstance(seq_len, dict) else seq_len


@pytest.fixture(scope='module')
def data_for(tmp_path_factory):
    """A tiny dataset per (modalities, task, labels), shared by configs."""
    made = {}

    def get(cfg):
        ds = cfg.train_dataloader.dataset
        key = (tuple(sorted(dict(cfg.modalities).items())), ds.task,
               tuple(ds.label_columns), _longest(cfg.seq_len))
        if key not in made:
            made[key] = write_dataset(
                tmp_path_factory.mktemp('data') / 'd', dict(cfg.modalities),
                task=ds.task, label_columns=ds.label_columns,
                seq_len=_longest(cfg.seq_len) + 3,
                sizes=dict(train=4, validation=2, test=2))
        return made[key]
    return get


def test_all_paper_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'normtr_mosi.py', 'normtr_mosei.py', 'normtr_iemocap.py',
            'normtr_rml.py', 'normtr_demo.py', 'normtr_sims.py',
            'normtr_mosei_emotions.py', 'normtr_mosi_unaligned.py'} <= names
    assert len(CONFIGS) > 100  # ablations and noise_aware included


@pytest.mark.parametrize('path', CONFIGS, ids=_id)
def test_plain_mmengine_builds_model_and_datasets(path, data_for):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'normtr_plugin'
    assert cfg.runner_type == 'NormTRRunner'
    modalities = dict(cfg.modalities)
    # every place states the same modalities and T (nothing propagated)
    assert dict(cfg.model.modalities) == modalities
    assert cfg.model.seq_len == cfg.seq_len
    for name in LOADERS:
        ds = cfg[name].dataset
        assert dict(ds.modalities) == modalities, name
        assert ds.data_root == cfg.data_root, name
        assert [t['seq_len'] for t in ds.pipeline if 'seq_len' in t] \
            and all(t['seq_len'] == cfg.seq_len
                    for t in ds.pipeline if 'seq_len' in t), name
    # the task metric only at validation (diagnostics cost every epoch),
    # unless the config compares invariance across epochs (noise_aware/)
    asks = 'noise_aware' in _id(path).split(osp.sep)
    assert asks == any(m['type'] == 'InvarianceMetric'
                       for m in cfg.val_evaluator)
    root = data_for(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        ds_cfg = cfg.train_dataloader.dataset
        ds_cfg.data_root = root  # tiny generated data
        train = DATASETS.build(ds_cfg)
    assert list(model.modalities) == list(modalities)
    assert train.modalities == modalities and len(train) == 4
    data = model.data_preprocessor(
        multimodal_collate(train.__getitems__([0, 1])), True)
    assert set(data['inputs']) == set(modalities)
    for m, x in data['inputs'].items():
        T = cfg.seq_len[m] if isinstance(cfg.seq_len, dict) else cfg.seq_len
        assert x.shape == (2, T, modalities[m]), m
    losses = model(**data, mode='loss')
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))


def test_paper_hyper_parameters():
    """SPEC section 3.3 and 2: depths, loss weights, T, optimiser."""
    expected = {'normtr_mosi.py': (2, 0.01, 50, 40),
                'normtr_mosei.py': (4, 0.01, 50, 20),
                'normtr_iemocap.py': (4, 0.005, 8, 30),
                'normtr_rml.py': (2, 0.005, 8, 60),
                'normtr_mosei_emotions.py': (4, 0.01, 50, 20),
                'normtr_sims.py': (2, 0.01, 39, 40)}
    for name, (depth, w, T, epochs) in expected.items():
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
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


def test_unaligned_config_runs_without_edits():
    cfg = Config.fromfile(osp.join(ROOT, 'configs',
                                   'normtr_mosi_unaligned.py'))
    T = dict(audio=375, video=500, text=50)
    assert cfg.seq_len == T and cfg.model.seq_len == T
    assert cfg.model.modality_discriminator.pool == 'mean'
    assert cfg.model.noise_discriminator.pool == 'mean'
    assert cfg.default_hooks.logger.interval <= 10  # a line early
    assert {cfg[n].dataset.data_root for n in LOADERS} == \
        {'data/mosi_unaligned'}


def test_plain_runner_from_cfg_trains_the_demo(tmp_path, data_for):
    """mmengine's own Runner.from_cfg on the demo config, one iteration;
    RUNNERS.build (mmpretrain's tools) gives the registered NormTRRunner."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'normtr_demo.py'))
    root = data_for(cfg)
    for name in LOADERS:
        cfg[name].dataset.data_root = root
    cfg.work_dir = str(tmp_path / 'wd')
    cfg.experiment_name = f'plain_{uuid.uuid4().hex[:8]}'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1,
                         val_interval=10)
    cfg.param_scheduler = []
    cfg.model.embed_dim = 32
    runner = Runner.from_cfg(cfg)
    assert type(runner) is Runner
    runner.train()
    assert runner.iter == 1
    cfg.experiment_name += '_registered'
    from normtr_plugin.engine import NormTRRunner
    assert isinstance(RUNNERS.build(cfg), NormTRRunner)


def test_missing_dataset_says_how_to_prepare(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'normtr_mosi.py'))
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'absent')
    with DefaultScope.overwrite_default_scope('normtr_plugin'), \
            pytest.raises(FileNotFoundError, match='not found.*Prepare it'):
        DATASETS.build(cfg.train_dataloader.dataset)


def test_missing_config_file_is_one_line(tmp_path):
    from normtr_plugin.utils.errors import ERROR_EXIT
    from safety_helpers import run_tool
    proc = run_tool(['tools/train.py', 'configs/nope.py'], timeout=300)
    assert proc.returncode == ERROR_EXIT
    assert proc.stderr.strip() == \
        "train.py: error: config file 'configs/nope.py' not found"
