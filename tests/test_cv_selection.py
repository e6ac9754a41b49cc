"""Cross-validated model selection: ``model_selection=dict(by='cv')``."""
import copy
import json
import os
import os.path as osp

import datasets as hf
import numpy as np
import pytest
from mmengine.config import Config

from conftest import label_features
from normtr_plugin.datasets import KFoldSplit, MultimodalFeatureDataset
from normtr_plugin.datasets.feature_format import (feature_schema,
                                                   save_feature_dataset)
from normtr_plugin.engine import (ConfigError, choose_epoch, fold_config,
                                  merge_cfg_options, prepare_config,
                                  selection_metric)
from normtr_plugin.registry import DATASETS
from normtr_plugin.utils.errors import InputError
from safety_helpers import DEMO, TINY, run_tool, tiny_demo_data

MODS = dict(audio=3, video=4)


def speaker_data(root, n_train=30, n_val=12, speakers=6, seed=0):
    """A 3-class set whose samples carry a ``speaker`` column."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in (('train', n_train), ('validation', n_val)):
        splits[split] = {
            'id': [f'{split}_{i}' for i in range(n)],
            **{m: rng.standard_normal((n, 5, d)).astype(np.float32)
               for m, d in MODS.items()},
            'label': rng.integers(0, 3, n),
            'speaker': [f's{i % speakers}' for i in range(n)]}
    features = feature_schema(MODS, {
        **label_features('classification', ['label'], 3),
        'speaker': hf.Value('string')})
    return save_feature_dataset(splits, str(root), features)


def pooled(root, task='classification'):
    return MultimodalFeatureDataset(str(root), 'train+validation', MODS,
                                    task=task)


def test_pooled_split_reads_train_then_validation(tmp_path):
    ds = pooled(speaker_data(tmp_path / 'd'))
    assert len(ds) == 42
    assert list(ds.ids[:2]) == ['train_0', 'train_1']
    assert list(ds.ids[-1:]) == ['validation_11']
    assert list(ds.column('speaker')[:3]) == ['s0', 's1', 's2']
    assert ds.column('nope') is None


def test_folds_are_group_disjoint_and_cover_the_pool(tmp_path):
    ds = pooled(speaker_data(tmp_path / 'd'))
    speakers = ds.column('speaker')
    held = []
    for fold in range(3):
        train = KFoldSplit(ds, folds=3, fold=fold, part='train', seed=1)
        hold = KFoldSplit(ds, folds=3, fold=fold, part='holdout', seed=1)
        assert not set(train.indices) & set(hold.indices)
        assert len(train) + len(hold) == len(ds)
        # the speaker column is found on its own: no speaker on both sides
        assert not set(speakers[train.indices]) & set(speakers[hold.indices])
        held.extend(hold.indices.tolist())
    assert sorted(held) == list(range(len(ds)))
    again = KFoldSplit(ds, folds=3, fold=0, part='holdout', seed=1)
    assert again.indices.tolist() == KFoldSplit(
        ds, 3, 0, 'holdout', seed=1).indices.tolist()
    with pytest.raises(InputError, match='6 groups cannot fill 7'):
        KFoldSplit(ds, folds=7, fold=0, part='train')


def test_group_pattern_and_stratified_folds(tmp_path):
    from conftest import write_dataset
    root = write_dataset(tmp_path / 'c', MODS, task='classification',
                         num_classes=2, sizes=dict(train=40, validation=20))
    ds = pooled(root)
    # ids split_<i>: the last digit as the group
    a = KFoldSplit(ds, 5, 0, 'holdout', group_pattern=r'(\d)$')
    b = KFoldSplit(ds, 5, 0, 'train', group_pattern=r'(\d)$')
    assert not set(a.groups) & set(b.groups)
    # without groups: stratified, each fold keeps the class shares
    shares = np.bincount(ds.labels, minlength=2) / len(ds)
    for fold in range(4):
        hold = KFoldSplit(ds, 4, fold, 'holdout')
        got = np.bincount(ds.labels[hold.indices], minlength=2) / len(hold)
        assert np.abs(got - shares).max() <= 1 / len(hold) + 1e-9
    with pytest.raises(InputError, match="no column 'nope'"):
        KFoldSplit(ds, 2, 0, 'train', group='nope')


def test_choose_epoch_averages_folds():
    histories = [[(1, {'m': 1.0}), (2, {'m': 3.0}), (3, {'m': 0.0})],
                 [(1, {'m': 2.0}), (2, {'m': 2.0}), (3, {'m': 5.0})]]
    best = choose_epoch(histories, 'm', 'greater')
    assert (best['epoch'], best['mean']) == (2, 2.5)
    assert best['std'] == pytest.approx(np.std([3.0, 2.0], ddof=1))
    assert best['folds'] == [3.0, 2.0]
    low = choose_epoch(histories, 'm', 'less')
    assert (low['epoch'], low['mean']) == (1, 1.5)
    # ties: the earliest epoch
    assert choose_epoch([[(1, {'m': 1.0}), (2, {'m': 1.0})]], 'm',
                        'less')['epoch'] == 1
    with pytest.raises(ConfigError, match="no 'x'"):
        choose_epoch(histories, 'x', 'less')


def demo_cfg(data, work_dir, **options):
    opts = {'data_root': str(data), 'train_cfg.max_epochs': 3,
            'model.embed_dim': 32, 'model_selection.by': 'cv',
            'model_selection.folds': 2}
    opts.update(options)
    cfg = merge_cfg_options(Config.fromfile(DEMO), opts)
    cfg.work_dir = str(work_dir)
    return cfg


def test_cv_configs_train_on_train_plus_validation(tmp_path):
    data = tiny_demo_data(tmp_path / 'data')
    cfg = demo_cfg(data, tmp_path / 'w')
    assert selection_metric(cfg) == ('Acc-2_mean', 'greater')
    final = copy.deepcopy(cfg)
    note = prepare_config(final)
    assert "2 folds over 'train+validation'" in note
    assert final.val_dataloader is None and final.model_selection.by == 'cv'
    pool = TINY['train'] + TINY['validation']
    assert len(DATASETS.build(final.train_dataloader.dataset)) == pool
    held = []
    for fold in range(2):
        fcfg = fold_config(cfg, fold, str(tmp_path / 'w' / 'cv'),
                           'train+validation')
        prepare_config(fcfg)
        train = DATASETS.build(fcfg.train_dataloader.dataset)
        val = DATASETS.build(fcfg.val_dataloader.dataset)
        assert len(train) + len(val) == pool
        assert fcfg.test_dataloader is None
        held += val.indices.tolist()
    assert sorted(held) == list(range(pool))
    with pytest.raises(ConfigError, match='folds must be an int >= 2'):
        prepare_config(demo_cfg(data, tmp_path / 'x',
                                **{'model_selection.folds': 1}))


def test_train_by_cv_end_to_end(tmp_path):
    data = tiny_demo_data(tmp_path / 'data')
    work = tmp_path / 'w'
    res = run_tool(['tools/train.py', DEMO, '--work-dir', work,
                    '--cfg-options', f'data_root={data}',
                    'train_cfg.max_epochs=3', 'model.embed_dim=32',
                    'model_selection.by=cv', 'model_selection.folds=2'])
    assert res.returncode == 0, res.stderr[-2000:]
    with open(work / 'cv_selection.json') as f:
        cv = json.load(f)
    # the chosen epoch is the best mean of the logged fold metrics
    per_epoch = {}
    for fold in cv['histories']:
        assert [h['epoch'] for h in fold] == [1, 2, 3]
        for h in fold:
            per_epoch.setdefault(h['epoch'], []).append(h['Acc-2_mean'])
    means = {e: np.mean(v) for e, v in per_epoch.items()}
    assert cv['epoch'] == max(means, key=lambda e: (means[e], -e))
    assert cv['mean'] == pytest.approx(means[cv['epoch']])
    assert cv['std'] == pytest.approx(
        np.std(per_epoch[cv['epoch']], ddof=1))
    for fold in range(2):  # fold runs save no checkpoint
        assert not any(n.endswith('.pth') for n in
                       os.listdir(work / 'cv' / f'fold_{fold}'))
    # the final run trained the chosen number of epochs, on the pool
    assert osp.isfile(work / f"epoch_{cv['epoch']}.pth")
    assert not osp.isfile(work / f"epoch_{cv['epoch'] + 1}.pth")
    # batch 32: 2 iterations per epoch on a fold (40 samples), 3 on the
    # pool of train + validation (80), the final run's
    per = -(-(TINY['train'] + TINY['validation']) // 32)
    assert per == 3
    assert f"Epoch(train) [{cv['epoch']}][3/3]" in res.stdout
    assert f"Epoch(train) [{cv['epoch'] + 1}][3/3]" not in res.stdout
    with open(work / 'test_metrics.json') as f:
        metrics = json.load(f)
    assert metrics['cv_epoch'] == cv['epoch']
    assert metrics['cv_Acc-2_mean_mean'] == pytest.approx(cv['mean'])
    assert metrics['cv_Acc-2_mean_std'] == pytest.approx(cv['std'])
    assert 'Acc-2_mean' in metrics
    assert 'model selection: cross-validation (2 folds)' in res.stdout
