"""End to end through tools/train.py and tools/test.py (subprocesses)."""
import os.path as osp
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.engine import read_metrics

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
SIZES = dict(train=480, validation=96, test=96)


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo') / 'synthetic'
    return make_synthetic_iemocap(str(root), seed=0, sizes=SIZES)


def run(args, check=True):
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


def train(work_dir, data_root, *extra):
    return run(['tools/train.py', DEMO, '--work-dir', str(work_dir),
                '--cfg-options', f'data_root={data_root}',
                'train_cfg.max_epochs=3', *extra])


def metrics_of(work_dir):
    """``{'metrics': ..., 'checkpoint': absolute path}`` of a train run."""
    metrics, checkpoint = read_metrics(osp.join(work_dir,
                                                'test_metrics.json'))
    return dict(metrics=metrics, checkpoint=checkpoint)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, demo_data):
    """Work dir of one uninterrupted 3-epoch demo run."""
    work = tmp_path_factory.mktemp('uninterrupted') / 'a'
    train(work, demo_data)
    return work


def test_demo_learns_and_same_seed_gives_same_metrics(tmp_path, demo_data,
                                                      uninterrupted):
    train(tmp_path / 'b', demo_data)
    a, b = metrics_of(uninterrupted), metrics_of(tmp_path / 'b')
    assert a['metrics'] == b['metrics']
    assert osp.basename(a['checkpoint']).startswith('best_Acc-2_mean')
    assert a['metrics']['Acc-2_mean'] > 65  # chance is about 50
    # tools/test.py on the selected checkpoint reproduces the numbers.
    out = tmp_path / 'metrics.json'
    run(['tools/test.py', DEMO, a['checkpoint'], '--work-dir',
         str(tmp_path / 't'), '--out', str(out), '--cfg-options',
         f'data_root={demo_data}'])
    assert read_metrics(str(out)) == (a['metrics'], a['checkpoint'])


KILLER = textwrap.dedent('''
    import os, signal, sys
    from mmengine.hooks import Hook
    from mmengine.config import Config
    from normtr_plugin.engine import build_runner, merge_cfg_options

    class Kill(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.epoch == 1 and batch_idx == 10:
                os.kill(os.getpid(), signal.SIGKILL)

    cfg = merge_cfg_options(Config.fromfile(sys.argv[1]), dict(
        data_root=sys.argv[2], **{'train_cfg.max_epochs': 3}))
    cfg.work_dir = sys.argv[3]
    runner = build_runner(cfg)
    runner.register_hook(Kill())
    runner.train()
''')


def test_killed_run_resumes_and_finishes(tmp_path, demo_data,
                                         uninterrupted):
    script = tmp_path / 'killer.py'
    script.write_text(KILLER)
    work = tmp_path / 'run'
    proc = run([str(script), DEMO, demo_data, str(work)], check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert osp.exists(work / 'epoch_1.pth')
    assert not osp.exists(work / 'epoch_2.pth')
    first = tmp_path / 'epoch_1.pth'  # max_keep_ckpts will remove it
    shutil.copy(work / 'epoch_1.pth', first)

    proc = train(work, demo_data, '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log.split('resumed epoch: 1')[1]
    assert osp.exists(work / 'epoch_3.pth')
    # The checkpoints carry every random state (torch, numpy, python, the
    # sampler; validation draws from none of them): killed mid-epoch and
    # resumed, the run ends exactly where the uninterrupted one does.
    assert metrics_of(work)['metrics'] == \
        metrics_of(uninterrupted)['metrics']

    # --resume PATH into a fresh work dir continues from that checkpoint.
    other = tmp_path / 'explicit'
    proc = train(other, demo_data, '--resume', str(first))
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert osp.exists(other / 'epoch_3.pth')
    assert not osp.exists(other / 'epoch_1.pth')


def test_compiled_train_step_trains_through_the_runner(tmp_path, demo_data):
    """mmengine's ``compile`` setting: the Runner compiles ``train_step``
    (aot_eager here: no C++ toolchain needed); training, validation and
    testing go through it. That the erasure noise stays random per compiled
    step is asserted in tests/test_erasure_noise.py."""
    proc = train(tmp_path / 'c', demo_data, 'train_cfg.max_epochs=1',
                 'compile.backend=aot_eager')
    assert 'Model has been "compiled"' in proc.stdout + proc.stderr
    metrics = metrics_of(tmp_path / 'c')['metrics']
    assert 50 <= metrics['Acc-2_mean'] <= 100
