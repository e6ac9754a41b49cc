"""Files from others never run code (issue 11, "code execution").

Four ways in, each with its payload built here: a ``config.json`` naming a
dotted type (from_pretrained, tools/infer.py), a checkpoint's
``meta['config']`` text on ``--resume``, a checkpoint's ``meta['cfg']`` text
in publish, and a ``__reduce__`` payload in an MMSA / MulT pickle. Each test
asserts the clear error (or that the text was ignored), that the payload's
marker file was never created, and that the user's files are unchanged.
"""
import importlib.util
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from conftest import ROOT
from normtr_plugin import from_pretrained
from normtr_plugin.datasets.converters import ConversionError, convert
from normtr_plugin.hub.config_guard import UnsafeConfigError
from normtr_plugin.hub.checksums import write_checksums
from normtr_plugin.hub.publish import PublishError, publish
from normtr_plugin.models import NormTR
from normtr_plugin.hub import save_pretrained
from normtr_plugin.utils.errors import run_tool as run_main
from safety_helpers import (DEMO, rehash, run_tool, snapshot, tiny_cfg,
                            tiny_demo_data)


def touch_command(marker) -> str:
    return f'touch {marker}'


def python_payload(marker) -> str:
    """Config text that creates ``marker`` when executed (a plain ``import
    os`` would become one of mmengine's lazy imports and fail first)."""
    return f"_ = __import__('os').system({touch_command(marker)!r})\n"


# ------------------------------------------------------ 1. config.json
@pytest.fixture
def published_folder(tmp_path):
    model = NormTR(modalities=dict(audio=5, video=7), seq_len=4,
                   embed_dim=16, head=dict(type='RegressionHead'),
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2))
    folder = tmp_path / 'model'
    save_pretrained(model, str(folder), test_pipeline=[
        dict(type='TruncatePad', keys=['audio', 'video'], seq_len=4),
        dict(type='PackMultimodalInputs')])
    return folder


def _plant(folder, where: str, payload: dict) -> None:
    path = folder / 'config.json'
    config = json.loads(path.read_text())
    if where == 'test_pipeline':
        config['test_pipeline'].insert(0, payload)
    elif where == 'model.noise':
        config['model']['noise'] = payload
    elif where == 'model.head.scope':
        config['model']['head']['_scope_'] = 'os'
    path.write_text(json.dumps(config))
    # an attacker ships matching checksums: the config guard must still hold
    write_checksums(str(folder), ('config.json', 'model.safetensors'))


def _load_infer_cli():
    spec = importlib.util.spec_from_file_location(
        'infer_cli', osp.join(ROOT, 'tools', 'infer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('where, type_, key', [
    ('test_pipeline', 'os.system', 'test_pipeline[0].type'),
    ('model.noise', 'os.system', 'model.noise.type'),
    ('model.head.scope', 'RegressionHead', 'model.head._scope_'),
])
def test_config_json_with_a_dotted_type_is_refused(published_folder,
                                                   tmp_path, where, type_,
                                                   key, capsys):
    marker = tmp_path / 'ran'
    payload = dict(type=type_, command=touch_command(marker))
    _plant(published_folder, where, payload)
    before = snapshot(published_folder)
    with pytest.raises(UnsafeConfigError) as err:
        from_pretrained(str(published_folder))
    assert key in str(err.value) and 'config.json' in str(err.value)
    if where != 'model.head.scope':
        assert repr(type_) in str(err.value)
    # tools/infer.py: one-line error, exit status != 0, nothing printed.
    np.savez(tmp_path / 'x.npz', audio=np.zeros((1, 4, 5), np.float32),
             video=np.zeros((1, 4, 7), np.float32))
    argv = [str(published_folder), '--input', str(tmp_path / 'x.npz')]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run_main(lambda: _load_infer_cli().main(argv), ['infer.py', *argv])
    err = capsys.readouterr()
    assert exit_.value.code == 2 and err.out == ''
    assert err.err.startswith('infer.py: error:') and key in err.err
    assert not marker.exists()
    assert snapshot(published_folder) == before


# ------------------------------------------- checkpoints of a tiny run
@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """``epoch_1.pth`` of a one-epoch tiny demo run (in process)."""
    base = tmp_path_factory.mktemp('untrusted_ckpt')
    data = tiny_demo_data(base / 'data')
    cfg = tiny_cfg(DEMO, data, base / 'work',
                   **{'train_cfg.max_epochs': 1})
    Runner.from_cfg(cfg).train()
    return dict(data=data, path=str(base / 'work' / 'epoch_1.pth'),
                base=base)


def _tampered(checkpoint, out, **meta) -> str:
    # Our own file, just written: a full unpickle is fine here.
    ckpt = torch.load(checkpoint['path'], weights_only=False)
    ckpt['meta'].update(meta)
    torch.save(rehash(ckpt), out)
    return str(out)


