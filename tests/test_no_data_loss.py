"""No crash loses a checkpoint or a user's folder (issue 11, "data loss").

Kills at exact moments are injected faults: the writer raises halfway
through a file. Each case asserts the clear error (where there is one),
that what was on disk before is intact and readable, and that nothing of
the user's was changed.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import ROOT, write_dataset
from normtr_plugin import from_pretrained
from normtr_plugin.datasets.converters import convert
from normtr_plugin.datasets.hub import export_hub_folder
from normtr_plugin.engine import (ResumeError, load_checkpoint_safely,
                                  resolve_resume)
from normtr_plugin.engine import atomic_backend, checkpoint_hook
from normtr_plugin.extraction import read_manifest
from normtr_plugin.hub.publish import publish
from normtr_plugin.models import NormTR
from normtr_plugin.utils import MARKER, atomic_write, write_json
from normtr_plugin.utils.errors import run_tool as run_main
from normtr_plugin.hub import save_pretrained
from safety_helpers import (DEMO, rehash, run_tool, snapshot, tiny_cfg,
                            tiny_demo_data)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return tiny_demo_data(tmp_path_factory.mktemp('noloss') / 'data')


def train(data, work, hooks=(), **options):
    runner = Runner.from_cfg(tiny_cfg(DEMO, data, work, **options))
    for hook in hooks:
        runner.register_hook(hook)
    runner.train()
    return runner


# --------------------------------------------------- atomic checkpoints
class _Halfway:
    """A file whose write stores half the data, then fails (a kill)."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        raise OSError('injected fault: killed halfway through the write')


def _fault_on_call(n):
    """An ``atomic_write`` that fails halfway on its ``n``-th use."""
    calls = []

    @contextmanager
    def faulty(path, mode='w', encoding=None):
        calls.append(path)
        with atomic_write(path, mode, encoding) as f:
            yield _Halfway(f) if len(calls) == n else f
    return faulty, calls


def _check_work_dir(work):
    """Every checkpoint loads, last_checkpoint names one, no temp left."""
    names = os.listdir(work)
    assert not [n for n in names if n.startswith('.tmp-')], names
    for name in names:
        if name.endswith('.pth'):
            load_checkpoint_safely(osp.join(work, name))
    pointer = osp.join(work, 'last_checkpoint')
    if osp.exists(pointer):
        with open(pointer) as f:
            assert osp.isfile(f.read().strip())


# Writes of a 2-epoch run: 1 epoch_1.pth, 2 best_..._epoch_1.pth, 3 the
# re-save of epoch_1.pth after the new best, then epoch 2 alike.
@pytest.mark.parametrize('write', ['checkpoint 1', 'checkpoint 2',
                                   'checkpoint 3', 'checkpoint 4',
                                   'last_checkpoint 2'])
def test_a_kill_while_writing_never_leaves_a_bad_checkpoint(
        data, tmp_path, monkeypatch, write):
    what, n = write.split()
    faulty, calls = _fault_on_call(int(n))
    module = atomic_backend if what == 'checkpoint' else checkpoint_hook
    if what == 'checkpoint':
        monkeypatch.setattr(module, 'atomic_write', faulty)
    else:
        def write_text(path, text):
            with faulty(path) as f:
                f.write(text)
        monkeypatch.setattr(module, 'write_text', write_text)
    work = tmp_path / 'work'
    with pytest.raises(OSError, match='injected fault'):
        train(data, work)
    faulted = calls[int(n) - 1]
    _check_work_dir(work)
    if int(n) == 1 and what == 'checkpoint':
        assert not osp.exists(faulted)
        with pytest.raises(ResumeError, match='no checkpoint to resume'):
            resolve_resume(str(work))
        return
    # --resume continues from what is on disk and finishes.
    monkeypatch.undo()
    path = resolve_resume(str(work))
    cfg = tiny_cfg(DEMO, data, work)
    cfg.resume, cfg.load_from = True, path
    Runner.from_cfg(cfg).train()
    assert osp.isfile(work / 'epoch_2.pth')
    _check_work_dir(work)


