"""No silent wrong results (issue 11): NaN/Inf never become results, wrong
or missing data and checkpoints of another architecture are errors, empty
splits are refused. Each case: the clear error, and nothing the user had
(or nothing at all) written."""
import importlib.util
import json
import os
import os.path as osp

import datasets as hf
import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from safetensors.torch import load_file, save_file

from conftest import ROOT, write_dataset
from normtr_plugin import from_pretrained
from normtr_plugin.datasets import (EMOTIONS, MultimodalFeatureDataset,
                                    SyntheticIEMOCAPDataset, feature_schema,
                                    save_feature_dataset)
from normtr_plugin.datasets.converters import convert
from normtr_plugin.datasets.synthetic import DIMS, make_synthetic_split
from normtr_plugin.engine import CheckpointMismatchError
from normtr_plugin.models import NormTR
from normtr_plugin.registry import MODELS, build_in_scope
from normtr_plugin.hub import save_pretrained
from normtr_plugin.utils.errors import run_tool as run_main
from safety_helpers import (DEMO, MOSI, MOSI_DIMS, TINY, run_tool, snapshot,
                            tiny_cfg, tiny_demo_data)

SMALL = {'model.embed_dim': 32}


# ------------------------------------------------------------ non-finite
def test_nan_feature_statistics_are_refused_when_loaded(tmp_path):
    data = write_dataset(tmp_path / 'd', dict(audio=5, video=7))
    path = osp.join(data, 'feature_stats.json')
    with open(path) as f:
        stats = json.load(f)
    stats['modalities']['video']['std'][3] = float('nan')
    with open(path, 'w') as f:
        json.dump(stats, f)
    before = snapshot(data)
    with pytest.raises(ValueError) as err:
        MultimodalFeatureDataset(data, 'train', dict(audio=5, video=7))
    for word in ('feature_stats.json', 'std[3]', "'video'", 'nan'):
        assert word in str(err.value)
    assert snapshot(data) == before


def test_nan_statistics_in_a_published_config_are_refused(tmp_path):
    model = NormTR(modalities=dict(audio=5), seq_len=4, embed_dim=16,
                   head=dict(type='RegressionHead'),
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2))
    folder = tmp_path / 'm'
    save_pretrained(model, str(folder), dataset_meta=dict(
        feature_stats=dict(audio=dict(mean=[0.0] * 5, std=[1.0] * 5))))
    config = json.loads((folder / 'config.json').read_text())
    config['dataset_meta']['feature_stats']['audio']['mean'][2] = 1e400
    (folder / 'config.json').write_text(json.dumps(config))
    (folder / 'SHA256SUMS').unlink()  # a crafted folder brings none
    with pytest.raises(ValueError, match=r"mean\[2\] of modality 'audio' "
                       r'is inf'):
        from_pretrained(str(folder))


def test_overflowing_features_stop_training_at_the_first_nan_loss(tmp_path):
    """Finite features of 3e38 overflow in the model: the run stops at the
    first non-finite loss, names it, and writes no test metrics."""
    rng = np.random.default_rng(0)
    directions = {m: rng.standard_normal((4, d)).astype(np.float32)
                  for m, d in DIMS.items()}
    splits = {s: make_synthetic_split(n, rng, directions, 8)
              for s, n in TINY.items()}
    for columns in splits.values():
        columns['audio'][:, :, :] = 3e38
    data = save_feature_dataset(splits, str(tmp_path / 'huge'), feature_schema(
        DIMS, {e: hf.ClassLabel(names=['absent', 'present'])
               for e in EMOTIONS}))
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work,
                     '--cfg-options', f'data_root={data}',
                     'model.embed_dim=32'])
    assert proc.returncode != 0
    err = proc.stderr
    assert 'train.py: error: training stopped: non-finite loss at ' \
        'iteration 1 (epoch 1, batch 1)' in err, err[-2000:]
    assert 'loss_er=nan' in err
    assert not osp.exists(work / 'test_metrics.json')
    assert not osp.exists(work / 'epoch_1.pth')


