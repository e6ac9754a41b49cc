"""Top-level data_root / modalities / seq_len reach the model and every
loader (from the command line and from a child config), dims inferred from
the data, default work dirs, missing-data messages, model selection
switches and the run identity that guards --resume (issue 13)."""
import os.path as osp
import textwrap

import numpy as np
import pytest
import torch

from conftest import ROOT, write_dataset
from normtr_plugin.datasets import HeldOutSplit, multimodal_collate
from normtr_plugin.engine import (DataRootError, ResumeMismatchError,
                                  check_data_root, check_resume,
                                  load_config, run_identity)
from normtr_plugin.registry import DATASETS, MODELS, build_in_scope

MOSI = osp.join(ROOT, 'configs', 'normtr_mosi.py')
IEMOCAP = osp.join(ROOT, 'configs', 'normtr_iemocap.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _pipeline_lens(cfg):
    return {t['seq_len'] for name in LOADERS
            for t in cfg[name].dataset.pipeline if 'seq_len' in t}


def _assert_reaches_everything(cfg, modalities, seq_len, root=None):
    assert dict(cfg.model.modalities) == modalities
    assert cfg.model.seq_len == seq_len
    for name in LOADERS:
        assert dict(cfg[name].dataset.modalities) == modalities, name
        if root is not None:
            assert cfg[name].dataset.data_root == root, name
    assert _pipeline_lens(cfg) == {seq_len}


def _build_and_step(cfg):
    model = build_in_scope(MODELS, cfg.model)
    for name in LOADERS:
        ds = build_in_scope(DATASETS, cfg[name].dataset)
        assert ds.modalities == dict(cfg.modalities)
    data = model.data_preprocessor(multimodal_collate(
        ds.__getitems__([0, 1])), False)
    assert data['inputs']['text'].shape[1:] == (cfg.seq_len,
                                                cfg.modalities['text'])
    model.eval()
    with torch.no_grad():
        assert len(model(**data, mode='predict')) == 2
    return model


def test_command_line_modalities_reach_model_and_loaders(tmp_path):
    dims = dict(audio=5, video=20, text=300)
    root = write_dataset(tmp_path / 'd', dims, seq_len=14)
    cfg = load_config(MOSI, {'modalities.text': 300, 'seq_len': 12,
                             'data_root': root})
    _assert_reaches_everything(cfg, dims, 12, root)
    model = _build_and_step(cfg)
    assert model.projection.proj['text'].in_features == 300


def test_child_config_modalities_and_data_root_reach_everything(tmp_path):
    dims = dict(audio=5, video=20, text=300)
    root = write_dataset(tmp_path / 'd', dims, seq_len=14)
    child = tmp_path / 'child.py'
    child.write_text(textwrap.dedent(f'''
        _base_ = [{MOSI!r}]
        data_root = {root!r}
        modalities = dict(text=300)
        seq_len = 10
    '''))
    cfg = load_config(str(child))
    _assert_reaches_everything(cfg, dims, 10, root)
    _build_and_step(cfg)


def test_nested_option_wins_for_its_one_place():
    cfg = load_config(MOSI, {'data_root': '/a',
                             'test_dataloader.dataset.data_root': '/b'})
    assert cfg.train_dataloader.dataset.data_root == '/a'
    assert cfg.val_dataloader.dataset.data_root == '/a'
    assert cfg.test_dataloader.dataset.data_root == '/b'


def test_dims_and_seq_len_left_out_are_read_from_the_data(tmp_path):
    root = write_dataset(tmp_path / 'd', dict(audio=7, video=9, text=11),
                         seq_len=13)
    child = tmp_path / 'child.py'
    child.write_text(textwrap.dedent(f'''
        _base_ = [{MOSI!r}]
        modalities = dict(_delete_=True, audio=None, text=None)
        seq_len = None
    '''))
    cfg = load_config(str(child), {'data_root': root})
    _assert_reaches_everything(cfg, dict(audio=7, text=11), 13, root)
    _build_and_step(cfg)
    with pytest.raises(DataRootError, match='no dataset at .*absent.*'
                       'read from the data'):
        load_config(str(child), {'data_root': str(tmp_path / 'absent')})


def test_default_work_dir_names_the_data():
    cfg = load_config(MOSI, {'data_root': '/data/sets/mosi_unaligned'})
    assert cfg.work_dir == './work_dirs/normtr_mosi/mosi_unaligned'
    cfg = load_config(MOSI, {'data_root': 'someorg/mosi-features'})
    assert cfg.work_dir == './work_dirs/normtr_mosi/someorg__mosi-features'
    abl = load_config(osp.join(ROOT, 'configs', 'ablations', 'mosei',
                               'wo_text.py'))
    assert abl.work_dir == './work_dirs/ablations/mosei/wo_text/mosei'


def test_missing_data_names_the_converter_that_fits(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(IEMOCAP)
    with pytest.raises(DataRootError) as err:
        check_data_root(cfg)
    assert str(err.value).startswith(
        "no dataset at data/iemocap; convert MulT's iemocap_data.pkl with "
        '`python tools/convert_dataset.py mult iemocap_data.pkl --out '
        'data/iemocap`')
    pkl = tmp_path / 'iemocap_data.pkl'
    pkl.write_bytes(b'\x80\x04N.')
    with pytest.raises(DataRootError, match=r"is a pickle, not a converted "
                       r"dataset; convert it with `python tools/convert_"
                       r"dataset.py mult .*iemocap_data.pkl --out "
                       r"data/iemocap`"):
        check_data_root(load_config(IEMOCAP, {'data_root': str(pkl)}))
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'y_train.h5').write_bytes(b'')
    mmmo = osp.join(ROOT, 'configs', 'normtr_mmmo.py')
    with pytest.raises(DataRootError, match='raw HDF5 files.*cmu-h5'):
        check_data_root(load_config(mmmo, {'data_root': str(raw)}))
    # a Hub id is left to the loader
    check_data_root(load_config(IEMOCAP, {'data_root': 'org/name'}))


def test_train_reports_missing_data_before_the_config(tmp_path):
    from safety_helpers import run_tool
    proc = run_tool(['tools/train.py', MOSI, '--cfg-options',
                     f'data_root={tmp_path / "none"}'], timeout=300)
    assert proc.returncode != 0
    assert 'no dataset at' in proc.stderr
    assert "convert MMSA's MOSI/Processed/aligned_50.pkl" in proc.stderr
    assert 'Config:' not in proc.stdout + proc.stderr  # the Runner never ran


def test_train_and_test_only_data_selects_the_last_epoch(tmp_path):
    root = write_dataset(tmp_path / 'd', dict(audio=5, video=20, text=768),
                         sizes=dict(train=10, test=6))
    cfg = load_config(MOSI, {'data_root': root})
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.val_evaluator is None
    assert cfg.default_hooks.checkpoint.save_best is None
    assert cfg.model_selection.by == 'last'
    assert "no 'validation' split" in cfg.model_selection_note
    held = load_config(MOSI, {'data_root': root,
                              'model_selection.holdout': 0.3})
    assert held.val_dataloader.dataset.type == 'HeldOutSplit'
    parts = [build_in_scope(DATASETS, held[name].dataset)
             for name in ('train_dataloader', 'val_dataloader')]
    ids = [set(p.dataset.ids[p.indices]) for p in parts]
    assert not ids[0] & ids[1] and len(ids[0] | ids[1]) == 10
    assert len(parts[1]) == 3
    assert "held-out 30% of train" in held.model_selection_note


def test_held_out_split_is_stratified_and_seeded(tmp_path):
    root = write_dataset(tmp_path / 'd', dict(audio=4), task='classification',
                         sizes=dict(train=40, test=4), num_classes=2)
    inner = dict(type='MultimodalFeatureDataset', data_root=root,
                 split='train', modalities=dict(audio=4),
                 task='classification', pipeline=[
                     dict(type='TruncatePad', keys=['audio'], seq_len=4),
                     dict(type='PackMultimodalInputs')])
    a = HeldOutSplit(inner, 0.25, 'holdout', seed=1)
    b = HeldOutSplit(inner, 0.25, 'holdout', seed=1)
    np.testing.assert_array_equal(a.indices, b.indices)
    labels = a.dataset.labels
    assert len(a) == 10  # a quarter of 40
    for c in (0, 1):  # each class keeps its share, up to rounding
        assert abs((labels[a.indices] == c).sum() -
                   0.25 * (labels == c).sum()) < 1
    rest = HeldOutSplit(inner, 0.25, 'train', seed=1)
    assert len(rest) == 30 and not set(rest.indices) & set(a.indices)
    batch = a.__getitems__([0, 1])
    assert batch['inputs']['audio'].shape == (2, 4, 4)


def test_ema_and_last_switches():
    cfg = load_config(MOSI, {'model_selection.ema': True,
                             'model_selection.ema_momentum': 0.05,
                             'model_selection.by': 'last'})
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert len(ema) == 1 and ema[0].momentum == 0.05
    assert cfg.default_hooks.checkpoint.save_best is None
    with pytest.raises(ValueError, match='model_selection.by'):
        load_config(MOSI, {'model_selection.by': 'median'})


def test_resume_across_datasets_or_configs_is_refused(tmp_path):
    a = write_dataset(tmp_path / 'mosi_a', dict(audio=5, video=20, text=768))
    b = write_dataset(tmp_path / 'mosi_b', dict(audio=5, video=20, text=768),
                      seed=1)
    copy = write_dataset(tmp_path / 'copy', dict(audio=5, video=20,
                                                 text=768))
    cfg_a = load_config(MOSI, {'data_root': a})
    checkpoint = dict(meta=dict(run_identity=run_identity(cfg_a)))
    assert check_resume(cfg_a, checkpoint, 'x.pth') is None
    # the same data written elsewhere is the same data
    assert check_resume(load_config(MOSI, {'data_root': copy}),
                        checkpoint, 'x.pth') is None
    cfg_b = load_config(MOSI, {'data_root': b})
    with pytest.raises(ResumeMismatchError) as err:
        check_resume(cfg_b, checkpoint, 'x.pth')
    message = str(err.value)
    assert "data 'mosi_a'" in message and "data 'mosi_b'" in message
    assert 'the data differ' in message and '--force' in message
    warning = check_resume(cfg_b, checkpoint, 'x.pth', force=True)
    assert 'resuming anyway' in warning
    deeper = load_config(MOSI, {'data_root': a, 'model.fusion.depth': 3})
    with pytest.raises(ResumeMismatchError, match='the config differ'):
        check_resume(deeper, checkpoint, 'x.pth')
    # settings that do not change the weights' meaning do not matter
    same = load_config(MOSI, {'data_root': a, 'train_dataloader.'
                              'num_workers': 2, 'default_hooks.logger.'
                              'interval': 3}, work_dir='/elsewhere')
    assert check_resume(same, checkpoint, 'x.pth') is None