class EveryEpochIsBest(Hook):
    """Makes each validation a new best (the tiny model's metrics do not
    move), so that every epoch writes a best checkpoint."""

    def after_val_epoch(self, runner, metrics=None):
        metrics['Acc-2_mean'] = float(runner.epoch)


def test_a_kill_while_writing_a_new_best_keeps_the_previous_best(
        data, tmp_path, monkeypatch):
    """mmengine deletes the previous best before writing the new one; here
    it goes only once the new one is complete."""
    # Writes: 1 epoch_1, 2 best_..._epoch_1, 3 epoch_1 again, 4 epoch_2,
    # 5 best_..._epoch_2: killed halfway.
    faulty, calls = _fault_on_call(5)
    monkeypatch.setattr(atomic_backend, 'atomic_write', faulty)
    work = tmp_path / 'work'
    with pytest.raises(OSError, match='injected fault'):
        train(data, work, hooks=[EveryEpochIsBest()])
    assert osp.basename(calls[4]) == 'best_Acc-2_mean_epoch_2.pth'
    assert not osp.exists(calls[4])
    load_checkpoint_safely(work / 'best_Acc-2_mean_epoch_1.pth')
    _check_work_dir(work)


def test_truncated_checkpoint_on_resume_names_the_newest_readable(
        data, tmp_path):
    work = tmp_path / 'work'
    train(data, work)
    with open(work / 'epoch_2.pth', 'r+b') as f:  # a crash of old times
        f.truncate(os.path.getsize(work / 'epoch_2.pth') // 3)
    before = snapshot(work)
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work, '--resume',
                     '--cfg-options', f'data_root={data}'])
    assert proc.returncode != 0
    err = proc.stderr
    assert f"checkpoint '{work / 'epoch_2.pth'}'" in err
    assert 'named by' in err and 'cannot be read' in err
    assert f"the newest readable checkpoint is '{work / 'epoch_1.pth'}'" \
        in err
    assert snapshot(work) == before


def test_checkpoints_carry_every_random_state(data, tmp_path):
    train(data, tmp_path / 'work', **{'model.noise.seed': 3})
    meta = load_checkpoint_safely(tmp_path / 'work' / 'epoch_2.pth')['meta']
    rng = meta['rng_state']
    assert {'torch', 'numpy', 'python', 'modules', 'sampler'} <= set(rng)
    assert 'noise' in rng['modules']  # ErasureNoise's own generator
    assert rng['sampler']['seed'] == 0
    assert 'cfg' in meta  # still written, never executed


# ---------------------------------------------- folders of the user's
def _mult_pickle(path, sizes=(4, 2, 2)):
    rng = np.random.default_rng(0)
    data = {}
    for split, n in zip(('train', 'valid', 'test'), sizes):
        data[split] = dict(audio=rng.standard_normal((n, 3, 2)),
                           vision=rng.standard_normal((n, 3, 2)),
                           text=rng.standard_normal((n, 3, 2)),
                           labels=rng.standard_normal(n))
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return str(path)


def test_overwrite_replaces_only_a_folder_this_project_wrote(tmp_path):
    src = _mult_pickle(tmp_path / 'd.pkl')
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('my notes')
    before = snapshot(mine)
    for overwrite in (False, True):
        with pytest.raises(FileExistsError) as err:
            convert('mult', src, str(mine), overwrite=overwrite)
        if overwrite:
            assert 'not written by normtr_plugin' in str(err.value)
    with pytest.raises(FileExistsError, match='not written by'):
        export_hub_folder(write_dataset(tmp_path / 'saved', dict(a=2)),
                          str(mine), overwrite=True)
    assert snapshot(mine) == before
    out = tmp_path / 'out'
    convert('mult', src, str(out))
    assert (out / MARKER).is_file()
    convert('mult', src, str(out), overwrite=True)  # ours: replaced
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.tmp')]