@pytest.fixture(scope='module')
def mosi(tmp_path_factory):
    """Tiny MOSI-shaped regression data and checkpoints for the MOSI config:
    NaN weights, and fusion depth 4 (the config says 2)."""
    base = tmp_path_factory.mktemp('mosi')
    data = write_dataset(base / 'data', MOSI_DIMS, seq_len=6,
                         sizes=dict(train=12, validation=6, test=6))
    cfg = tiny_cfg(MOSI, data, base / 'w', **SMALL)

    def save(name, **model_options):
        torch.manual_seed(0)
        model = build_in_scope(MODELS, dict(cfg.model, **model_options))
        state = model.state_dict()
        if name == 'nan.pth':
            for key in state:
                if key.startswith('head.'):
                    state[key] = torch.full_like(state[key], float('nan'))
        torch.save(dict(meta=dict(epoch=1, iter=1), state_dict=state),
                   base / name)
        return str(base / name)

    return dict(data=data, base=base, nan=save('nan.pth'),
                deep=save('deep.pth', fusion=dict(cfg.model.fusion,
                                                  depth=4)))


def test_test_py_exits_nonzero_on_a_nan_metric(mosi, tmp_path):
    out = tmp_path / 'metrics.json'
    proc = run_tool(['tools/test.py', MOSI, mosi['nan'], '--work-dir',
                     tmp_path / 'w', '--out', out, '--cfg-options',
                     f"data_root={mosi['data']}", 'model.embed_dim=32'])
    assert proc.returncode != 0
    assert 'test.py: error: test metrics are not finite' in proc.stderr
    assert 'MAE=nan' in proc.stderr
    assert not out.exists()


def test_robustness_exits_nonzero_on_a_nan_metric(mosi, tmp_path):
    out = tmp_path / 'rob'
    proc = run_tool(['tools/robustness.py', MOSI, mosi['nan'], '--ratios',
                     '0,0.5', '--seeds', '1', '--no-plots', '--out', out,
                     '--cfg-options', f"data_root={mosi['data']}",
                     'model.embed_dim=32'])
    assert proc.returncode != 0
    assert 'robustness.py: error:' in proc.stderr
    assert 'MAE' in proc.stderr and 'not finite' in proc.stderr
    assert not out.exists()


def test_infer_never_prints_nan(tmp_path, capsys):
    model = NormTR(modalities=dict(audio=5, video=7), seq_len=4,
                   embed_dim=16, head=dict(type='RegressionHead'),
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2))
    folder = str(tmp_path / 'm')
    save_pretrained(model, folder)
    weights = load_file(osp.join(folder, 'model.safetensors'))
    weights = {k: torch.full_like(v, float('nan')) if k.startswith('head.')
               else v for k, v in weights.items()}
    save_file(weights, osp.join(folder, 'model.safetensors'))
    os.remove(osp.join(folder, 'SHA256SUMS'))  # a crafted folder has none
    np.savez(tmp_path / 'x.npz', audio=np.ones((2, 4, 5), np.float32),
             video=np.ones((2, 4, 7), np.float32))
    spec = importlib.util.spec_from_file_location(
        'infer_cli', osp.join(ROOT, 'tools', 'infer.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    argv = [folder, '--input', str(tmp_path / 'x.npz'), '--out',
            str(tmp_path / 'p.json')]
    with pytest.raises(SystemExit) as exit_:
        run_main(lambda: cli.main(argv), ['infer.py', *argv])
    err = capsys.readouterr()
    assert exit_.value.code == 2 and err.err.startswith('infer.py: error:')
    assert 'not finite' in err.err and "'0'" in err.err
    assert 'NaN' not in err.out
    assert not (tmp_path / 'p.json').exists()


# ------------------------------------------------ wrong or missing data
def test_demo_generates_only_at_its_default_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no dataset at 'data/syn"
                       "thetic_iemocpa'"):
        SyntheticIEMOCAPDataset('data/synthetic_iemocpa', 'train')
    assert not (tmp_path / 'data').exists()
    ds = SyntheticIEMOCAPDataset('data/synthetic_iemocap', 'test',
                                 sizes=TINY)
    assert len(ds) == TINY['test']
    ds = SyntheticIEMOCAPDataset(str(tmp_path / 'other'), 'test',
                                 sizes=TINY, generate=True)
    assert len(ds) == TINY['test']


