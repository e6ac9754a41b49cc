"""cmu-h5 converter on other CMU-SDK releases: one-hot and multi-column
labels, unreadable modality files, --modalities, progress, h5py as a
core dependency (issue 13)."""
import os
import os.path as osp
import subprocess
import sys

import datasets as hf
import numpy as np
import pytest

from conftest import ROOT
from normtr_plugin.datasets import MultimodalFeatureDataset
from normtr_plugin.datasets.converters import ConversionError, convert

h5py = pytest.importorskip('h5py')
SIZES = dict(train=9, valid=4, test=5)
DIMS = dict(audio=5, video=6)


def write_h5(path, array):
    with h5py.File(path, 'w') as f:
        f.create_dataset('d1', data=np.asarray(array, np.float64))


def make_source(folder, labels, steps=6, seed=0):
    """audio/video files per split and ``labels[split]`` as y_{split}.h5."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for split, n in SIZES.items():
        for m, d in DIMS.items():
            write_h5(osp.join(folder, f'{m}_{split}.h5'),
                     rng.standard_normal((n, steps, d)) + 1)
        write_h5(osp.join(folder, f'y_{split}.h5'), labels[split])
    return str(folder)


def one_hot(rng, n, c):
    y = np.zeros((n, c))
    y[np.arange(n), rng.integers(0, c, n)] = 1
    return y


def test_one_hot_labels_become_a_class_index(tmp_path):
    rng = np.random.default_rng(1)
    labels = {s: one_hot(rng, n, 3) for s, n in SIZES.items()}
    src = make_source(tmp_path / 'h5', labels)
    out = str(tmp_path / 'out')
    convert('cmu-h5', src, out, label_names='neg,neu,pos')
    splits = hf.load_from_disk(out)
    feature = splits['train'].features['label']
    assert isinstance(feature, hf.ClassLabel)
    assert feature.names == ['neg', 'neu', 'pos']
    for split, name in (('train', 'train'), ('valid', 'validation'),
                        ('test', 'test')):
        np.testing.assert_array_equal(splits[name]['label'],
                                      labels[split].argmax(1))
    ds = MultimodalFeatureDataset(out, 'test', DIMS, task='classification')
    assert ds.classes == ['neg', 'neu', 'pos']
    # (N, 1, C) one-hot rows are read the same way; default class names
    labels3 = {s: y[:, None] for s, y in labels.items()}
    src3 = make_source(tmp_path / 'h5b', labels3)
    convert('cmu-h5', src3, str(tmp_path / 'out3'))
    names = hf.load_from_disk(str(tmp_path / 'out3'))['train'].features[
        'label'].names
    assert names == ['class_0', 'class_1', 'class_2']


def test_several_label_columns_pick_one_or_keep_all(tmp_path):
    rng = np.random.default_rng(2)
    labels = {s: rng.uniform(0, 3, (n, 17)) for s, n in SIZES.items()}
    labels['train'][:, 4] = 0  # a trait with no presence in train
    src = make_source(tmp_path / 'h5', labels)
    with pytest.raises(ConversionError, match=r'17 columns and are not '
                       r'one-hot: choose one with --label-column I .*0\.\.16'
                       r'.*--label-column all'):
        convert('cmu-h5', src, str(tmp_path / 'x'))
    with pytest.raises(ConversionError, match='out of range'):
        convert('cmu-h5', src, str(tmp_path / 'x'), label_column=17)
    out = str(tmp_path / 'one')
    convert('cmu-h5', src, out, label_column='3')
    ds = MultimodalFeatureDataset(out, 'validation', DIMS)
    np.testing.assert_allclose(ds.labels, labels['valid'][:, 3], rtol=1e-6)
    out = str(tmp_path / 'all')
    convert('cmu-h5', src, out, label_column='all')
    columns = [f'label_{j}' for j in range(17)]
    assert hf.load_from_disk(out)['test'].column_names == \
        ['id', 'audio', 'video'] + columns
    test = hf.load_from_disk(out)['test'].with_format('numpy')
    np.testing.assert_allclose(np.stack([test[c] for c in columns], 1),
                               labels['test'], rtol=1e-6)
    # any one of them trains as `label_columns=['label_J']`
    trait = MultimodalFeatureDataset(out, 'test', DIMS,
                                     label_columns=['label_5'])
    np.testing.assert_allclose(trait.labels, labels['test'][:, 5],
                               rtol=1e-6)
    with pytest.raises(ValueError, match='label names for 17'):
        convert('cmu-h5', src, str(tmp_path / 'x'), label_column='all',
                label_names='a,b')


def test_presence_columns_for_multi_label_emotions(tmp_path):
    rng = np.random.default_rng(3)
    labels = {s: rng.choice([0, 0, 0.33, 1.0, 2.67], (n, 7))
              for s, n in SIZES.items()}
    src = make_source(tmp_path / 'h5', labels)
    names = 'sentiment,happy,sad,anger,surprise,disgust,fear'
    out = str(tmp_path / 'emo')
    convert('cmu-h5', src, out, label_column='all', label_names=names,
            presence=True)
    emotions = names.split(',')[1:]
    ds = MultimodalFeatureDataset(out, 'train', DIMS, label_columns=emotions,
                                  task='multi_label')
    np.testing.assert_array_equal(ds.labels, labels['train'][:, 1:] > 0)
    with pytest.raises(ConversionError, match='presence=True .* needs'):
        convert('cmu-h5', src, str(tmp_path / 'x'), presence=True)


def test_unreadable_modality_file_is_skipped_or_excluded(tmp_path):
    labels = {s: np.linspace(1, 5, n) for s, n in SIZES.items()}
    src = make_source(tmp_path / 'h5', labels)
    open(osp.join(src, 'text_train_emb.h5'), 'wb').close()  # 0 bytes
    out = str(tmp_path / 'skip')
    with pytest.warns(UserWarning, match='text_train_emb.h5.* is empty'):
        report = convert('cmu-h5', src, out)
    assert set(report['modalities']) == {'audio', 'video'}
    card = open(osp.join(out, 'README.md')).read()
    assert '`text_train_emb.h5` was skipped as unreadable' in card
    out = str(tmp_path / 'chosen')
    report = convert('cmu-h5', src, out, modalities='audio,video')
    assert set(report['modalities']) == {'audio', 'video'}
    assert 'Converted modalities (chosen): `audio`, `video`' in open(
        osp.join(out, 'README.md')).read()
    with pytest.raises(ConversionError, match='text_train_emb.h5.* is empty'):
        convert('cmu-h5', src, str(tmp_path / 'x'), modalities='text,audio')
    with pytest.raises(ValueError, match=r"modalities \['depth'\] unknown"):
        convert('cmu-h5', src, str(tmp_path / 'x'), modalities='depth')


def test_cli_options_and_progress(tmp_path):
    rng = np.random.default_rng(4)
    labels = {s: rng.uniform(-3, 3, (n, 2)) for s, n in SIZES.items()}
    src = make_source(tmp_path / 'h5', labels)
    out = str(tmp_path / 'out')
    env = dict(os.environ, NORMTR_PROGRESS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/convert_dataset.py', 'cmu-h5', src, '--out',
         out, '--label-column', '1', '--modalities', 'audio'],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for split, n in (('train', 9), ('validation', 4), ('test', 5)):
        assert f'converting {split}: 100%' in proc.stderr
        assert f'{n}/{n}' in proc.stderr
    ds = MultimodalFeatureDataset(out, 'test', dict(audio=5))
    np.testing.assert_allclose(ds.labels, labels['test'][:, 1], rtol=1e-6)
    proc = subprocess.run(
        [sys.executable, 'tools/convert_dataset.py', 'mult', src, '--out',
         str(tmp_path / 'y'), '--label-column', '1'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and 'only apply to cmu-h5' in proc.stderr


def test_pickle_reading_shows_progress(tmp_path, capsys):
    from normtr_plugin.datasets.converters import load_pickle
    from normtr_plugin.datasets.converters.progress import set_progress
    path = tmp_path / 'data.pkl'
    import pickle
    with open(path, 'wb') as f:
        pickle.dump({'train': {'x': np.zeros((64, 128))}}, f)
    set_progress(True)
    try:
        data = load_pickle(str(path), 'test')
    finally:
        set_progress(None)
    assert data['train']['x'].shape == (64, 128)
    err = capsys.readouterr().err
    assert 'reading data.pkl' in err and '100%' in err


def test_h5py_is_a_core_dependency():
    text = open(osp.join(ROOT, 'pyproject.toml')).read()
    core = text.split('dependencies = [', 1)[1].split(']', 1)[0]
    assert '"h5py' in core
    assert 'torchvision' not in text