KILLED_CONVERSION = textwrap.dedent('''
    import os, signal, sys
    from normtr_plugin.datasets import feature_format
    from normtr_plugin.datasets.converters import convert
    real = feature_format.FeatureDatasetWriter.write_split

    def write_split(self, name, *args, **kwargs):
        if name == 'validation':  # killed while writing the 2nd split
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, name, *args, **kwargs)

    feature_format.FeatureDatasetWriter.write_split = write_split
    convert('mult', sys.argv[1], sys.argv[2])
''')


def test_a_killed_conversion_leaves_nothing_at_the_next_run(tmp_path):
    src = _mult_pickle(tmp_path / 'd.pkl')
    users = tmp_path / '.tmp-users-own'  # looks alike, has no marker
    users.mkdir()
    (users / 'keep.txt').write_text('mine')
    script = tmp_path / 'kill.py'
    script.write_text(KILLED_CONVERSION)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get(
        'PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, str(script), src,
                           str(tmp_path / 'out')], env=env, timeout=300,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    left = [p for p in tmp_path.iterdir()
            if p.name.startswith('.tmp-') and p != users]
    assert len(left) == 1 and (left[0] / MARKER).is_file()
    assert not (tmp_path / 'out').exists()
    convert('mult', src, str(tmp_path / 'out'))
    assert not left[0].exists()
    assert (users / 'keep.txt').read_text() == 'mine'
    assert (tmp_path / 'out' / 'feature_stats.json').is_file()


@pytest.mark.parametrize('umask', [0o022, 0o027])
def test_written_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / 'out'
        convert('mult', _mult_pickle(tmp_path / 'd.pkl'), str(out))
        write_json(str(tmp_path / 'm.json'), dict(a=1.0))
        save_pretrained(NormTR(
            modalities=dict(audio=3), seq_len=2, embed_dim=8,
            fusion=dict(type='FusionDecoder', depth=1, num_heads=2),
            head=dict(type='RegressionHead')), str(tmp_path / 'model'))
    finally:
        os.umask(old)
    files = [tmp_path / 'm.json', tmp_path / 'model' / 'config.json',
             tmp_path / 'model' / 'model.safetensors']
    for d, dirs, names in os.walk(out):
        files += [osp.join(d, n) for n in names]
        assert os.stat(d).st_mode & 0o777 == 0o777 & ~umask, d
    for path in files:
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask, path


def test_manifest_paths_stay_in_the_manifest_folder(tmp_path):
    folder = tmp_path / 'media'
    folder.mkdir()
    (tmp_path / 'secret.wav').write_bytes(b'RIFF')
    (folder / 'link.wav').symlink_to(tmp_path / 'secret.wav')
    (folder / 'ok.wav').write_bytes(b'RIFF')
    for path in ('../secret.wav', str(tmp_path / 'secret.wav'), 'link.wav',
                 '../../../../../../etc/passwd'):
        manifest = folder / 'm.csv'
        manifest.write_text(f'id,split,label,audio\na,train,x,ok.wav\n'
                            f'b,train,y,{path}\n')
        with pytest.raises(ValueError) as err:
            read_manifest(str(manifest))
        assert 'line 3' in str(err.value) and 'outside' in str(err.value)
        assert '--allow-outside' in str(err.value)
        man = read_manifest(str(manifest), allow_outside=True)
        assert man.splits['train'][1].media['audio'].endswith(
            osp.basename(path))


# ------------------------------------------------------------ publishing
class FakeApi:
    """Uploads what huggingface_hub would: the files allow_patterns match.
    """

    def __init__(self):
        self.uploaded = None

    def create_repo(self, *args, **kwargs):
        pass

    def upload_folder(self, folder_path, allow_patterns, **kwargs):
        import fnmatch
        self.uploaded = sorted(
            n for n in os.listdir(folder_path)
            if any(fnmatch.fnmatch(n, p) for p in allow_patterns))
        return 'commit'