def test_test_py_refuses_a_checkpoint_of_another_architecture(mosi,
                                                              tmp_path):
    out = tmp_path / 'metrics.json'
    proc = run_tool(['tools/test.py', MOSI, mosi['deep'], '--work-dir',
                     tmp_path / 'w', '--out', out, '--cfg-options',
                     f"data_root={mosi['data']}", 'model.embed_dim=32'])
    assert proc.returncode != 0
    err = proc.stderr
    assert 'test.py: error: checkpoint' in err and 'deep.pth' in err
    assert 'does not fit the model' in err
    assert 'unexpected keys' in err and 'fusion.layers.3' in err
    assert not out.exists()


def test_hf_checkpoint_of_other_sizes_is_an_error(mosi, tmp_path):
    cfg = tiny_cfg(MOSI, mosi['data'], tmp_path / 'w',
                   **{'model.embed_dim': 64})
    model = build_in_scope(MODELS, cfg.model)
    save_pretrained(model, str(tmp_path / 'hub'))
    cfg = tiny_cfg(MOSI, mosi['data'], tmp_path / 'w', **SMALL)
    cfg.load_from = f"hf://{tmp_path / 'hub'}"
    with pytest.raises(CheckpointMismatchError) as err:
        Runner.from_cfg(cfg).test()
    assert 'shape mismatches' in str(err.value)
    assert 'hf://' in str(err.value) and 'expected' in str(err.value)


def test_resume_without_a_checkpoint_says_so(tmp_path):
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', tmp_path / 'w',
                     '--resume'])
    assert proc.returncode != 0
    assert 'there is no checkpoint to resume from' in proc.stderr
    assert 'resumed from None' not in proc.stdout + proc.stderr


