"""Shared by the bad-input tests: tiny demo runs, tool runs, snapshots."""
import hashlib
import os
import os.path as osp
import subprocess
import sys
import uuid

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap
from mmengine.config import Config

from normtr_plugin.engine import merge_cfg_options, prepare_config

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
MOSI = osp.join(ROOT, 'configs', 'normtr_mosi.py')
MOSI_DIMS = dict(audio=5, video=20, text=768)
TINY = dict(train=64, validation=16, test=16)


def tiny_demo_data(root) -> str:
    return make_synthetic_iemocap(str(root), seed=0, sizes=TINY)


def tiny_cfg(config, data_root, work_dir, **options):
    """A config for a fast in-process Runner: small model, 2 epochs."""
    opts = {'data_root': str(data_root), 'train_cfg.max_epochs': 2,
            'model.embed_dim': 32, 'default_hooks.logger.interval': 1}
    opts.update(options)
    cfg = merge_cfg_options(Config.fromfile(config), opts)
    cfg.work_dir = str(work_dir)
    prepare_config(cfg)  # what NormTRRunner decides; plain Runner runs it
    # mmengine keeps one logger / message hub per experiment name.
    cfg.experiment_name = f'tiny_{uuid.uuid4().hex[:12]}'
    return cfg


def run_tool(args, timeout=600):
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
    return subprocess.run([sys.executable] + [str(a) for a in args],
                          cwd=ROOT, env=env, text=True, capture_output=True,
                          timeout=timeout)


def snapshot(folder) -> dict:
    """relative path -> (sha256, mode) of every file under ``folder``."""
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            path = osp.join(d, f)
            with open(path, 'rb') as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            out[osp.relpath(path, folder)] = (digest, os.stat(path).st_mode)
    return out


def rehash(checkpoint: dict) -> dict:
    """What an attacker who edits a checkpoint can also do: store the
    content hash of the edited checkpoint (``checkpoint_digest.py``), so the
    guard under test, not the hash, has to stop the edit."""
    from normtr_plugin.engine.checkpoint_digest import (CONTENT_HASH_KEY,
                                                        content_hashes)
    checkpoint['meta'][CONTENT_HASH_KEY] = content_hashes(checkpoint)
    return checkpoint