def test_publish_keeps_the_users_files_and_uploads_only_its_own(data,
                                                                tmp_path):
    work = tmp_path / 'work'
    train(data, work, **{'train_cfg.max_epochs': 1})
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({'Acc-2_mean': 55.0}))
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'README.md').write_text('my own readme')
    (out / 'token.json').write_text('{"token": "hf_secret"}')
    before = snapshot(out)
    options = dict(data_root=data, **{'model.embed_dim': 32})
    with pytest.raises(FileExistsError, match='exists; pass overwrite'):
        publish(DEMO, str(work / 'epoch_1.pth'), str(out),
                metrics=str(metrics), cfg_options=options)
    # the folder is written whole: one of the user's is never replaced
    with pytest.raises(FileExistsError,
                       match='not written by normtr_plugin'):
        publish(DEMO, str(work / 'epoch_1.pth'), str(out),
                metrics=str(metrics), cfg_options=options, overwrite=True)
    assert snapshot(out) == before
    api, fresh = FakeApi(), tmp_path / 'fresh'
    publish(DEMO, str(work / 'epoch_1.pth'), str(fresh),
            metrics=str(metrics), cfg_options=options, repo_id='me/m',
            api=api)
    assert api.uploaded == ['README.md', 'SHA256SUMS', 'config.json',
                            'metrics.json', 'model.safetensors']
    from_pretrained(str(fresh))  # what was written is complete


# ------------------------------------------- issue 18: hostile inputs
def _tree(root, skip=()):
    """:func:`snapshot` of ``root`` without the folders in ``skip``."""
    return {k: v for k, v in snapshot(root).items()
            if not any(k == s or k.startswith(s + os.sep) for s in skip)}


def _resume(data, work, path, hooks=(), **options):
    """Resume ``path`` into ``work`` in-process, as ``--resume`` does."""
    cfg = tiny_cfg(DEMO, data, work, **options)
    cfg.resume, cfg.load_from = True, str(path)
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    runner.train()
    return runner


@pytest.fixture(scope='module')
def run_a(data, tmp_path_factory):
    """A finished 2-epoch run whose best checkpoint is epoch 2's."""
    work = tmp_path_factory.mktemp('run_a') / 'runA'
    train(data, work, hooks=[EveryEpochIsBest()])
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == [
        'best_Acc-2_mean_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth']
    return work


def test_resume_from_a_copied_checkpoint_keeps_the_original_runs_best(
        data, run_a, tmp_path):
    """Case 1 without an attacker: runA's epoch_2.pth copied into runB and
    resumed there. Its message hub names runA's best checkpoint, which
    mmengine deletes at runB's first new best; here runB removes only what
    it wrote."""
    run_b = tmp_path / 'runB'
    run_b.mkdir()
    shutil.copy(run_a / 'epoch_2.pth', run_b / 'epoch_2.pth')
    hub = load_checkpoint_safely(run_b / 'epoch_2.pth')['message_hub']
    assert hub['runtime_info']['best_ckpt'] == str(
        run_a / 'best_Acc-2_mean_epoch_2.pth')  # what mmengine would delete
    before, copied = snapshot(run_a), snapshot(run_b)
    runner = _resume(data, run_b, run_b / 'epoch_2.pth',
                     hooks=[EveryEpochIsBest()],
                     **{'train_cfg.max_epochs': 4})
    assert snapshot(run_a) == before
    assert snapshot(run_b)['epoch_2.pth'] == copied['epoch_2.pth']
    # runB's own best: chosen among its epochs, the older one removed
    assert runner.message_hub.get_info('best_ckpt') == str(
        run_b / 'best_Acc-2_mean_epoch_4.pth')
    assert sorted(n for n in os.listdir(run_b) if n.endswith('.pth')) == [
        'best_Acc-2_mean_epoch_4.pth', 'epoch_2.pth', 'epoch_3.pth',
        'epoch_4.pth']