# ----------------------------------------------------------- empty splits
def test_conversion_leaving_an_empty_split_is_refused(tmp_path):
    import pickle
    rng = np.random.default_rng(0)

    def part(n):
        return dict(audio=rng.standard_normal((n, 3, 2)),
                    vision=rng.standard_normal((n, 3, 2)),
                    text=rng.standard_normal((n, 3, 2)),
                    labels=rng.standard_normal(n))
    src = tmp_path / 'data.pkl'
    with open(src, 'wb') as f:
        pickle.dump(dict(train=part(4), valid=part(2), test=part(0)), f)
    with pytest.raises(ValueError, match="split 'test' is empty"):
        convert('mult', str(src), str(tmp_path / 'out'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data.pkl']


# =====================================================================
# Issue 18 (hostile inputs), case 13: corrupt weights never load silently
# =====================================================================
def _flip_bit(path, offset_from_end=3):
    """Flip the sign bit of a float near the end of ``path`` (its data)."""
    raw = bytearray(open(path, 'rb').read())
    raw[-offset_from_end] ^= 0x80
    with open(path, 'wb') as f:
        f.write(raw)


def test_a_flipped_bit_in_published_weights_is_refused(tmp_path, caplog):
    from normtr_plugin.apis import NormTRInferencer
    from normtr_plugin.hub import load_from_hub
    from normtr_plugin.utils.digest import ChecksumError
    model = NormTR(modalities=dict(audio=5), seq_len=4, embed_dim=16,
                   head=dict(type='RegressionHead'),
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2))
    folder = tmp_path / 'm'
    save_pretrained(model, str(folder))
    sums = (folder / 'SHA256SUMS').read_text().splitlines()
    assert sorted(line.split('  ')[1] for line in sums) == [
        'config.json', 'model.safetensors']
    caplog.set_level('INFO', logger='normtr_plugin')
    from_pretrained(str(folder))
    assert 'SHA-256 of config.json, model.safetensors verified' in \
        caplog.text
    _flip_bit(folder / 'model.safetensors')
    assert load_file(str(folder / 'model.safetensors'))  # still loads
    before = snapshot(tmp_path)
    for load in (lambda: from_pretrained(str(folder)),
                 lambda: NormTRInferencer(str(folder)),
                 lambda: load_from_hub(f'hf://{folder}')):
        with pytest.raises(ChecksumError) as err:
            load()
        message = str(err.value)
        assert 'model.safetensors is corrupted or was changed' in message
        assert str(folder) in message and '\n' not in message
    assert snapshot(tmp_path) == before
    (folder / 'SHA256SUMS').unlink()  # an older folder: loads, unverified
    caplog.clear()
    from_pretrained(str(folder))
    assert 'has no SHA256SUMS: config.json, model.safetensors loaded ' \
        'without verifying' in caplog.text


def test_a_corrupted_training_checkpoint_is_refused_by_test_and_resume(
        tmp_path):
    from normtr_plugin.engine import load_checkpoint_safely
    from normtr_plugin.utils.digest import ChecksumError
    data = tiny_demo_data(tmp_path / "data")
    work = tmp_path / 'work'
    Runner.from_cfg(tiny_cfg(DEMO, data, work, **{
        'train_cfg.max_epochs': 1})).train()
    good = str(work / 'epoch_1.pth')
    ckpt = torch.load(good, weights_only=False)
    assert len(ckpt['meta']['content_sha256']['state_dict']) == 64
    key = next(k for k, v in ckpt['state_dict'].items()
               if v.is_floating_point() and v.abs().sum() > 0)
    ckpt['state_dict'][key] = -ckpt['state_dict'][key]  # flipped sign bits
    bad = tmp_path / 'bad' / 'epoch_1.pth'
    bad.parent.mkdir()
    torch.save(ckpt, bad)
    # the optimizer state, schedulers and message hub are covered too
    state = torch.load(good, weights_only=False)
    moments = next(iter(state['optimizer']['state'].values()))
    moments['exp_avg_sq'] = moments['exp_avg_sq'] * 2
    state['message_hub']['runtime_info']['epoch'] = 7
    torch.save(state, tmp_path / 'bad' / 'state.pth')
    with pytest.raises(ChecksumError, match=r'its training state \(optimizer'):
        load_checkpoint_safely(str(tmp_path / 'bad' / 'state.pth'))
    before = snapshot(tmp_path)
    with pytest.raises(ChecksumError, match='state_dict does not match the '
                       'SHA-256 stored in it'):
        load_checkpoint_safely(str(bad))
    proc = run_tool(['tools/test.py', DEMO, bad, '--work-dir',
                     tmp_path / 'logs', '--cfg-options', f'data_root={data}',
                     'model.embed_dim=32'])
    assert proc.returncode == 2, proc.stderr[-2000:]
    line, = proc.stderr.strip().splitlines()
    assert line.startswith(f'test.py: error: checkpoint {bad} is corrupted')
    assert 'Epoch(test)' not in proc.stdout
    resumed = tiny_cfg(DEMO, data, tmp_path / 'resumed', **{
        'train_cfg.max_epochs': 2})
    resumed.resume, resumed.load_from = True, str(bad)
    with pytest.raises(ChecksumError, match=str(bad)):
        Runner.from_cfg(resumed).train()
    assert {k: v for k, v in snapshot(tmp_path).items()
            if not k.startswith(('logs', 'resumed', 'tested'))} == before
    tested = tiny_cfg(DEMO, data, tmp_path / 'tested')  # as test.py runs
    tested.load_from = good
    runner = Runner.from_cfg(tested)
    runner.test()
    log_file = next(h.baseFilename for h in runner.logger.handlers
                    if hasattr(h, 'baseFilename'))
    with open(log_file) as f:
        assert f'checkpoint {good}: SHA-256 of state_dict, training_state ' \
            'verified' in \
            f.read()
