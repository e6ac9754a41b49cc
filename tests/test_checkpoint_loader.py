"""Tests for normtr_plugin.engine.checkpoint_loader.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; on torch >= 2.6
that means ``weights_only=True`` and its own checkpoints (HistoryBuffer, numpy
arrays/scalars in the message hub) no longer load. The plugin registers a
loader that keeps ``weights_only=True`` with a narrow allowlist.
"""
import copy
import os
import pickle
import uuid

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from normtr_plugin.engine import (load_checkpoint_safely,
                                  register_checkpoint_loader)
from normtr_plugin.engine.checkpoint_loader import (
    CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError,
    load_from_local_weights_only)

TORCH_GE_26 = torch.__version__ >= '2.6'  # torch.torch_version.TorchVersion


# ---------------------------------------------------------------------------
# Toy runner
# ---------------------------------------------------------------------------
class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(inputs).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(8, 2, generator=gen)
        self.y = torch.randn(8, generator=gen)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


class ToyMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(sum(float(s.abs().sum()) for s in data_samples))

    def compute_metrics(self, results):
        return dict(score=sum(results))


class SnapshotHook(Hook):
    """Records counters and weights at ``before_train`` (i.e. after resume)."""

    def before_train(self, runner):
        self.epoch = runner.epoch
        self.iter = runner.iter
        self.state_dict = {
            k: v.detach().cpu().clone()
            for k, v in runner.model.state_dict().items()
        }
        loss_buffer = runner.message_hub.log_scalars.get('train/loss')
        self.loss_buffer_type = type(loss_buffer)
        self.loss_history = loss_buffer.data[0].copy()
        self.optim_state = copy.deepcopy(runner.optim_wrapper.state_dict())


def _dataloader():
    return dict(
        dataset=ToyDataset(),
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        batch_size=2,
        num_workers=0)


def _make_runner(work_dir, max_epochs, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'ckpt_loader_{uuid.uuid4().hex}',
        train_dataloader=_dataloader(),
        val_dataloader=_dataloader(),
        val_evaluator=[ToyMetric()],
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True,
                 begin=0, end=1),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=2,
                 T_max=1),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        **kwargs)


@pytest.fixture(scope='module', autouse=True)
def safe_loader():
    """What the tools and CheckpointGuardHook do: install the safe loader
    explicitly (importing the plugin does not; tests/
    test_import_side_effects.py)."""
    register_checkpoint_loader()


@pytest.fixture(scope='module')
def epoch1_ckpt(tmp_path_factory):
    """Train 1 epoch and return the path of ``epoch_1.pth``."""
    work_dir = tmp_path_factory.mktemp('train_1_epoch')
    _make_runner(work_dir, max_epochs=1).train()
    path = work_dir / 'epoch_1.pth'
    assert path.is_file()
    return str(path)


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------
def test_registered_explicitly_and_idempotent():
    assert CheckpointLoader._get_checkpoint_loader('/some/file.pth') is \
        load_from_local_weights_only
    register_checkpoint_loader()
    register_checkpoint_loader()
    assert CheckpointLoader._schemes[''] is load_from_local_weights_only
    # other schemes untouched
    assert CheckpointLoader._get_checkpoint_loader('https://x/y.pth') is \
        mmengine_checkpoint.load_from_http


# ---------------------------------------------------------------------------
# (a) resume
# ---------------------------------------------------------------------------
def test_resume_continues_from_epoch_1(epoch1_ckpt, tmp_path):
    saved = torch.load(epoch1_ckpt, map_location='cpu', weights_only=False)
    assert saved['meta']['epoch'] == 1 and saved['meta']['iter'] == 4

    snap = SnapshotHook()
    runner = _make_runner(
        tmp_path, max_epochs=2, resume=True, load_from=epoch1_ckpt,
        custom_hooks=[snap])
    runner.train()

    # counters and weights right after resume equal the saved ones
    assert snap.epoch == saved['meta']['epoch'] == 1
    assert snap.iter == saved['meta']['iter'] == 4
    assert snap.state_dict.keys() == saved['state_dict'].keys()
    for key, value in saved['state_dict'].items():
        torch.testing.assert_close(snap.state_dict[key], value, rtol=0, atol=0)
    # message hub (HistoryBuffer + numpy arrays) and optimizer state restored
    assert snap.loss_buffer_type is HistoryBuffer
    np.testing.assert_array_equal(
        snap.loss_history,
        saved['message_hub']['log_scalars']['train/loss'].data[0])
    assert len(snap.loss_history) == 4
    assert snap.optim_state['state'][0]['step'].item() == 4
    # ... and training went on to epoch 2
    assert runner.epoch == 2 and runner.iter == 8
    assert (tmp_path / 'epoch_2.pth').is_file()
    ckpt2 = load_checkpoint_safely(str(tmp_path / 'epoch_2.pth'))
    assert ckpt2['meta']['epoch'] == 2
    # a checkpoint saved after validation also holds val/* buffers
    runner.save_checkpoint(str(tmp_path), 'after_val.pth')
    ckpt3 = load_checkpoint_safely(str(tmp_path / 'after_val.pth'))
    assert 'val/score' in ckpt3['message_hub']['log_scalars']