def test_resume_never_runs_checkpoint_config_text(checkpoint, tmp_path):
    marker = tmp_path / 'ran'
    payload = python_payload(marker)
    evil = _tampered(checkpoint, tmp_path / 'evil.pth', config=payload,
                     cfg=payload)
    before = snapshot(tmp_path)
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', tmp_path / 'w',
                     '--resume', evil, '--no-test', '--cfg-options',
                     f"data_root={checkpoint['data']}",
                     'train_cfg.max_epochs=1', 'model.embed_dim=32'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert not marker.exists()
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before


def test_publish_never_runs_checkpoint_config_text(checkpoint, tmp_path):
    marker = tmp_path / 'ran'
    ckpt = torch.load(checkpoint['path'], weights_only=False)
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({'Acc-2_mean': 60.0}))
    options = dict(data_root=checkpoint['data'], **{'model.embed_dim': 32})
    # (a) Code around a matching model section: compared as data, the code
    # is never run, the model is published.
    text = python_payload(marker) + ckpt['meta']['cfg']
    evil = _tampered(checkpoint, tmp_path / 'a.pth', cfg=text)
    result = publish(DEMO, evil, str(tmp_path / 'out_a'), metrics=str(
        metrics), cfg_options=options)
    assert result['metrics'] == {'Acc-2_mean': 60.0}
    # (b) Code inside the model section: refused, nothing written.
    text = ckpt['meta']['cfg'] + (
        f"\nmodel = dict(type=__import__('os').system("
        f'{touch_command(marker)!r}))\n')
    evil = _tampered(checkpoint, tmp_path / 'b.pth', cfg=text)
    before = snapshot(tmp_path)
    with pytest.raises(PublishError, match='not plain data'):
        publish(DEMO, evil, str(tmp_path / 'out_b'),
                metrics=str(metrics), cfg_options=options)
    assert not marker.exists()
    assert not (tmp_path / 'out_b').exists()
    assert snapshot(tmp_path) == before


# ------------------------------------------------------ converter pickles
class Payload:
    """Runs ``command`` when unpickled with an unrestricted unpickler."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _split(n, payload=None):
    rng = np.random.default_rng(0)
    part = dict(audio=rng.standard_normal((n, 4, 3)).astype(np.float32),
                vision=rng.standard_normal((n, 4, 2)).astype(np.float32),
                text=rng.standard_normal((n, 4, 6)).astype(np.float32),
                id=np.array([f's{i}' for i in range(n)], dtype=object))
    part['labels'] = part['regression_labels'] = rng.standard_normal(
        n).astype(np.float32)
    if payload is not None:
        part['id'] = payload
    return part


@pytest.mark.parametrize('fmt', ['mmsa', 'mult'])
@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_converter_pickle_payload_is_refused(tmp_path, fmt, protocol):
    marker = tmp_path / 'ran'
    data = dict(train=_split(4), valid=_split(2),
                test=_split(2, Payload(touch_command(marker))))
    src = tmp_path / 'evil.pkl'
    with open(src, 'wb') as f:
        pickle.dump(data, f, protocol=protocol)
    before = snapshot(tmp_path)
    with pytest.raises(ConversionError) as err:
        convert(fmt, str(src), str(tmp_path / 'out'))
    message = str(err.value)
    assert f'{os.system.__module__}.system' in message  # posix.system
    assert 'evil.pkl' in message and 'nothing of it was run' in message
    assert not marker.exists()
    assert not (tmp_path / 'out').exists()
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('protocol', [2, 3, pickle.HIGHEST_PROTOCOL])
def test_restricted_unpickler_reads_real_release_contents(tmp_path,
                                                          protocol):
    """What MMSA/MulT releases hold (numpy float/str/object arrays, numpy
    scalars, lists, tuples) still converts, at every protocol."""
    data = dict(train=_split(4), valid=_split(2), test=_split(2))
    data['train']['raw_text'] = np.array(['a b', 'c', 'd', 'e'])
    data['valid']['raw_text'] = np.array(['f', 'g'])
    data['test']['raw_text'] = np.array(['h', 'i'])
    data['train']['annotations'] = ['Positive'] * 4
    data['valid']['annotations'] = ('Negative', 'Neutral')
    data['test']['annotations'] = np.array([b'x', b'y'], dtype=object)
    data['scale'] = np.float64(3.0)
    src = tmp_path / 'ok.pkl'
    with open(src, 'wb') as f:
        pickle.dump(data, f, protocol=protocol)
    report = convert('mmsa', str(src), str(tmp_path / 'out'))
    assert report['splits']['train']['samples'] == 4
