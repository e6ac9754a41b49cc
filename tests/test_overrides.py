"""Top-level data_root / modalities / seq_len reach the model and every
loader (from the command line and from a child config), dims inferred from
the data, default work dirs, missing-data messages, model selection
switches and the run identity that guards --resume (issue 13); all as
``NormTRRunner`` decides them (``normtr_plugin/engine/runner.py``)."""
import os.path as osp
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, write_dataset
from normtr_plugin.datasets import HeldOutSplit, multimodal_collate
from normtr_plugin.engine import (ConfigError, DataRootError,
                                  ResumeMismatchError, apply_model_selection,
                                  check_data_root, check_resume,
                                  default_work_dir, merge_cfg_options,
                                  prepare_config, propagate, run_identity)
from normtr_plugin.registry import DATASETS, MODELS, build_in_scope

MOSI = osp.join(ROOT, 'configs', 'normtr_mosi.py')
IEMOCAP = osp.join(ROOT, 'configs', 'normtr_iemocap.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def propagated(path, options=None):
    """``--cfg-options`` merged and the top-level keys sent everywhere (the
    first step of NormTRRunner; no data needed)."""
    cfg = merge_cfg_options(Config.fromfile(path), options)
    propagate(cfg)
    return cfg


def prepared(path, options=None, work_dir=None):
    """The config NormTRRunner builds its Runner from (data must exist)."""
    cfg = merge_cfg_options(Config.fromfile(path), options)
    cfg.work_dir = work_dir
    cfg.model_selection_note = prepare_config(cfg)
    return cfg


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
    cfg = prepared(MOSI, {'modalities.text': 300, 'seq_len': 12,
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
    cfg = prepared(str(child))
    _assert_reaches_everything(cfg, dims, 10, root)
    _build_and_step(cfg)


def test_nested_option_wins_for_its_one_place():
    cfg = propagated(MOSI, {'data_root': '/a',
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
    cfg = prepared(str(child), {'data_root': root})
    _assert_reaches_everything(cfg, dict(audio=7, text=11), 13, root)
    _build_and_step(cfg)
    with pytest.raises(DataRootError, match='no dataset at .*absent.*'
                       'read from the data'):
        prepared(str(child), {'data_root': str(tmp_path / 'absent')})


def test_default_work_dir_names_the_data():
    cfg = propagated(MOSI, {'data_root': '/data/sets/mosi_unaligned'})
    assert default_work_dir(cfg) == \
        './work_dirs/normtr_mosi/mosi_unaligned'
    cfg = propagated(MOSI, {'data_root': 'someorg/mosi-features'})
    assert default_work_dir(cfg) == \
        './work_dirs/normtr_mosi/someorg__mosi-features'
    abl = Config.fromfile(osp.join(ROOT, 'configs', 'ablations', 'mosei',
                                   'wo_text.py'))
    assert default_work_dir(abl) == \
        './work_dirs/ablations/mosei/wo_text/mosei'


def test_missing_data_names_the_converter_that_fits(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(IEMOCAP)
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
        check_data_root(propagated(IEMOCAP, {'data_root': str(pkl)}))
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'y_train.h5').write_bytes(b'')
    mmmo = osp.join(ROOT, 'configs', 'normtr_mmmo.py')
    with pytest.raises(DataRootError, match='raw HDF5 files.*cmu-h5'):
        check_data_root(propagated(mmmo, {'data_root': str(raw)}))
    # a Hub id is left to the loader
    check_data_root(propagated(IEMOCAP, {'data_root': 'org/name'}))


def test_train_reports_missing_data_before_the_config(tmp_path):
    from normtr_plugin.utils.errors import ERROR_EXIT
    from safety_helpers import run_tool
    proc = run_tool(['tools/train.py', MOSI, '--cfg-options',
                     f'data_root={tmp_path / "none"}'], timeout=300)
    assert proc.returncode == ERROR_EXIT
    assert 'no dataset at' in proc.stderr
    assert "convert MMSA's MOSI/Processed/aligned_50.pkl" in proc.stderr
    assert 'Config:' not in proc.stdout + proc.stderr  # the Runner never ran


def test_train_and_test_only_data_selects_the_last_epoch(tmp_path):
    root = write_dataset(tmp_path / 'd', dict(audio=5, video=20, text=768),
                         sizes=dict(train=10, test=6))
    cfg = prepared(MOSI, {'data_root': root})
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.val_evaluator is None
    assert cfg.default_hooks.checkpoint.save_best is None
    assert cfg.model_selection.by == 'last'
    assert "no 'validation' split" in cfg.model_selection_note
    held = prepared(MOSI, {'data_root': root,
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
    cfg = propagated(MOSI, {'model_selection.ema': True,
                            'model_selection.ema_momentum': 0.05,
                            'model_selection.by': 'last'})
    apply_model_selection(cfg)
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert len(ema) == 1 and ema[0].momentum == 0.05
    assert cfg.default_hooks.checkpoint.save_best is None
    with pytest.raises(ConfigError, match='model_selection.by'):
        apply_model_selection(propagated(MOSI, {'model_selection.by':
                                                'median'}))


def test_resume_across_datasets_or_configs_is_refused(tmp_path):
    a = write_dataset(tmp_path / 'mosi_a', dict(audio=5, video=20, text=768))
    b = write_dataset(tmp_path / 'mosi_b', dict(audio=5, video=20, text=768),
                      seed=1)
    copy = write_dataset(tmp_path / 'copy', dict(audio=5, video=20,
                                                 text=768))
    cfg_a = prepared(MOSI, {'data_root': a})
    checkpoint = dict(meta=dict(run_identity=run_identity(cfg_a)))
    assert check_resume(cfg_a, checkpoint, 'x.pth') is None
    # the same data written elsewhere is the same data
    assert check_resume(prepared(MOSI, {'data_root': copy}),
                        checkpoint, 'x.pth') is None
    cfg_b = prepared(MOSI, {'data_root': b})
    with pytest.raises(ResumeMismatchError) as err:
        check_resume(cfg_b, checkpoint, 'x.pth')
    message = str(err.value)
    assert "data 'mosi_a'" in message and "data 'mosi_b'" in message
    assert 'the data differ' in message and '--force' in message
    warning = check_resume(cfg_b, checkpoint, 'x.pth', force=True)
    assert 'resuming anyway' in warning
    deeper = prepared(MOSI, {'data_root': a, 'model.fusion.depth': 3})
    with pytest.raises(ResumeMismatchError, match='the config differ'):
        check_resume(deeper, checkpoint, 'x.pth')
    # settings that do not change the weights' meaning do not matter
    same = prepared(MOSI, {'data_root': a, 'train_dataloader.'
                           'num_workers': 2, 'default_hooks.logger.'
                           'interval': 3}, work_dir='/elsewhere')
    assert check_resume(same, checkpoint, 'x.pth') is None


def _options(*items):
    """``--cfg-options ITEMS`` as tools/train.py parses them."""
    import argparse

    from normtr_plugin.engine import CfgOptions
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


def test_cfg_options_take_literals_lists_and_mmengine_values():
    opts = _options("custom_hooks=[dict(type='GRLLambdaHook', gamma=10.0)]",
                    'data_root=data/x', 'model.embed_dim=32',
                    'seq_len.audio=375', 'a=1,2', "name='two words'",
                    'flag=false', 'none=None')
    assert opts['custom_hooks'] == [dict(type='GRLLambdaHook', gamma=10.0)]
    assert opts['data_root'] == 'data/x' and opts['model.embed_dim'] == 32
    assert opts['seq_len.audio'] == 375 and opts['a'] == [1, 2]
    assert opts['name'] == 'two words'  # quoted: spaces kept
    assert opts['flag'] is False and opts['none'] is None
    # a call other than dict(...) is never run: kept as text
    assert _options('x=print(1)')['x'] == 'print(1)'
    cfg = merge_cfg_options(Config.fromfile(MOSI), opts)
    assert cfg.custom_hooks == [dict(type='GRLLambdaHook', gamma=10.0)]


def test_seq_len_per_modality_option_reaches_model_and_transforms():
    cfg = propagated(MOSI, _options('seq_len.audio=375'))
    expected = dict(audio=375, video=50, text=50)
    assert cfg.seq_len == expected and cfg.model.seq_len == expected
    assert _pipeline_lens_dicts(cfg) == [expected] * 6
    # a dict seq_len given whole, too
    cfg = propagated(MOSI, _options(
        "seq_len=dict(audio=375, video=500, text=50)"))
    assert cfg.model.seq_len == dict(audio=375, video=500, text=50)


def _pipeline_lens_dicts(cfg):
    return [dict(t['seq_len']) for name in LOADERS
            for t in cfg[name].dataset.pipeline if 'seq_len' in t]


@pytest.mark.parametrize('options, match', [
    ({'seq_len': {'audio': 375, 'video': 500}},
     r"seq_len names \['audio', 'video'\] but modalities are "
     r"\['audio', 'text', 'video'\]"),
    ({'model.seq_len': 0},
     r'model.seq_len: seq_len of every modality must be an int in 1\.\.'),
    ({'model.modalities.text': 300},
     r"model.modalities .*'text': 300.* differs from modalities"),
])
def test_length_mismatch_is_an_error_before_data_is_read(tmp_path, options,
                                                         match):
    from normtr_plugin.engine import NormTRRunner
    cfg = merge_cfg_options(Config.fromfile(MOSI), dict(
        options, data_root=str(tmp_path / 'absent')))  # never read
    cfg.work_dir = str(tmp_path / 'wd')
    with pytest.raises(ConfigError, match=match):
        NormTRRunner.from_cfg(cfg)
    assert not (tmp_path / 'wd').exists()


def test_train_reports_a_length_mismatch_in_one_line(tmp_path):
    from normtr_plugin.utils.errors import ERROR_EXIT
    from safety_helpers import run_tool
    proc = run_tool(['tools/train.py', MOSI, '--work-dir', tmp_path / 'w',
                     '--cfg-options', "seq_len=dict(audio=375, video=500)",
                     f'data_root={tmp_path / "absent"}'], timeout=300)
    assert proc.returncode == ERROR_EXIT
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "train.py: error: seq_len: seq_len names ['audio', 'video']")
    assert 'Traceback' not in proc.stderr


def test_ema_with_last_tests_the_averaged_weights(tmp_path):
    """by='last' + ema=True: the test sees the EMA weights (the saved
    checkpoint's state_dict), not the raw weights of the last step."""
    from mmengine.hooks import Hook

    from normtr_plugin.engine import NormTRRunner
    from safety_helpers import tiny_demo_data

    seen = {}

    class Record(Hook):
        priority = 'LOWEST'  # after EMAHook swapped the weights in

        def before_test_epoch(self, runner):
            seen.update({k: v.detach().clone() for k, v in
                         runner.model.state_dict().items()})

    cfg = merge_cfg_options(
        Config.fromfile(osp.join(ROOT, 'configs', 'normtr_demo.py')), {
            'data_root': tiny_demo_data(tmp_path / 'd'),
            'train_cfg.max_epochs': 2, 'model.embed_dim': 32,
            'model_selection.ema': True, 'model_selection.by': 'last',
            'model_selection.ema_momentum': 0.01,
            'optim_wrapper.optimizer.lr': 0.01, 'param_scheduler': []})
    cfg.work_dir = str(tmp_path / 'wd')
    cfg.experiment_name = f'ema_{tmp_path.name}'
    runner = NormTRRunner.from_cfg(cfg)
    runner.register_hook(Record())
    runner.train()
    raw = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    metrics, path = runner.test_selected()
    assert osp.basename(path) == 'epoch_2.pth' and metrics
    saved = torch.load(path, map_location='cpu', weights_only=False)
    name = 'nrgf.mlp.0.weight'
    assert torch.equal(seen[name], saved['state_dict'][name])
    # not the raw weights of the last step (EMAHook keeps them aside)
    assert torch.equal(saved['ema_state_dict'][f'module.{name}'], raw[name])
    assert (seen[name] - raw[name]).abs().max() > 1e-3  # weights moved