def test_load_from_without_resume(epoch1_ckpt, tmp_path):
    runner = _make_runner(tmp_path, max_epochs=1, load_from=epoch1_ckpt)
    runner.load_or_resume()
    saved = load_checkpoint_safely(epoch1_ckpt, map_location='cpu')
    for key, value in saved['state_dict'].items():
        torch.testing.assert_close(
            runner.model.state_dict()[key].cpu(), value, rtol=0, atol=0)


@pytest.mark.skipif(not TORCH_GE_26, reason='torch < 2.6 loads unsafely')
def test_resume_fails_without_the_fix(epoch1_ckpt, tmp_path, monkeypatch):
    """mmengine's own loader can't read the checkpoint on torch >= 2.6."""
    monkeypatch.setitem(CheckpointLoader._schemes, '',
                        mmengine_checkpoint.load_from_local)
    runner = _make_runner(
        tmp_path, max_epochs=2, resume=True, load_from=epoch1_ckpt)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        runner.train()


def test_config_dict_dataset_meta_loads(tmp_path):
    """dataset_meta coming from a config holds ConfigDicts."""
    path = tmp_path / 'cfg.pth'
    meta = ConfigDict(classes=('a', 'b'), extra=dict(x=1))
    torch.save(dict(meta=dict(dataset_meta=meta),
                    state_dict=ToyModel().state_dict()), path)
    ckpt = load_checkpoint_safely(str(path))
    assert isinstance(ckpt['meta']['dataset_meta'], ConfigDict)
    assert ckpt['meta']['dataset_meta'].extra.x == 1


def test_allowlist_does_not_leak_into_global_safe_globals(epoch1_ckpt):
    load_checkpoint_safely(epoch1_ckpt)
    leaked = set(CHECKPOINT_SAFE_GLOBALS) & set(
        torch.serialization.get_safe_globals())
    assert not leaked


# ---------------------------------------------------------------------------
# (b) malicious pickles are refused and nothing runs
# ---------------------------------------------------------------------------
def _write_marker(path):
    with open(path, 'w') as f:
        f.write('pwned')
    return 'pwned'


class _CustomPayload:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (_write_marker, (self.marker, ))


class _OsSystemPayload(_CustomPayload):

    def __reduce__(self):
        return (os.system, (f'echo pwned > {self.marker}', ))


class _GetattrPayload(_CustomPayload):
    """getattr(HistoryBuffer, '__init__'): the getattr stand-in must refuse
    anything but HistoryBuffer's statistics methods."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize(
    'payload_cls, global_name',
    [(_CustomPayload, '_write_marker'), (_OsSystemPayload, 'system'),
     (_GetattrPayload, 'getattr')])
def test_malicious_pickle_refused(tmp_path, payload_cls, global_name):
    marker = tmp_path / 'marker.txt'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=payload_cls(str(marker))), path)

    with pytest.raises(UnsafeCheckpointError) as exc_info:
        load_checkpoint_safely(str(path))
    msg = str(exc_info.value)
    assert str(path) in msg
    assert global_name in msg
    assert "project's own training" in msg
    assert not marker.exists(), 'payload was executed'

    # Same through mmengine's entry point (Runner.load_checkpoint / resume).
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists(), 'payload was executed'


# ---------------------------------------------------------------------------
# (c) missing file
# ---------------------------------------------------------------------------
def test_missing_file(tmp_path):
    path = tmp_path / 'nope' / 'epoch_3.pth'
    with pytest.raises(FileNotFoundError, match=str(path)):
        load_checkpoint_safely(str(path))
    with pytest.raises(FileNotFoundError, match=str(path)):
        CheckpointLoader.load_checkpoint(str(path))


def test_user_path_expanded(epoch1_ckpt, monkeypatch):
    monkeypatch.setenv('HOME', os.path.dirname(epoch1_ckpt))
    ckpt = load_checkpoint_safely('~/epoch_1.pth', map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
