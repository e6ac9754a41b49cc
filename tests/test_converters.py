"""Converters from MMSA / MulT pickles and CMU-SDK HDF5 into the format."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import datasets as hf
import numpy as np
import pytest

from normtr_plugin.datasets import MultimodalFeatureDataset
from normtr_plugin.datasets.converters import FORMATS, convert

from conftest import ROOT

h5py = pytest.importorskip('h5py')

EMOTIONS = ['Neutral', 'Happy', 'Sad', 'Angry']
OUT_SPLITS = dict(train='train', valid='validation', test='test')
SIZES = dict(train=7, valid=3, test=4)
MMSA_DIMS = dict(audio=5, video=4, text=768)
MULT_DIMS = dict(audio=6, video=3, text=300)
H5_DIMS = dict(audio=5, video=4, text=6)


def clean32(x):
    """What the writer stores: float32 cast, NaN/Inf -> 0."""
    x = np.asarray(x).astype(np.float32)
    x[~np.isfinite(x)] = 0
    return x


def check_stats(out, frames_by_modality):
    """feature_stats.json against numpy over every train frame."""
    with open(osp.join(out, 'feature_stats.json')) as f:
        stats = json.load(f)
    assert stats['split'] == 'train'
    assert set(stats['modalities']) == set(frames_by_modality)
    for m, frames in frames_by_modality.items():
        frames = np.asarray(frames, np.float64)
        got = stats['modalities'][m]
        assert got['frames'] == len(frames)
        np.testing.assert_allclose(got['mean'], frames.mean(0),
                                   rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(got['std'], frames.std(0),
                                   rtol=1e-5, atol=1e-7)
    return stats


def read_card(out):
    with open(osp.join(out, 'README.md')) as f:
        return f.read()


def no_leftovers(tmp_path, out):
    """A failed conversion leaves neither the output nor temp folders."""
    assert not osp.exists(out)
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.tmp-')]


# ------------------------------------------------------------------ MMSA
def _bert(rng, n, length):
    """(n, 3, length) ids / mask / segments; every sample uses all tokens
    (the aligned default) unless a test edits the mask."""
    bert = rng.integers(0, 100, (n, 3, length)).astype(np.float32)
    bert[:, 1], bert[:, 2] = 1, 0
    return bert


def make_mmsa(rng, unaligned=False, sizes=SIZES, ta=9, tv=6, length=8):
    data = {}
    for split, n in sizes.items():
        audio = rng.standard_normal((n, ta, MMSA_DIMS['audio']))
        vision = rng.standard_normal((n, tv, MMSA_DIMS['video']))
        part = dict(
            raw_text=np.array([f'{split} words {i}' for i in range(n)]),
            audio=audio, vision=vision,
            id=np.array([f'vid{split}{i}$_${i}' for i in range(n)]),
            text=rng.standard_normal((n, length, 768)).astype(np.float32),
            text_bert=_bert(rng, n, length),
            annotations=np.array(['Positive', 'Negative', 'Neutral']
                                 * n)[:n],
            classification_labels=rng.integers(0, 3, n).astype(np.float32),
            regression_labels=rng.uniform(-3, 3, n).astype(np.float32))
        if unaligned:
            part['audio_lengths'] = rng.integers(1, ta + 1, n)
            part['vision_lengths'] = rng.integers(1, tv + 1, n)
            part['audio_lengths'][0] = ta
            part['vision_lengths'][-1] = 0  # nothing to keep
            for key in ('audio', 'vision'):
                for i, n_steps in enumerate(part[f'{key}_lengths']):
                    part[key][i, n_steps:] = 0  # MMSA pads with zeros
        data[split] = part
    # -inf in audio, as MMSA's audio features have
    data['train']['audio'][0, 0, 1] = -np.inf
    data['train']['audio'][2, 0, :] = -np.inf
    data['test']['audio'][1, 0, 0] = -np.inf
    return data


def dump(data, path):
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return str(path)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_formats_and_unknown_format(tmp_path):
    assert set(FORMATS) == {'mmsa', 'mult', 'cmu-h5'}
    with pytest.raises(ValueError, match=r"unknown format 'csv'.*mmsa, mult, "
                       r'cmu-h5'):
        convert('csv', str(tmp_path), str(tmp_path / 'out'))


def test_mmsa_aligned(tmp_path, rng):
    data = make_mmsa(rng)
    src = dump(data, tmp_path / 'aligned_50.pkl')
    out = str(tmp_path / 'mosi')
    report = convert('mmsa', src, out)

    assert report['format'] == 'mmsa'
    assert report['source'] == osp.abspath(src)
    assert report['out_dir'] == osp.abspath(out)
    assert report['modalities'] == MMSA_DIMS
    assert report['splits'] == {
        'train': dict(samples=7, non_finite_samples=dict(
            audio=2, video=0, text=0)),
        'validation': dict(samples=3, non_finite_samples=dict(
            audio=0, video=0, text=0)),
        'test': dict(samples=4, non_finite_samples=dict(
            audio=1, video=0, text=0))}

    splits = hf.load_from_disk(out)
    assert sorted(splits) == ['test', 'train', 'validation']
    train = splits['train']
    assert train.column_names == ['id', 'audio', 'video', 'text', 'label',
                                  'raw_text', 'annotation']
    assert train.features['label'] == hf.Value('float32')
    assert train.features['audio'] == hf.Array2D((None, 5), 'float32')
    for split, name in OUT_SPLITS.items():
        src_part = data[split]
        table = splits[name]
        assert table['id'] == list(src_part['id'])
        assert table['raw_text'] == list(src_part['raw_text'])
        assert table['annotation'] == list(src_part['annotations'])
        ds = MultimodalFeatureDataset(out, name, MMSA_DIMS)
        assert len(ds) == SIZES[split]
        np.testing.assert_array_equal(ds.labels,
                                      src_part['regression_labels'])
        for i in range(len(ds)):
            sample = ds.read_sample(i)
            assert sample['id'] == src_part['id'][i]
            for col, key in (('audio', 'audio'), ('video', 'vision'),
                             ('text', 'text')):
                assert sample[col].dtype == np.float32
                np.testing.assert_array_equal(sample[col],
                                              clean32(src_part[key][i]))
    # -inf became 0, the rest is untouched
    audio = np.asarray(splits['train'].with_format('numpy')[0]['audio'])
    assert audio[0, 1] == 0
    assert audio[0, 0] == np.float32(data['train']['audio'][0, 0, 0])

    check_stats(out, {
        'audio': clean32(data['train']['audio']).reshape(-1, 5),
        'video': clean32(data['train']['vision']).reshape(-1, 4),
        'text': clean32(data['train']['text']).reshape(-1, 768)})

    card = read_card(out)
    assert card.startswith('---\npretty_name: ')
    assert 'tags:\n- multimodal\n- emotion-recognition\n- normtr_plugin\n' \
        in card
    assert 'MMSA pickle' in card and 'aligned_50.pkl' in card
    for text in ('| `train` | 7 |', '| `validation` | 3 |', '| `test` | 4 |',
                 '(9, 5)', '(6, 4)', '(8, 768)', '`raw_text`',
                 '`annotation`', '`regression_labels`', '`text_bert`',
                 '| `train` | 2 of 7 | 0 of 7 | 0 of 7 |',
                 '| `test` | 1 of 4 |', 'feature_stats.json', 'License',
                 "original dataset's license", 'must follow the original'):
        assert text in card, text


def test_mmsa_unaligned_trims_each_sample(tmp_path, rng):
    data = make_mmsa(rng, unaligned=True)
    src = dump(data, tmp_path / 'unaligned_50.pkl')
    out = str(tmp_path / 'mosi_u')
    report = convert('mmsa', src, out, batch_size=2)  # several batches
    assert report['splits']['train']['non_finite_samples']['audio'] == 2
    for split, name in OUT_SPLITS.items():
        part = data[split]
        ds = MultimodalFeatureDataset(out, name, MMSA_DIMS)
        for i in range(len(ds)):
            sample = ds.read_sample(i)
            n_audio = part['audio_lengths'][i]
            n_video = part['vision_lengths'][i]
            assert sample['audio'].shape == (n_audio, 5)
            assert sample['video'].shape == (n_video, 4)
            assert sample['text'].shape == (8, 768)  # text is not trimmed
            np.testing.assert_array_equal(
                sample['audio'], clean32(part['audio'][i, :n_audio]))
            np.testing.assert_array_equal(
                sample['video'], clean32(part['vision'][i, :n_video]))
    train = data['train']
    check_stats(out, {
        'audio': np.concatenate([clean32(a[:n]) for a, n in zip(
            train['audio'], train['audio_lengths'])]),
        'video': np.concatenate([clean32(v[:n]) for v, n in zip(
            train['vision'], train['vision_lengths'])])
        .reshape(-1, 4),
        'text': clean32(train['text']).reshape(-1, 768)})
    card = read_card(out)
    assert 'T from 0 to 6' in card and 'T from ' in card
    assert 'padding removed' in card and '(unaligned)' in card


# ------------------------------------------------------------------ MulT
def make_mult(rng, iemocap=True, with_ids=True, sizes=SIZES):
    data = {}
    for split, n in sizes.items():
        part = dict(
            vision=rng.standard_normal((n, 20, MULT_DIMS['video'])).astype(
                np.float32),
            audio=rng.standard_normal((n, 20, MULT_DIMS['audio'])).astype(
                np.float32),
            text=rng.standard_normal((n, 20, 300)).astype(np.float32))
        if iemocap:
            present = rng.integers(0, 2, (n, 4))
            part['labels'] = np.eye(2, dtype=np.float32)[present]
        else:
            part['labels'] = rng.uniform(-3, 3, (n, 1, 1)).astype(
                np.float32)
        if with_ids:
            part['id'] = np.array([[f'vid{i}'.encode(), b'%d' % i,
                                    b'%d' % (i + 1)] for i in range(n)])
        data[split] = part
    data['train']['audio'][1, 3, 0] = -np.inf
    data['valid']['vision'][0, 0, 0] = np.nan
    return data


def test_mult_iemocap(tmp_path, rng):
    data = make_mult(rng)
    out = str(tmp_path / 'iemocap')
    report = convert('mult', dump(data, tmp_path / 'iemocap_data.pkl'), out)
    assert report['modalities'] == MULT_DIMS
    assert report['splits']['train']['non_finite_samples'] == dict(
        audio=1, video=0, text=0)
    assert report['splits']['validation']['non_finite_samples'] == dict(
        audio=0, video=1, text=0)

    splits = hf.load_from_disk(out)
    train = splits['train']
    assert train.column_names == ['id', 'audio', 'video', 'text'] + EMOTIONS
    for e in EMOTIONS:
        assert train.features[e] == hf.ClassLabel(
            names=['absent', 'present'])
    for split, name in OUT_SPLITS.items():
        part = data[split]
        ds = MultimodalFeatureDataset(out, name, MULT_DIMS,
                                      label_columns=EMOTIONS,
                                      task='multi_binary')
        expected = part['labels'].argmax(-1)
        np.testing.assert_array_equal(ds.labels, expected)
        np.testing.assert_array_equal(
            ds.labels, (part['labels'][:, :, 1] == 1).astype(int))
        for i in range(len(ds)):
            sample = ds.read_sample(i)
            assert sample['id'] == f'vid{i}$_${i}$_${i + 1}'
            for col, key in (('audio', 'audio'), ('video', 'vision'),
                             ('text', 'text')):
                np.testing.assert_array_equal(sample[col],
                                              clean32(part[key][i]))
    check_stats(out, {m: clean32(data['train'][k]).reshape(-1, d)
                      for (m, k), d in zip(
                          (('audio', 'audio'), ('video', 'vision'),
                           ('text', 'text')), MULT_DIMS.values())})
    card = read_card(out)
    for text in ('MulT pickle', 'iemocap_data.pkl', '(20, 300)', '(20, 6)',
                 'ClassLabel (absent, present)', '`Neutral`', '`Angry`',
                 '| `validation` | 0 of 3 | 1 of 3 | 0 of 3 |'):
        assert text in card, text


def test_mult_regression_without_ids(tmp_path, rng):
    data = make_mult(rng, iemocap=False, with_ids=False)
    data['test']['labels'] = data['test']['labels'][:, 0]  # (N, 1) works
    out = str(tmp_path / 'mosei')
    convert('mult', dump(data, tmp_path / 'mosei_senti_data.pkl'), out)
    splits = hf.load_from_disk(out)
    assert splits['train'].column_names == ['id', 'audio', 'video', 'text',
                                            'label']
    assert splits['train'].features['label'] == hf.Value('float32')
    for split, name in OUT_SPLITS.items():
        assert splits[name]['id'] == [f'{name}_{i:06d}'
                                      for i in range(SIZES[split])]
        ds = MultimodalFeatureDataset(out, name, MULT_DIMS)
        np.testing.assert_array_equal(
            ds.labels, data[split]['labels'].reshape(-1))


# ------------------------------------------------------------ CMU HDF5
def write_h5(path, array):
    with h5py.File(path, 'w') as f:
        f.create_dataset('d1', data=np.asarray(array, np.float64))


def make_h5(folder, rng, sizes=SIZES, steps=20, skip=(('text', 'train'),),
            y_shape=None):
    os.makedirs(folder, exist_ok=True)
    data = {}
    names = dict(audio='audio_{}.h5', video='video_{}.h5',
                 text='text_{}_emb.h5')
    for split, n in sizes.items():
        data[split] = {}
        for m, pattern in names.items():
            if (m, split) in skip:
                continue
            x = rng.standard_normal((n, steps, H5_DIMS[m])) * 100
            data[split][m] = x
        data[split]['y'] = rng.integers(2, 11, n) / 2.0
    data['train']['audio'][3, 2, 1] = np.nan
    data['test']['video'][0, 0, 0] = np.inf
    for split, parts in data.items():
        for m, x in parts.items():
            if m == 'y':
                y = x if y_shape is None else x.reshape(y_shape)
                write_h5(osp.join(folder, f'y_{split}.h5'), y)
            else:
                write_h5(osp.join(folder, names[m].format(split)), x)
    return data


def test_cmu_h5(tmp_path, rng):
    src = str(tmp_path / 'h5')
    data = make_h5(src, rng, y_shape=(-1, 1))
    out = str(tmp_path / 'mmmo')
    report = convert('cmu-h5', src, out, batch_size=3)
    assert report['modalities'] == H5_DIMS
    assert report['splits'] == {
        'train': dict(samples=7, non_finite_samples=dict(audio=1, video=0)),
        'validation': dict(samples=3, non_finite_samples=dict(
            audio=0, video=0, text=0)),
        'test': dict(samples=4, non_finite_samples=dict(
            audio=0, video=1, text=0))}
    splits = hf.load_from_disk(out)
    assert splits['train'].column_names == ['id', 'audio', 'video', 'label']
    assert splits['test'].column_names == ['id', 'audio', 'video', 'text',
                                           'label']
    for split, name in OUT_SPLITS.items():
        parts = data[split]
        dims = {m: d for m, d in H5_DIMS.items() if m in parts}
        ds = MultimodalFeatureDataset(out, name, dims)
        assert ds.labels.dtype == np.float32
        np.testing.assert_array_equal(ds.labels,
                                      parts['y'].astype(np.float32))
        for i in range(len(ds)):
            sample = ds.read_sample(i)
            assert sample['id'] == f'{name}_{i:06d}'
            for m in dims:
                np.testing.assert_array_equal(sample[m],
                                              clean32(parts[m][i]))
    check_stats(out, {m: clean32(data['train'][m]).reshape(-1, d)
                      for m, d in H5_DIMS.items() if m != 'text'})
    card = read_card(out)
    for text in ('CMU-SDK derived HDF5', 'y_train.h5', 'audio_valid.h5',
                 '(20, 5)', '(20, 6)',
                 '`validation`, `test` (absent from `train`)',
                 '| `train` | 1 of 7 | 0 of 7 | - |',
                 'Source split `valid` is named `validation`'):
        assert text in card, text


def test_real_mmmo(tmp_path):
    src = osp.join(ROOT, '..', 'shared', 'data', 'mmmo')
    if not osp.isdir(src):
        pytest.skip(f'../shared/data/mmmo not found: {osp.abspath(src)} '
                    'is absent, so the real-data conversion is not tested')
    out = str(tmp_path / 'mmmo')
    report = convert('cmu-h5', src, out)
    assert {s: r['samples'] for s, r in report['splits'].items()} == dict(
        train=220, validation=40, test=80)
    assert report['modalities'] == dict(audio=74, video=36, text=300)
    splits = hf.load_from_disk(out)
    assert 'text' not in splits['train'].column_names
    assert 'text' in splits['validation'].column_names
    for name in ('train', 'validation', 'test'):
        labels = np.asarray(splits[name]['label'])
        assert labels.min() >= 1 and labels.max() <= 5
    ds = MultimodalFeatureDataset(out, 'train', dict(audio=74, video=36))
    with h5py.File(osp.join(src, 'audio_train.h5'), 'r') as fa, \
            h5py.File(osp.join(src, 'video_train.h5'), 'r') as fv:
        audio, video = fa['d1'][:], fv['d1'][:]
    # padding = steps zero in both modalities at either end; data kept
    zero = ~audio.any(2) & ~video.any(2)
    for i in range(len(audio)):
        real = np.flatnonzero(~zero[i])
        row = ds.read_sample(i)
        assert row['lengths'] == dict(audio=real[-1] - real[0] + 1,
                                      video=real[-1] - real[0] + 1)
        np.testing.assert_array_equal(
            row['audio'], clean32(audio[i, real[0]:real[-1] + 1]))
    padding = json.load(open(osp.join(out, 'feature_stats.json')))['padding']
    assert padding['audio']['side'] == 'both'
    assert padding['audio']['padded_steps'] >= int(zero.sum())  # + valid, test


# --------------------------------------------------------------- errors
def test_missing_split_and_key(tmp_path, rng):
    data = make_mmsa(rng)
    del data['valid']
    out = str(tmp_path / 'out')
    with pytest.raises(ValueError, match=r"no split 'valid'; found keys "
                       r"\['test', 'train'\]"):
        convert('mmsa', dump(data, tmp_path / 'a.pkl'), out)
    data = make_mmsa(rng)
    del data['test']['vision']
    with pytest.raises(ValueError, match=r"split 'test' .* lacks required "
                       r"key\(s\) \['vision'\]; found keys \['annotations'"):
        convert('mmsa', dump(data, tmp_path / 'b.pkl'), out)
    data = make_mult(rng)
    del data['train']['labels']
    with pytest.raises(ValueError, match=r"split 'train' of MulT .* "
                       r"\['labels'\]"):
        convert('mult', dump(data, tmp_path / 'c.pkl'), out)
    with pytest.raises(ValueError, match='must hold a dict of splits'):
        convert('mult', dump([1, 2], tmp_path / 'd.pkl'), out)
    no_leftovers(tmp_path, out)


def test_length_mismatch(tmp_path, rng):
    out = str(tmp_path / 'out')
    data = make_mmsa(rng)
    data['valid']['vision'] = data['valid']['vision'][:2]
    with pytest.raises(ValueError, match=r"split 'valid': 'vision' has N=2 "
                       r"samples but 'regression_labels' has N=3"):
        convert('mmsa', dump(data, tmp_path / 'a.pkl'), out)
    data = make_mult(rng)
    data['test']['text'] = data['test']['text'][:1]
    with pytest.raises(ValueError, match=r"split 'test': 'text' has N=1 "
                       r"samples but 'labels' has N=4"):
        convert('mult', dump(data, tmp_path / 'b.pkl'), out)
    src = str(tmp_path / 'h5')
    make_h5(src, rng)
    write_h5(osp.join(src, 'video_valid.h5'), np.zeros((5, 20, 4)))
    with pytest.raises(ValueError, match=r"split 'valid': 'video' has N=5 "
                       r"samples but 'y_valid.h5' has N=3"):
        convert('cmu-h5', src, out)
    no_leftovers(tmp_path, out)


def test_nan_labels(tmp_path, rng):
    out = str(tmp_path / 'out')
    data = make_mmsa(rng)
    data['test']['regression_labels'][[0, 2]] = np.nan
    with pytest.raises(ValueError, match=r"split 'test': label "
                       r"'regression_labels' of sample 'vidtest0\$_\$0' "
                       r"\(row 0\) is nan; 2 such value"):
        convert('mmsa', dump(data, tmp_path / 'a.pkl'), out)
    data = make_mult(rng)
    data['train']['labels'][1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"split 'train': label 'labels', "
                       r"Sad \[0\] of sample .* \(row 1\) is nan; 1 such"):
        convert('mult', dump(data, tmp_path / 'b.pkl'), out)
    src = str(tmp_path / 'h5')
    make_h5(src, rng)
    y = np.arange(3, dtype=np.float64)
    y[1] = np.nan
    write_h5(osp.join(src, 'y_valid.h5'), y)
    with pytest.raises(ValueError, match=r"split 'valid': label 'y_valid.h5'"
                       r" of sample 'validation_000001' \(row 1\) is nan"):
        convert('cmu-h5', src, out)
    no_leftovers(tmp_path, out)


def test_bad_sources(tmp_path, rng):
    out = str(tmp_path / 'out')
    with pytest.raises(FileNotFoundError, match='source file .*nope.pkl.* '
                       'not found'):
        convert('mmsa', str(tmp_path / 'nope.pkl'), out)
    with pytest.raises(FileNotFoundError, match='source folder .* not found'):
        convert('cmu-h5', str(tmp_path / 'nope'), out)
    with pytest.raises(ValueError, match='looks like a URL'):
        convert('mult', 'https://example.com/iemocap_data.pkl', out)
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match=r"no train split .* "
                       r"found \['notes.txt'\]"):
        convert('cmu-h5', str(empty), out)
    src = str(tmp_path / 'h5')
    make_h5(src, rng)
    os.remove(osp.join(src, 'y_test.h5'))
    with pytest.raises(ValueError, match="split 'test' .* no labels file "
                       "'y_test.h5'"):
        convert('cmu-h5', src, out)
    with h5py.File(osp.join(src, 'y_test.h5'), 'w') as f:
        f.create_dataset('labels', data=np.zeros(4))
    with pytest.raises(ValueError, match=r"no dataset under key 'd1'; found "
                       r"keys \['labels'\]"):
        convert('cmu-h5', src, out)
    data = make_mult(rng)
    data['train']['labels'] = np.zeros((7, 3))
    with pytest.raises(ValueError, match=r"'labels' has shape \(7, 3\)"):
        convert('mult', dump(data, tmp_path / 'a.pkl'), out)
    data = make_mmsa(rng, unaligned=True)
    data['train']['audio_lengths'][0] = 10
    with pytest.raises(ValueError, match=r"'audio_lengths' are outside "
                       r'0..9'):
        convert('mmsa', dump(data, tmp_path / 'b.pkl'), out)
    no_leftovers(tmp_path, out)


def test_existing_output_refused(tmp_path, rng):
    src = str(tmp_path / 'h5')
    make_h5(src, rng)
    out = str(tmp_path / 'out')
    convert('cmu-h5', src, out)
    with pytest.raises(FileExistsError, match='exists; pass overwrite=True'):
        convert('cmu-h5', src, out)
    data = make_mult(rng)
    with pytest.raises(FileExistsError, match='exists; pass overwrite=True'):
        convert('mult', dump(data, tmp_path / 'm.pkl'), out)
    report = convert('mult', str(tmp_path / 'm.pkl'), out, overwrite=True)
    assert report['format'] == 'mult'
    assert 'Neutral' in hf.load_from_disk(out)['train'].column_names


# ------------------------------------------------------------------ CLI
def test_cli(tmp_path, rng):
    src = str(tmp_path / 'h5')
    make_h5(src, rng)
    out = str(tmp_path / 'out')
    cmd = [sys.executable, osp.join('tools', 'convert_dataset.py'),
           'cmu-h5', src, '--out', out]
    env = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS='1')
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         env=env)
    assert run.returncode == 0, run.stderr
    report_text = run.stdout[:run.stdout.rindex('}') + 1]
    report = json.loads(report_text)
    assert report['format'] == 'cmu-h5'
    assert report['splits']['train']['samples'] == 7
    assert report['modalities'] == H5_DIMS
    assert ('train/audio: 1 of 7 samples had non-finite values set to 0'
            in run.stdout)
    assert 'test/video: 1 of 4 samples' in run.stdout
    assert 'train/text' not in run.stdout
    assert osp.isfile(osp.join(out, 'README.md'))

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           env=env)
    assert again.returncode != 0
    assert 'exists; pass overwrite=True (--overwrite)' in again.stderr
    assert 'Traceback' not in again.stderr
    ok = subprocess.run(cmd + ['--overwrite'], cwd=ROOT, capture_output=True,
                        text=True, env=env)
    assert ok.returncode == 0, ok.stderr