def test_a_crafted_checkpoint_cannot_make_resume_delete_a_users_folder(
        data, run_a, tmp_path):
    """Case 1: a checkpoint whose message hub names a user's folder as the
    previous best (and a kept checkpoint list) is resumed with
    ``tools/train.py --resume``: the run finishes, says it ignores the
    foreign path, and removes nothing of the user's."""
    user = tmp_path / 'thesis'
    user.mkdir()
    (user / 'thesis.tex').write_text('years of work')
    checkpoint = load_checkpoint_safely(run_a / 'epoch_2.pth')
    info = checkpoint['message_hub']['runtime_info']
    info['best_ckpt'], info['best_score'] = str(user), -1e9
    info['keep_ckpt_ids'] = [1, 2]
    crafted = tmp_path / 'downloads' / 'crafted.pth'
    crafted.parent.mkdir()
    torch.save(rehash(checkpoint), crafted)
    work = tmp_path / 'work'
    before, run_a_files = _tree(tmp_path, skip=['work']), snapshot(run_a)
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work, '--resume',
                     crafted, '--force', '--no-test', '--cfg-options',
                     f'data_root={data}', 'model.embed_dim=32',
                     'train_cfg.max_epochs=3'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert f"best checkpoint(s) ['{user}']" in log
    assert 'neither used nor removed' in log
    assert _tree(tmp_path, skip=['work']) == before
    assert snapshot(run_a) == run_a_files
    assert osp.isfile(work / 'best_Acc-2_mean_epoch_3.pth')


