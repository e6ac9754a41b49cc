"""Two processes through `accelerate launch`, as the README says.

They run on CPU (gloo) whenever fewer GPUs than processes are visible: two
NCCL processes on one GPU fail ("Duplicate GPU detected").
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.engine import read_metrics

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
TESTS = osp.join(ROOT, 'tests')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist') / 'synthetic'
    return make_synthetic_iemocap(
        str(root), seed=0, sizes=dict(train=320, validation=64, test=80))


PROBE_CONFIG = f'''_base_ = [{DEMO!r}]
custom_imports = dict(imports=['dist_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='DistProbeHook')]
'''


PROCESSES = 2


def device_args():
    """GPUs hidden (gloo on CPU) unless there is one per process. Not
    ``--cpu``: with it Accelerate starts one process only."""
    if torch.cuda.device_count() >= PROCESSES:
        return [], {}
    return [], dict(CUDA_VISIBLE_DEVICES='')


def launch(work_dir, data_root, *extra, env=None):
    config = osp.join(osp.dirname(work_dir), 'probe_config.py')
    with open(config, 'w') as f:
        f.write(PROBE_CONFIG)
    flags, device_env = device_args()
    cmd = [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu',
           *flags, '--num_processes', str(PROCESSES), '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no',
           '--main_process_port', '29533', 'tools/train.py', config,
           '--work-dir', str(work_dir), *extra, '--cfg-options',
           f'data_root={data_root}', 'train_cfg.max_epochs=3']
    full_env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep +
                    os.environ.get('PYTHONPATH', ''), **device_env,
                    **(env or {}))
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env=full_env, timeout=900)


def probes(work_dir):
    out = []
    for rank in (0, 1):
        with open(osp.join(work_dir, f'probe_rank{rank}.json')) as f:
            out.append(json.load(f))
    return out


def test_two_processes_shard_data_agree_and_match_one_process(tmp_path,
                                                               data):
    work = tmp_path / 'ddp'
    proc = launch(work, data)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    r0, r1 = probes(work)
    assert r0['world_size'] == r1['world_size'] == 2
    assert len(r0['ids']) == len(r1['ids']) == 160
    assert not set(r0['ids']) & set(r1['ids'])        # disjoint halves
    assert len(set(r0['ids']) | set(r1['ids'])) == 320  # the whole split
    assert r0['digest'] == r1['digest']                 # same parameters
    metrics, checkpoint = read_metrics(str(work / 'test_metrics.json'))
    dist = dict(metrics=metrics, checkpoint=checkpoint)
    single = tmp_path / 'single.json'
    subprocess.run([sys.executable, 'tools/test.py', DEMO, dist['checkpoint'],
                    '--work-dir', str(tmp_path / 'one'), '--out',
                    str(single), '--cfg-options', f'data_root={data}'],
                   cwd=ROOT, check=True, capture_output=True)
    one, _ = read_metrics(str(single))
    assert one.keys() == dist['metrics'].keys()
    for key, value in one.items():
        assert dist['metrics'][key] == pytest.approx(value, abs=1e-9), key
    # one set of files, written by rank 0
    assert sorted(p for p in os.listdir(work) if p.endswith('.pth')) == [
        'best_Acc-2_mean_epoch_3.pth', 'epoch_2.pth', 'epoch_3.pth'] or \
        len([p for p in os.listdir(work) if p.startswith('best_')]) == 1


def test_killed_distributed_run_resumes(tmp_path, data):
    work = tmp_path / 'ddp'
    proc = launch(work, data, env=dict(PROBE_KILL_EPOCH='1'))
    assert proc.returncode != 0
    assert osp.exists(work / 'epoch_1.pth')
    assert not osp.exists(work / 'epoch_2.pth')
    shutil.rmtree(work / 'probe_rank0.json', ignore_errors=True)
    proc = launch(work, data, '--resume')
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'resumed epoch: 1' in log
    assert osp.exists(work / 'epoch_3.pth')
    r0, r1 = probes(work)
    assert r0['digest'] == r1['digest']


def test_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    from normtr_plugin.engine.distributed import check_gpus_per_process
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    with pytest.raises(RuntimeError, match='2 processes on this node but '
                       'only 1 GPU'):
        check_gpus_per_process()
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    check_gpus_per_process()  # one process per GPU is fine
