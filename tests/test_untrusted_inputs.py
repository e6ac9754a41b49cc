"""Issue 18, hostile inputs (cases 7-11 and 15): files, options and second
runs that must be refused with one line, never read outside what the user
named, never silently change a result.

Each test runs the tool as a user would (``safety_helpers.run_tool``),
asserts the one-line error (exit 2, no traceback), that nothing outside
what the user named changed, and that the result is right or refused.
"""
import importlib.util
import json
import os
import os.path as osp
import pickle
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import ROOT
from normtr_plugin.utils import errors
from safety_helpers import DEMO, run_tool, snapshot, tiny_demo_data

h5py = pytest.importorskip('h5py')

CONVERT = 'tools/convert_dataset.py'
MOSI_CFG = osp.join(ROOT, 'configs', 'normtr_mosi.py')


@pytest.fixture
def tool(capsys, monkeypatch):
    """Run ``tools/<name>`` in this process, as its ``__main__`` does
    (``normtr_plugin.utils.errors.run_tool``): (returncode, stdout,
    stderr) like ``subprocess.run``, without a new interpreter."""
    def run(path, args):
        name = osp.splitext(osp.basename(path))[0]
        spec = importlib.util.spec_from_file_location(
            f'_tool_{name}', osp.join(ROOT, path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        argv = [osp.basename(path)] + [str(a) for a in args]
        monkeypatch.setattr(sys, 'argv', argv)
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            errors.run_tool(module.main, argv)
        out = capsys.readouterr()
        return SimpleNamespace(returncode=stop.value.code or 0,
                               stdout=out.out, stderr=out.err)
    return run


def one_line_error(proc, tool: str, *needles: str) -> str:
    """The tool's single ``tool: error: ...`` line (exit 2, no traceback),
    holding every needle."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f'{tool}: error: ')]
    assert len(errors) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------- case 7
def _write_h5(path, array):
    with h5py.File(path, 'w') as f:
        f.create_dataset('d1', data=np.asarray(array, np.float64))


def _h5_source(folder, n=(6, 3, 3)):
    rng = np.random.default_rng(0)
    os.makedirs(folder)
    for split, k in zip(('train', 'valid', 'test'), n):
        for m, d in (('audio', 4), ('video', 3)):
            _write_h5(osp.join(folder, f'{m}_{split}.h5'),
                      rng.standard_normal((k, 5, d)) + 1)
        _write_h5(osp.join(folder, f'y_{split}.h5'), rng.uniform(-3, 3, k))
    return str(folder)


def _external_link(path, target):
    os.remove(path)
    with h5py.File(path, 'w') as f:
        f['d1'] = h5py.ExternalLink(target, 'd1')


def _soft_link_through_external(path, target):
    os.remove(path)
    with h5py.File(path, 'w') as f:
        f['g'] = h5py.ExternalLink(target, '/')
        f['d1'] = h5py.SoftLink('/g/d1')


def _external_storage(path, target):
    raw = target + '.bin'
    with h5py.File(target, 'r') as f:
        f['d1'][()].astype('<f8').tofile(raw)
        shape = f['d1'].shape
    os.remove(path)
    with h5py.File(path, 'w') as f:
        f.create_dataset('d1', shape=shape, dtype='<f8',
                         external=[(raw, 0, h5py.h5f.UNLIMITED)])


def _virtual(path, target):
    with h5py.File(target, 'r') as f:
        shape = f['d1'].shape
    os.remove(path)
    layout = h5py.VirtualLayout(shape=shape, dtype='f8')
    layout[:] = h5py.VirtualSource(target, 'd1', shape=shape)
    with h5py.File(path, 'w') as f:
        f.create_virtual_dataset('d1', layout)


@pytest.mark.parametrize('kind,needle', [
    (_external_link, 'is an external link to'),
    (_soft_link_through_external, 'is an external link to'),
    (_external_storage, 'keeps its bytes in external file(s)'),
    (_virtual, 'is a virtual dataset reading')])
@pytest.mark.parametrize('which', ['audio_train.h5', 'y_test.h5'])
def test_cmu_h5_refuses_data_outside_the_source_files(tmp_path, tool, kind,
                                                      needle, which):
    """Case 7: an HDF5 file whose `d1` lives in another file (a private
    one, outside the source folder) is refused, naming file and dataset;
    the private bytes never reach an output."""
    src = _h5_source(tmp_path / 'src')
    private = tmp_path / 'private'
    os.makedirs(private)
    secret = str(private / 'secret.h5')
    shape = (6, 5, 4) if which.startswith('audio') else (3,)
    _write_h5(secret, np.full(shape, 1234.5))
    kind(osp.join(src, which), secret)
    before = snapshot(tmp_path)
    out = tmp_path / 'out'
    proc = tool(CONVERT, ['cmu-h5', src, '--out', out, '--no-progress'])
    one_line_error(proc, 'convert_dataset.py', f"dataset 'd1' in "
                   f"'{osp.join(src, which)}'", needle, 'secret.h5')
    assert not out.exists()
    assert snapshot(tmp_path) == before
    # the same folder with the file restored converts
    _write_h5(osp.join(src, which), np.ones(shape))
    proc = tool(CONVERT, ['cmu-h5', src, '--out', out, '--no-progress'])
    assert proc.returncode == 0, proc.stderr[-2000:]


# --------------------------------------------------------------- case 8
@pytest.fixture(scope='module')
def spaced(tmp_path_factory):
    """Demo data in a folder whose name holds a space (``my data``; no
    ``mydata`` beside it) and a 1-epoch checkpoint trained on it."""
    tmp = tmp_path_factory.mktemp('spaced')
    data = tiny_demo_data(tmp / 'my data')
    work = tmp / 'work'
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work, '--no-test',
                     '--cfg-options', f'data_root={data}',
                     'train_cfg.max_epochs=1', 'model.embed_dim=32'])
    return tmp, data, work, proc


def test_data_root_with_a_space_reaches_the_dataset(spaced, tool):
    """Case 8: ``--cfg-options "data_root=/x/my data"`` reaches the dataset
    exactly through train.py, test.py and robustness.py (mmengine's
    DictAction alone makes it ``/x/mydata``); a list item with a space is
    refused, naming the option."""
    tmp, data, work, proc = spaced
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not osp.exists(str(tmp / 'mydata'))
    dumped = [f for f in os.listdir(work) if f.endswith('.py')]
    text = open(osp.join(work, dumped[0])).read()
    assert f"data_root='{data}'" in text and 'mydata' not in text
    ckpt = str(work / 'epoch_1.pth')
    out = tmp / 'metrics.json'
    proc = run_tool(['tools/test.py', DEMO, ckpt, '--work-dir',
                     tmp / 'test', '--out', out, '--cfg-options',
                     f'data_root={data}', 'model.embed_dim=32'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Acc-2_mean' in json.loads(out.read_text())
    rob = tmp / 'rob'
    proc = run_tool(['tools/robustness.py', DEMO, ckpt, '--ratios', '0:1:1',
                     '--seeds', '1', '--no-plots', '--no-reference',
                     '--out', rob, '--cfg-options', f'data_root={data}',
                     'model.embed_dim=32'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((rob / 'robustness.json').read_text())
    assert report['cfg_options']['data_root'] == data
    # a missing folder with a space is named exactly, never 'mydata'
    before = snapshot(tmp)
    for name, args in (('train.py', [DEMO]), ('test.py', [DEMO, ckpt]),
                       ('robustness.py', [DEMO, ckpt, '--out', rob / 'x'])):
        proc = tool(f'tools/{name}', [*args, '--cfg-options',
                                      f'data_root={tmp}/no such data'])
        one_line_error(proc, name, f'{tmp}/no such data')
        proc = tool(f'tools/{name}', [*args, '--cfg-options',
                                      'label_columns=Happy Sad,Angry'])
        one_line_error(proc, name, "'label_columns=Happy Sad,Angry'",
                       "\"label_columns=['a b', 'c']\"")
    assert snapshot(tmp) == before


# -------------------------------------------------------------- case 11
def _mult(n=4):
    rng = np.random.default_rng(0)
    data = {}
    for split in ('train', 'valid', 'test'):
        data[split] = dict(
            vision=rng.standard_normal((n, 6, 3)).astype(np.float32),
            audio=rng.standard_normal((n, 6, 4)).astype(np.float32),
            text=rng.standard_normal((n, 6, 5)).astype(np.float32),
            labels=rng.uniform(-3, 3, (n, 1, 1)),
            id=np.array([f'{split}-clip{i}' for i in range(n)]))
    return data


def _pickle(data, path):
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return str(path)


def _iemocap(pairs):
    data = _mult()
    present = np.random.default_rng(1).integers(0, 2, (4, 4))
    for split in data:
        data[split]['labels'] = np.eye(2)[present]
    data['valid']['labels'][2, 1] = pairs
    return data


@pytest.mark.parametrize('source,needle', [
    (lambda: _mult(), None),  # the clean source converts
    (lambda: dict(_mult(), test=dict(_mult()['test'], labels=np.array(
        [0.5, np.nan, 1, 2]))), "label 'labels' of sample 'test-clip1' "
     "(row 1) is nan"),
    (lambda: dict(_mult(), train=dict(_mult()['train'], labels=np.array(
        [0.5, 1, 2, -np.inf]))), "sample 'train-clip3' (row 3) is -inf"),
    (lambda: dict(_mult(), train=dict(_mult()['train'], labels=np.array(
        [0.5, 1e39, 2, 1]))), "sample 'train-clip1' (row 1) is 1e+39, "
     'beyond float32'),
    (lambda: _iemocap([1, 1]), "label 'labels' (Happy) of sample "
     "'valid-clip2' (row 2) is [1.0, 1.0], not one-hot"),
    (lambda: _iemocap([0, 0]), "(Happy) of sample 'valid-clip2' (row 2) "
     'is [0.0, 0.0], not one-hot')])
def test_bad_labels_are_refused_at_conversion(tmp_path, tool, source,
                                             needle):
    """Case 11: NaN/Inf labels, labels beyond float32 (1e39 -> inf) and
    MulT (N, 4, 2) pairs that are not one-hot are refused at conversion,
    naming the sample and the column; nothing is written."""
    src = _pickle(source(), tmp_path / 'mult.pkl')
    out = tmp_path / 'out'
    before = snapshot(tmp_path)
    proc = tool(CONVERT, ['mult', src, '--out', out, '--no-progress'])
    if needle is None:
        assert proc.returncode == 0, proc.stderr[-2000:]
        import datasets as hf
        train = hf.load_from_disk(str(out))['train']
        np.testing.assert_allclose(train['label'], np.asarray(
            _mult()['train']['labels'], np.float32).reshape(-1))
        return
    one_line_error(proc, 'convert_dataset.py', needle)
    assert not out.exists() and snapshot(tmp_path) == before


@pytest.mark.parametrize('value', ['nan', 'inf', '-1e39'])
def test_bad_labels_are_refused_at_cmu_h5_and_extraction(tmp_path, tool,
                                                         value):
    """Case 11: the same labels in a cmu-h5 folder and in an extraction
    manifest (regression) are refused, naming the sample and column."""
    src = _h5_source(tmp_path / 'src')
    y = np.linspace(-1, 1, 3)
    y[1] = float(value)
    _write_h5(osp.join(src, 'y_valid.h5'), y)
    before = snapshot(tmp_path)
    proc = tool(CONVERT, ['cmu-h5', src, '--out', tmp_path / 'o',
                          '--no-progress'])
    one_line_error(proc, 'convert_dataset.py', "label 'y_valid.h5' of "
                   "sample 'validation_000001' (row 1) is")
    manifest = tmp_path / 'media' / 'manifest.csv'
    os.makedirs(manifest.parent)
    manifest.write_text('id,split,label,audio\n'
                        'a,train,0.5,a.wav\n'
                        f'b,train,{value},b.wav\n')
    before = snapshot(tmp_path)
    proc = tool('tools/extract_features.py', [
        '--manifest', manifest, '--out', tmp_path / 'feats', '--task',
        'regression'])
    one_line_error(proc, 'extract_features.py', 'line 3',
                   f"column 'label' of sample 'b' is '{value}'")
    assert snapshot(tmp_path) == before
    assert not (tmp_path / 'o').exists() and \
        not (tmp_path / 'feats').exists()


# -------------------------------------------------------------- case 10
def _train_fold_as_tool_does(work, folds_dir, i, value):
    """What ``speaker_folds.py train`` leaves per fold (tools/train.py's
    test_metrics.json, then the fold record), without training."""
    from normtr_plugin.datasets.speaker_folds import (check_work_dir,
                                                      read_split,
                                                      record_fold)
    split = read_split(str(folds_dir))
    check_work_dir(str(work), split, str(folds_dir))
    os.makedirs(work / f'fold_{i}', exist_ok=True)
    (work / f'fold_{i}' / 'test_metrics.json').write_text(
        json.dumps({'Acc-2_mean': value}))
    record_fold(str(work), split, i)


def test_speaker_fold_summary_refuses_stale_folds(tmp_path, tool):
    """Case 10: after ``--k 5`` then ``--k 3 --overwrite``, training into
    the work dir of the k=5 split is refused, and a summary never mixes
    in fold_3/fold_4 of the earlier split: it reports exactly the 3 folds
    of the split it belongs to, or refuses naming the stale folds."""
    data = tiny_demo_data(tmp_path / 'data')
    folds = tmp_path / 'folds'
    split = ['split', data, '--out', folds, '--speaker-pattern', r'(\d)$']
    assert tool('tools/speaker_folds.py', split + ['--k', '5']).returncode \
        == 0
    first = json.loads((folds / 'folds.json').read_text())
    work = tmp_path / 'work'
    for i in range(5):
        _train_fold_as_tool_does(work, folds, i, 50.0 + i)
    proc = tool('tools/speaker_folds.py', ['summary', work])
    assert proc.returncode == 0 and '(5 folds)' in proc.stdout
    assert tool('tools/speaker_folds.py', split + [
        '--k', '3', '--overwrite']).returncode == 0
    second = json.loads((folds / 'folds.json').read_text())
    assert (second['k'], len(second['folds'])) == (3, 3)
    assert second['split_id'] != first['split_id']
    # training the new split into the old work dir: refused, nothing run
    before = snapshot(tmp_path)
    proc = tool('tools/speaker_folds.py', ['train', DEMO, folds,
                                           '--work-dir', work])
    one_line_error(proc, 'speaker_folds.py', f"work dir '{work}' holds "
                   f"folds of split {first['split_id']} (k=5), not of split "
                   f"{second['split_id']} (k=3)")
    assert snapshot(tmp_path) == before
    # the k=3 split trained elsewhere, then stale k=5 folds copied in
    fresh = tmp_path / 'fresh'
    for i in range(3):
        _train_fold_as_tool_does(fresh, folds, i, 70.0 + i)
    proc = tool('tools/speaker_folds.py', ['summary', fresh])
    assert proc.returncode == 0 and '(3 folds)' in proc.stdout
    summary = json.loads((fresh / 'summary.json').read_text())
    assert summary['Acc-2_mean']['folds'] == [70.0, 71.0, 72.0]
    import shutil
    for i in (3, 4):
        shutil.copytree(work / f'fold_{i}', fresh / f'fold_{i}')
    shutil.rmtree(fresh / 'fold_1')
    shutil.copytree(work / 'fold_1', fresh / 'fold_1')
    before = snapshot(tmp_path)
    proc = tool('tools/speaker_folds.py', ['summary', fresh])
    one_line_error(proc, 'speaker_folds.py', 'fold_3, fold_4 are not folds '
                   f"of split {second['split_id']} (k=3)")
    assert snapshot(tmp_path) == before
    for i in (3, 4):
        shutil.rmtree(fresh / f'fold_{i}')
    before = snapshot(tmp_path)
    proc = tool('tools/speaker_folds.py', ['summary', fresh])
    one_line_error(proc, 'speaker_folds.py', "is fold 1 of split "
                   f"{first['split_id']} (k=5), not fold 1 of split "
                   f"{second['split_id']} (k=3)")
    assert snapshot(tmp_path) == before


# -------------------------------------------------------------- case 15
HOSTILE = ('# Heading <script>alert(1)</script> [x](http://evil.example) '
           '![i](https://evil.example/i.png) <img src=x onerror=alert(1)> '
           'www.evil.example | `code`')


def _body(text):
    """The card body (after the YAML front matter)."""
    return text.split('\n---\n', 1)[1]


def _assert_inert(body):
    low = body.lower()
    for raw in ('<script', '<img', '](http', '](https', '![', 'www.evil',
                'http://evil', 'https://evil'):
        assert raw not in low, raw
    assert not any(line.lstrip().startswith('# Heading')
                   for line in body.splitlines())


def test_model_card_checks_ids_and_escapes_text(spaced, tool, tmp_path):
    """Case 15: --license and --dataset-name are checked against the Hub's
    rules (licence list, `other` + licence name, repo id validation) and
    refused by name before anything is written; the text that does go into
    the card (dataset name, label names, a dataset card's licence) is
    escaped: no heading, HTML, link or image gets through."""
    from huggingface_hub import ModelCard
    _, data, work, _ = spaced
    ckpt = str(work / 'epoch_1.pth')
    base = ['publish.py', DEMO, ckpt, '--cfg-options', f'data_root={data}',
            'model.embed_dim=32']
    before = snapshot(tmp_path)
    for extra, needle in (
            (['--license', '<script>x</script>'], "--license "
             "'<script>x</script>' is not a Hub licence id"),
            (['--license', 'cc-by-nc-9.0'], "'cc-by-nc-9.0' is not a Hub "
             'licence id'),
            (['--license', 'other'], '--license other needs a licence name'),
            (['--license', 'other', '--license-name', 'My <b>Licence'],
             "found 'My <b>Licence'"),
            (['--license', 'mit', '--dataset-name', 'evil--org/data'],
             "dataset id 'evil--org/data' is not a valid Hub id")):
        out = tmp_path / 'out'
        proc = tool('tools/publish.py', base[1:] + ['--out', out, *extra])
        one_line_error(proc, 'publish.py', needle)
        assert not out.exists()
    assert snapshot(tmp_path) == before
    # accepted: a valid licence; the hostile name is text, escaped
    out = tmp_path / 'card'
    proc = tool('tools/publish.py', base[1:] + [
        '--out', out, '--license', 'other', '--license-name', 'corpus-eula',
        '--dataset-name', HOSTILE])
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (out / 'README.md').read_text()
    card = ModelCard(text).data.to_dict()
    assert (card['license'], card['license_name']) == ('other',
                                                       'corpus-eula')
    assert 'datasets' not in card  # a name, not an id
    _assert_inert(_body(text))
    assert '&lt;script&gt;alert\\(1\\)&lt;/script&gt;' in _body(text)
    # label names from a hostile config.json and a dataset card's licence
    from normtr_plugin.hub.dataset_info import card_license
    from normtr_plugin.hub.model_card import render_model_card
    config = dict(model=dict(
        type='NormTR', modalities={'audio': 4, HOSTILE: 3}, seq_len=4,
        embed_dim=16, head=dict(type='MultiBinaryHead', num_tasks=2)),
        dataset_meta=dict(task='multi_binary',
                          label_names=[HOSTILE, '<script>b</script>']))
    text = render_model_card(config, {HOSTILE: 1.0, 'Acc-2_mean': 50.0},
                             'model = dict()', HOSTILE, None,
                             license='cc-by-4.0', license_source='given')
    _assert_inert(_body(text))
    assert ModelCard(text).data.to_dict()['license'] == 'cc-by-4.0'
    folder = tmp_path / 'ds'
    os.makedirs(folder)
    (folder / 'README.md').write_text(
        '---\nlicense: "<script>x</script>"\n---\n# data\n')
    with pytest.raises(errors.InputError, match=r"the dataset card of .*ds'"
                       r": license '<script>x</script>' is not a Hub "
                       'licence id'):
        card_license(str(folder))
    (folder / 'README.md').write_text(
        '---\nlicense: other\nlicense_name: "[x](http://e)"\n---\n# data\n')
    with pytest.raises(errors.InputError, match='needs a licence name'):
        card_license(str(folder))


# --------------------------------------------------------------- case 9
def _dataset_config_keys():
    """Every top-level key a dataset config states."""
    from mmengine.config import Config
    folder = osp.join(ROOT, 'configs', '_base_', 'datasets')
    keys = set()
    for name in sorted(os.listdir(folder)):
        if name.endswith('.py'):
            keys |= set(Config.fromfile(osp.join(folder, name)).keys())
    return keys


def _datasets(cfg):
    from normtr_plugin.engine.config_walk import DATALOADERS, dataset_cfgs
    return [ds for name in DATALOADERS for ds in dataset_cfgs(cfg[name])]


PIPE = [dict(type='TruncatePad', keys=['audio', 'video', 'text'],
             seq_len=8), dict(type='PackMultimodalInputs')]
#: key -> (--cfg-options, where it must arrive (cfg -> values that must
#: all equal the expected one) and that value; or the error naming it)
REACHES = {
    'data_root': ({}, lambda c: [d.data_root for d in _datasets(c)], None),
    'modalities': ({'modalities.text': 300, 'modalities.audio': 74},
                   lambda c: [dict(d.modalities) for d in _datasets(c)] +
                   [dict(c.model.modalities)],
                   dict(audio=74, video=35, text=300)),
    'seq_len': ({'seq_len': 6}, lambda c: [c.model.seq_len] + [
        t['seq_len'] for d in _datasets(c) for t in d.pipeline
        if 'seq_len' in t], 6),
    'label_columns': ({'label_columns': ['Happy', 'Sad']}, lambda c: [
        list(d.label_columns) for d in _datasets(c)] + [
        {2: ['Happy', 'Sad']}.get(c.model.head.num_tasks)],
        ['Happy', 'Sad']),
    'task': ({'task': 'multi_label',
              'model.head': dict(_delete_=True, type='MultiLabelHead')},
             lambda c: [d.task for d in _datasets(c)] +
             [{4: 'multi_label'}.get(c.model.head.num_labels)],
             'multi_label'),
    'train_pipeline': ({'train_pipeline': PIPE}, lambda c: [
        c.train_dataloader.dataset.pipeline], PIPE),
    'test_pipeline': ({'test_pipeline': PIPE}, lambda c: [
        c.val_dataloader.dataset.pipeline,
        c.test_dataloader.dataset.pipeline], PIPE),
    'train_dataloader': ({'train_dataloader.batch_size': 7},
                         lambda c: [c.train_dataloader.batch_size], 7),
    'val_dataloader': ({'val_dataloader.batch_size': 5},
                       lambda c: [c.val_dataloader.batch_size], 5),
    'test_dataloader': ({'test_dataloader.batch_size': 3},
                        lambda c: [c.test_dataloader.batch_size], 3),
    'val_evaluator': ({'val_evaluator': [dict(type='MultiBinaryMetric')]},
                      lambda c: [c.val_evaluator],
                      [dict(type='MultiBinaryMetric')]),
    'test_evaluator': ({'test_evaluator': [dict(type='MultiBinaryMetric')]},
                       lambda c: [c.test_evaluator],
                       [dict(type='MultiBinaryMetric')]),
}
#: key -> (--cfg-options, the one-line error naming it)
REFUSED = {
    'common': ({'common.task': 'regression'}, "'common' is read only while "
               'the config file loads'),
    '_loader': ({'_loader.num_workers': 2}, "'_loader' is read only while "
                'the config file loads'),
    'task': ({'task': 'regression'}, "task 'regression' does not fit "
             'model.head MultiBinaryHead'),
    'label_columns': ({'label_columns': ['Happy'], 'model.head.num_tasks':
                       3}, 'model.head.num_tasks=3 but label_columns has 1'),
}


def test_every_dataset_config_key_reaches_its_users_or_is_refused(
        tmp_path, tool):
    """Case 9: every top-level key a dataset config states, changed with
    --cfg-options, reaches the datasets / model head / evaluators that use
    it, or is refused by name with one line; ``data_source`` is the
    missing-data hint. A key added to a dataset config without an entry
    here fails this test."""
    from mmengine.config import Config
    from normtr_plugin.engine import merge_cfg_options, prepare_config
    stated = _dataset_config_keys() - {'_base_'}
    assert stated <= set(REACHES) | set(REFUSED) | {'data_source'}, \
        sorted(stated - set(REACHES) - set(REFUSED))
    data = tiny_demo_data(tmp_path / 'data')
    for key, (options, where, value) in REACHES.items():
        cfg = merge_cfg_options(Config.fromfile(DEMO),
                                dict(options, data_root=data))
        prepare_config(cfg)
        found = where(cfg)
        expected = data if key == 'data_root' else value
        assert found and all(v == expected for v in
                             (x.to_dict() if hasattr(x, 'to_dict') else
                              [dict(t) for t in x] if isinstance(x, list) and
                              x and hasattr(x[0], 'to_dict') else x
                              for x in found)), (key, found)
    before = snapshot(tmp_path)
    for key, (options, needle) in REFUSED.items():
        args = [f'{k}={v!r}' if not isinstance(v, (int, float)) else
                f'{k}={v}' for k, v in options.items()]
        proc = tool('tools/train.py', [DEMO, '--work-dir', tmp_path / 'w',
                                       '--cfg-options', f'data_root={data}',
                                       *args])
        one_line_error(proc, 'train.py', needle)
    assert snapshot(tmp_path) == before and not (tmp_path / 'w').exists()
    # data_source reaches the missing-data message
    proc = tool('tools/train.py', [
        MOSI_CFG, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'data_root={tmp_path}/none',
        "data_source=dict(format='mmsa', file='MY FILE', src='my.pkl')"])
    one_line_error(proc, 'train.py', 'convert MY FILE with `python '
                   'tools/convert_dataset.py mmsa my.pkl')


def test_label_columns_change_what_is_trained(tmp_path):
    """Case 9, end to end: ``label_columns=['Happy', 'Sad']`` trains and
    tests a 2-output head on those columns (not the config's four)."""
    from mmengine.runner import Runner
    from safety_helpers import tiny_cfg
    data = tiny_demo_data(tmp_path / 'data')
    cfg = tiny_cfg(DEMO, data, tmp_path / 'work', **{
        'label_columns': ['Happy', 'Sad'], 'train_cfg.max_epochs': 1})
    runner = Runner.from_cfg(cfg)
    assert runner.model.head.num_tasks == 2
    assert runner.train_dataloader.dataset.label_columns == ['Happy', 'Sad']
    runner.train()
    metrics = runner.test()
    names = {k.rsplit('_', 1)[-1] for k in metrics if k.startswith('Acc-2_')}
    assert names == {'Happy', 'Sad', 'mean'}, metrics