def test_a_fresh_run_over_an_earlier_run_is_refused(data, run_a, tmp_path):
    """Case 3: training afresh (here with another embed_dim) in a work dir
    holding a run's checkpoints is refused unless --resume or --overwrite;
    --overwrite removes only the checkpoints that run wrote."""
    work = tmp_path / 'work'
    shutil.copytree(run_a, work)
    base = ['tools/train.py', DEMO, '--work-dir', work, '--no-test']
    options = ['--cfg-options', f'data_root={data}', 'model.embed_dim=16',
               'train_cfg.max_epochs=1']
    before = snapshot(tmp_path)
    proc = run_tool(base + options)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"train.py: error: work dir '{work}' holds the checkpoints of an "
        "earlier run (best_Acc-2_mean_epoch_2.pth, epoch_1.pth, "
        "epoch_2.pth, last_checkpoint); a fresh run would overwrite them: "
        "pass --resume to continue that run, --overwrite to replace it, or "
        "choose another --work-dir"]
    proc = run_tool(base + ['--resume', '--overwrite'] + options)
    assert proc.returncode == 2 and 'pass one of them' in proc.stderr
    assert snapshot(tmp_path) == before
    (work / 'notes.txt').write_text('mine')  # not the run's: kept
    (work / 'epoch_9.pth').write_text('mine too')  # not in the ledger
    proc = run_tool(base + ['--overwrite'] + options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    left = {n for n in os.listdir(work) if n.endswith('.pth')}
    assert left == {'epoch_1.pth', 'epoch_9.pth',
                    'best_Acc-2_mean_epoch_1.pth'}
    assert 'embed_dim=16' in load_checkpoint_safely(
        work / 'epoch_1.pth')['meta']['cfg']  # the new run's
    assert (work / 'notes.txt').read_text() == 'mine'
    assert (work / 'epoch_9.pth').read_text() == 'mine too'


HOLD_LOCK = textwrap.dedent('''
    import sys, time
    from normtr_plugin.engine.work_dir_lock import work_dir_lock
    with work_dir_lock(sys.argv[1]):
        print('locked', flush=True)
        time.sleep(600)
''')


def test_a_second_run_on_a_locked_work_dir_is_refused(data, tmp_path):
    """Case 5: while one run holds the work dir, a second train.py is
    refused with one line naming the first one's pid, and changes
    nothing; a killed holder leaves a stale lock file, which the next run
    takes over (and it removes the temporary files killed saves left)."""
    from normtr_plugin.engine.work_dir_lock import (
        LOCK_NAME, WorkDirBusyError, work_dir_lock)
    work = tmp_path / 'work'
    script = tmp_path / 'hold.py'
    script.write_text(HOLD_LOCK)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get(
        'PYTHONPATH', ''))
    holder = subprocess.Popen([sys.executable, str(script), str(work)],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        before = snapshot(tmp_path)
        proc = run_tool(['tools/train.py', DEMO, '--work-dir', work,
                         '--cfg-options', f'data_root={data}'])
        assert proc.returncode == 2
        line, = proc.stderr.strip().splitlines()
        assert line.startswith(f"train.py: error: work dir '{work}' is in "
                               f'use by another training run (pid '
                               f'{holder.pid} on host ')
        assert 'choose another --work-dir' in line
        assert snapshot(tmp_path) == before
        with pytest.raises(WorkDirBusyError, match=f'pid {holder.pid}'):
            with work_dir_lock(str(work)):
                pass
    finally:
        holder.kill()
        holder.wait()
    lock = work / LOCK_NAME
    assert f'"pid": {holder.pid}' in lock.read_text()  # stale: pid gone
    ours = [work / '.tmp-epoch_1.pth-ab12cd34',
            work / '.tmp-last_checkpoint-x_9y8z7w']
    users = [work / '.tmp-notes.txt', work / '.tmp-thesis.tex-ab12cd34']
    for path in ours + users:
        path.write_text('left over')
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work,
                     '--no-test', '--cfg-options', f'data_root={data}',
                     'model.embed_dim=32', 'train_cfg.max_epochs=1'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not any(p.exists() for p in ours) and not lock.exists()
    assert all(p.read_text() == 'left over' for p in users)
    assert osp.isfile(work / 'epoch_1.pth')
    # under accelerate/torchrun only rank 0 locks (tools/train.py)
    from normtr_plugin.engine.distributed import launch_rank
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('WORLD_SIZE', '2')
        mp.setenv('RANK', '1')
        assert launch_rank() == 1


class _KillAt(Hook):
    """Raises (a kill) at one point of epoch 1's validation."""

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        if runner.epoch == 1 and batch_idx == 0:
            raise OSError('injected fault: killed during validation')


class FirstEpochIsBest(Hook):
    """Makes epoch 1 the best on validation, so skipping its validation
    changes which weights are tested."""

    def after_val_epoch(self, runner, metrics=None):
        metrics['Acc-2_mean'] = 100.0 - runner.epoch


def _test_best(runner):
    """What ``NormTRRunner.test_selected`` does: test the best."""
    best = runner.message_hub.get_info('best_ckpt')
    runner.load_checkpoint(best)
    return runner.test(), osp.basename(best)


@pytest.mark.parametrize('kill', ['validation', 'best save', 're-save'])
def test_resume_after_a_kill_in_validation_is_exact(data, tmp_path,
                                                    monkeypatch, kill):
    """Case 6: a kill during epoch 1's validation, its best checkpoint save
    or the re-save after it leaves epoch_1.pth saved before validation;
    the resumed run validates epoch 1 again and tests the same weights
    with the same metrics as an uninterrupted run."""
    options = {'train_cfg.max_epochs': 3}
    expected = _test_best(train(data, tmp_path / 'uninterrupted',
                                hooks=[FirstEpochIsBest()], **options))
    assert expected[1] == 'best_Acc-2_mean_epoch_1.pth'
    work = tmp_path / 'work'
    hooks = [FirstEpochIsBest()]
    if kill == 'validation':
        hooks.append(_KillAt())
    else:  # writes: 1 epoch_1.pth, 2 best_..._epoch_1.pth, 3 epoch_1 again
        faulty, _ = _fault_on_call(2 if kill == 'best save' else 3)
        monkeypatch.setattr(atomic_backend, 'atomic_write', faulty)
    with pytest.raises(OSError, match='injected fault'):
        train(data, work, hooks=hooks, **options)
    monkeypatch.undo()
    assert load_checkpoint_safely(work / 'epoch_1.pth')['meta'][
        'val_pending'] is True
    runner = _resume(data, work, resolve_resume(str(work)),
                     hooks=[FirstEpochIsBest()], **options)
    assert _test_best(runner) == expected
    log = sorted(glob.glob(str(work / '*' / '*.log')))[-1]
    assert 'validating epoch 1 again' in open(log).read()
    _check_work_dir(work)


# =====================================================================
# Issue 18 (hostile inputs), cases 2, 4 and 12
# =====================================================================
def _one_line_error(proc, tool):
    """The tool failed with exit 2 and one line ``tool: error: ...``."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'{tool}: error: '), \
        proc.stderr[-2000:]
    return lines[0]


def test_a_copied_marker_does_not_make_a_folder_replaceable(tmp_path):
    """Case 2: the marker lists what was written; --overwrite refuses a
    folder holding anything else, or a listed file that changed."""
    src = _mult_pickle(tmp_path / 'd.pkl')
    out = tmp_path / 'out'
    convert('mult', src, str(out))
    listed = json.loads((out / MARKER).read_text())['files']
    assert {'README.md', 'feature_stats.json', 'dataset_dict.json'} <= \
        set(listed) and all(len(e['sha256']) == 64 for e in listed.values())
    thesis = tmp_path / 'thesis'  # the user's folder, a marker copied in
    thesis.mkdir()
    (thesis / 'thesis.tex').write_text('\\chapter{Results}')
    shutil.copy(out / MARKER, thesis / MARKER)
    copy = tmp_path / 'copy'  # a whole output copied, plus a file
    shutil.copytree(out, copy)
    (copy / 'train' / 'notes.txt').write_text('mine')
    old = tmp_path / 'old'  # a marker without a file list
    old.mkdir()
    (old / MARKER).write_text(json.dumps(dict(written_by='normtr_plugin')))
    (old / 'data.txt').write_text('mine')
    before = snapshot(tmp_path)
    for folder, named in ((thesis, 'thesis.tex'),
                          (copy, osp.join('train', 'notes.txt')),
                          (old, 'lists no files')):
        with pytest.raises(FileExistsError) as err:
            convert('mult', src, str(folder), overwrite=True)
        assert named in str(err.value) and '\n' not in str(err.value)
    proc = run_tool(['tools/convert_dataset.py', 'mult', src, '--out',
                     thesis, '--overwrite'])
    line = _one_line_error(proc, 'convert_dataset.py')
    assert 'did not write there: thesis.tex' in line
    assert snapshot(tmp_path) == before  # nothing anywhere changed
    # a listed file edited since: named as changed, nothing replaced
    (out / 'README.md').write_text('my edits')
    with pytest.raises(FileExistsError,
                       match='changed since normtr_plugin wrote them: '
                       'README.md'):
        convert('mult', src, str(out), overwrite=True)
    assert (out / 'README.md').read_text() == 'my edits'
    (out / 'README.md').unlink()  # a listed file removed: nothing to lose
    convert('mult', src, str(out), overwrite=True)
    assert (out / 'README.md').is_file()
    assert snapshot(thesis) == {k[len('thesis/'):]: v for k, v in
                                before.items() if k.startswith('thesis/')}


def _refused_in_process(tool, argv, monkeypatch, capsys):
    """Run ``tools/<tool>`` in this process; it must exit 2 with one line.
    """
    spec = importlib.util.spec_from_file_location(
        f'{tool}_cli', osp.join(ROOT, 'tools', tool))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, argv)])
    with pytest.raises(SystemExit) as exit_:
        run_main(cli.main, sys.argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f'{tool}: error: '), err
    return err


def test_test_py_checks_its_output_files_before_testing(
        data, tmp_path, monkeypatch, capsys):
    """Case 4: --out/--dump replace nothing without --overwrite and are
    checked before the test runs (a folder, a file as their folder);
    infer.py --out and robustness.py's report alike."""
    work = tmp_path / 'work'
    train(data, work, **{'train_cfg.max_epochs': 1})
    ckpt = work / 'epoch_1.pth'
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'preds.json').write_text('my predictions')
    (mine / 'metrics.json').write_text('my metrics')
    (mine / 'folder.json').mkdir()
    (mine / 'afile').write_text('x')
    test = [DEMO, ckpt, '--work-dir', tmp_path / 'logs', '--cfg-options',
            f'data_root={data}', 'model.embed_dim=32']
    before = snapshot(tmp_path)
    for args, expected in (
            (['--dump', mine / 'preds.json'], "preds.json' exists; pass "
             '--overwrite'),
            (['--out', mine / 'metrics.json'], "metrics.json' exists; pass "
             '--overwrite'),
            (['--dump', mine / 'folder.json', '--overwrite'],
             'is a folder; give a file name'),
            (['--out', mine / 'afile' / 'm.json'], 'is a file, so no '
             'folder can be made there')):
        assert expected in _refused_in_process(
            'test.py', test + args, monkeypatch, capsys)
    assert snapshot(tmp_path) == before and not (tmp_path / 'logs').exists()
    assert 'exists; pass --overwrite' in _refused_in_process(
        'infer.py', [DEMO, ckpt, '--input', data, '--out',
                     mine / 'preds.json'], monkeypatch, capsys)
    (mine / 'robustness.md').write_text('my report')
    assert "already holds ['robustness.md']; pass --overwrite" in \
        _refused_in_process('robustness.py', [DEMO, ckpt, '--out', mine],
                            monkeypatch, capsys)
    (mine / 'robustness.md').unlink()
    assert snapshot(tmp_path) == before
    proc = run_tool(['tools/test.py'] + test + [
        '--dump', mine / 'preds.json', '--out', mine / 'metrics.json',
        '--overwrite'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((mine / 'preds.json').read_text())[0]['id']
    assert 'Acc-2_mean' in json.loads((mine / 'metrics.json').read_text())


def test_a_killed_publish_overwrite_leaves_the_previous_folder(data,
                                                              tmp_path,
                                                              monkeypatch):
    """Case 12: publish writes a staging folder and renames it whole; a
    kill between its files leaves the previous folder as it was."""
    from normtr_plugin.hub import publish as publish_module
    work = tmp_path / 'work'
    train(data, work)  # epoch_1.pth, epoch_2.pth
    options = dict(data_root=data, **{'model.embed_dim': 32})
    out = tmp_path / 'published'
    publish(DEMO, str(work / 'epoch_1.pth'), str(out), cfg_options=options)
    before = snapshot(tmp_path)
    old = {k: v.clone() for k, v in from_pretrained(str(out)).state_dict()
           .items()}

    def killed(path, text):  # the weights and config.json are written
        assert osp.isfile(osp.join(osp.dirname(path), 'model.safetensors'))
        raise OSError('injected fault: killed before the model card')
    monkeypatch.setattr(publish_module, 'write_text', killed)
    with pytest.raises(OSError, match='injected fault'):
        publish(DEMO, str(work / 'epoch_2.pth'), str(out),
                cfg_options=options, overwrite=True)
    assert snapshot(tmp_path) == before  # no staging folder left either
    loaded = from_pretrained(str(out)).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in old.items())
    assert json.loads((out / 'metrics.json').read_text())['checkpoint'] == \
        'epoch_1.pth'
    monkeypatch.undo()
    publish(DEMO, str(work / 'epoch_2.pth'), str(out), cfg_options=options,
            overwrite=True)
    assert json.loads((out / 'metrics.json').read_text())['checkpoint'] == \
        'epoch_2.pth'
    new = from_pretrained(str(out)).state_dict()
    assert not all(torch.equal(new[k], v) for k, v in old.items())
