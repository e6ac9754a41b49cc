"""The feature-format dataset, its checks, and the sequence transforms."""
import fnmatch
import os
import os.path as osp

import datasets as hf
import numpy as np
import pytest
import torch

from conftest import write_dataset
from normtr_plugin.datasets import (MultimodalFeatureDataset,
                                    SegmentSample, SyntheticIEMOCAPDataset,
                                    TruncatePad, feature_schema,
                                    make_synthetic_iemocap,
                                    load_feature_stats,
                                    save_feature_dataset)

DIMS = dict(audio=5, video=7, text=9)
PIPE = [dict(type='TruncatePad', keys=['audio', 'text'], seq_len=4),
        dict(type='SegmentSample', keys=['video'], seq_len=4),
        dict(type='PackMultimodalInputs')]


def batch_of(key, *rows):
    """A batch dict (transforms/base.py) of one modality from (L_i, D)
    arrays: zero-padded to the longest, lengths (B, 1)."""
    steps = max(len(r) for r in rows)
    x = np.zeros((len(rows), steps) + rows[0].shape[1:], np.float32)
    for i, r in enumerate(rows):
        x[i, :len(r)] = r
    return {'modalities': [key], 'ids': [str(i) for i in range(len(rows))],
            'lengths': torch.tensor([[len(r)] for r in rows]),
            key: torch.from_numpy(x)}


def test_truncate_pad():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    out = TruncatePad(['a'], 4)(batch_of('a', x, x[:2]))
    np.testing.assert_array_equal(out['a'][0], x[:4])
    assert out['lengths'].tolist() == [[4], [2]]
    out = TruncatePad(['a'], dict(a=8))(batch_of('a', x))
    assert out['a'].shape == (1, 8, 2)
    np.testing.assert_array_equal(out['a'][0, :6], x)
    assert not out['a'][0, 6:].any()
    with pytest.raises(ValueError, match='T of modality .a. must be >= 1'):
        TruncatePad(['a'], 0)
    with pytest.raises(KeyError, match="no length for modality 'a'"):
        TruncatePad(['a'], dict(b=3))


def test_segment_sample_middle_random_and_short():
    x = np.arange(20, dtype=np.float32)[:, None]
    mid = SegmentSample(['v'], 4)(batch_of('v', x))['v'][0, :, 0]
    np.testing.assert_array_equal(mid, [2, 7, 12, 17])  # segments of 5
    torch.manual_seed(0)
    for _ in range(20):
        rnd = SegmentSample(['v'], dict(v=4), random=True)(
            batch_of('v', x))['v'][0, :, 0]
        assert all(5 * k <= v < 5 * (k + 1) for k, v in enumerate(rnd))
    short = SegmentSample(['v'], 8)(batch_of('v', x[:3] + 1, x))
    # lengths as data: the 3 real frames first, then zero padding
    np.testing.assert_array_equal(short['v'][0, :, 0],
                                  [1, 2, 3, 0, 0, 0, 0, 0])
    assert short['lengths'].tolist() == [[3], [8]]


def test_a_per_sample_callable_runs_through_per_sample(tmp_path):
    from normtr_plugin.datasets import PerSample
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    seen = []

    def double_and_cut(results):
        seen.append((results['id'], results['a'].shape))
        results['a'] = results['a'][:3] * 2
        return results

    out = PerSample(double_and_cut)(batch_of('a', x, x[:2]))
    assert seen == [('0', (6, 2)), ('1', (2, 2))]  # valid steps only
    assert out['lengths'].tolist() == [[3], [2]]
    np.testing.assert_array_equal(out['a'][0], 2 * x[:3])
    np.testing.assert_array_equal(out['a'][1, :2], 2 * x[:2])
    assert not out['a'][1, 2:].any()
    root = write_dataset(tmp_path / 'd', DIMS, seq_len=4)
    with pytest.raises(TypeError, match="dict.type='PerSample'"):
        MultimodalFeatureDataset(root, 'train', DIMS,
                                 pipeline=[lambda results: results])
    ds = MultimodalFeatureDataset(root, 'train', DIMS, pipeline=[
        dict(type='PerSample', transform=lambda results: results),
        dict(type='PackMultimodalInputs')])
    assert ds[0]['inputs']['audio'].shape == (1, 4, 5)


def test_reads_rows_and_batches(tmp_path):
    root = write_dataset(tmp_path / 'd', DIMS, seq_len=10)
    ds = MultimodalFeatureDataset(root, 'train', DIMS, pipeline=PIPE)
    raw = hf.load_from_disk(root)['train'].with_format('numpy')
    assert len(ds) == 12
    item = ds[3]  # a packed batch of one
    np.testing.assert_allclose(item['inputs']['audio'][0].numpy(),
                               raw[3]['audio'][:4])
    np.testing.assert_allclose(item['inputs']['video'][0].numpy(),
                               raw[3]['video'][[1, 3, 6, 8]])
    assert item['data_samples'].ids == ['train_3']
    torch.testing.assert_close(item['data_samples'].gt_label,
                               torch.tensor(raw[3]['label'])[None])
    batch = ds.__getitems__([5, 1, 3])  # one packed batch
    for m in DIMS:
        torch.testing.assert_close(batch['inputs'][m][2],
                                   item['inputs'][m][0])
    assert batch['data_samples'].ids == ['train_5', 'train_1', 'train_3']
    assert batch['data_samples'].lengths.tolist() == [[4, 4, 4]] * 3
    torch.testing.assert_close(batch['data_samples'].gt_label,
                               torch.tensor(raw['label'][[5, 1, 3]]))
    assert ds.metainfo['modalities'] == ['audio', 'video', 'text']


def test_classification_and_multi_binary_labels(tmp_path):
    root = write_dataset(tmp_path / 'c', DIMS, task='classification')
    ds = MultimodalFeatureDataset(root, 'test', DIMS, task='classification',
                                  pipeline=PIPE)
    assert ds.metainfo['classes'] == [f'class{i}' for i in range(6)]
    assert ds[0]['data_samples'].gt_label.dtype == torch.int64
    cols = ['Neutral', 'Happy', 'Sad', 'Angry']
    root = write_dataset(tmp_path / 'm', DIMS, task='multi_binary',
                         label_columns=cols)
    ds = MultimodalFeatureDataset(root, 'test', DIMS, label_columns=cols,
                                  task='multi_binary', pipeline=PIPE)
    raw = hf.load_from_disk(root)['test']
    assert ds[2]['data_samples'].gt_label.tolist() == \
        [[raw[2][c] for c in cols]]


def test_errors_name_the_problem(tmp_path):
    root = write_dataset(tmp_path / 'd', DIMS)
    with pytest.raises(ValueError, match=r"modality 'video': the config "
                       r"expects feature dim 8, the data .* has 7"):
        MultimodalFeatureDataset(root, 'train', dict(DIMS, video=8))
    with pytest.raises(KeyError, match=r"modality 'depth' .*missing"):
        MultimodalFeatureDataset(root, 'train', dict(DIMS, depth=3))
    with pytest.raises(KeyError, match=r"split 'dev' not in .*found"):
        MultimodalFeatureDataset(root, 'dev', DIMS)
    with pytest.raises(FileNotFoundError, match=r"'/no/such' not found.*"
                       r"data_root"):
        MultimodalFeatureDataset('/no/such', 'train', DIMS)
    with pytest.raises(ValueError, match='task must be one of'):
        MultimodalFeatureDataset(root, 'train', DIMS, task='ranking')


def _write_columns(root, columns, labels):
    """Write without the project's writer (which would clean NaN/Inf)."""
    features = feature_schema(dict(audio=2), labels)
    hf.DatasetDict(train=hf.Dataset.from_dict(
        columns, features=features)).save_to_disk(str(root))
    return str(root)


def test_non_finite_features_are_reported(tmp_path):
    audio = np.ones((5, 3, 2), np.float32)
    audio[1, 0, 0] = np.nan
    audio[3, 2, 1] = -np.inf
    root = _write_columns(tmp_path / 'nan', dict(
        id=list('abcde'), audio=audio, label=np.zeros(5, np.float32)),
        {'label': hf.Value('float32')})
    with pytest.raises(ValueError, match=r"column 'audio' .*: 2 of 5 samples"
                       r" contain NaN or Inf \(first at index 1\)"):
        MultimodalFeatureDataset(root, 'train', dict(audio=2))


def test_writer_zeroes_non_finite_and_reports_counts(tmp_path):
    audio = np.ones((5, 3, 2), np.float32)
    audio[1, 0, 0], audio[3, 2, 1], audio[3, 0, 0] = np.nan, np.inf, -np.inf
    features = feature_schema(dict(audio=2), {'label': hf.Value('float32')})
    root = save_feature_dataset(dict(train=dict(
        id=list('abcde'), audio=audio, label=np.zeros(5))),
        str(tmp_path / 'clean'), features)
    stats = load_feature_stats(root)
    assert stats['non_finite']['train']['non_finite_samples'] == {'audio': 2}
    ds = MultimodalFeatureDataset(root, 'train', dict(audio=2))
    row = ds.columns['audio'].row(3)
    assert row[2, 1] == 0 and row[0, 0] == 0 and row[1, 1] == 1
    # mean/std over the 15 frames after cleaning
    frames = np.nan_to_num(audio, nan=0, posinf=0, neginf=0).reshape(-1, 2)
    np.testing.assert_allclose(stats['modalities']['audio']['mean'],
                               frames.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats['modalities']['audio']['std'],
                               frames.std(0), rtol=1e-6)


def test_interrupted_write_leaves_nothing(tmp_path):
    def batches():
        yield dict(id=['a'], audio=np.ones((1, 3, 2)), label=[0.0])
        raise KeyboardInterrupt

    from normtr_plugin.datasets import FeatureDatasetWriter
    with pytest.raises(KeyboardInterrupt):
        with FeatureDatasetWriter(str(tmp_path / 'out'), dict(audio=2),
                                  {'label': hf.Value('float32')}) as w:
            w.write_split('train', batches())
    assert list(tmp_path.iterdir()) == []


def test_bad_labels_are_reported(tmp_path):
    audio = np.ones((4, 3, 2), np.float32)
    root = _write_columns(tmp_path / 'range', dict(
        id=list('abcd'), audio=audio, label=[0, 1, 7, 2]),
        {'label': hf.Value('int64')})
    with pytest.raises(ValueError, match=r"'label'.*1 labels out of range; "
                       r"expected integers 0\.\.5, found e\.g\. 7"):
        MultimodalFeatureDataset(root, 'train', dict(audio=2),
                                 task='classification', num_classes=6)
    root = _write_columns(tmp_path / 'nanlabel', dict(
        id=list('abcd'), audio=audio, label=[0.5, np.nan, 1, 2]),
        {'label': hf.Value('float32')})
    with pytest.raises(ValueError, match="'label' .* 1 NaN/Inf"):
        MultimodalFeatureDataset(root, 'train', dict(audio=2))


def test_synthetic_task_is_deterministic_and_needs_fusion(tmp_path):
    sizes = dict(train=3000, validation=10, test=10)
    a = make_synthetic_iemocap(str(tmp_path / 'a'), seed=0, sizes=sizes)
    b = make_synthetic_iemocap(str(tmp_path / 'b'), seed=0, sizes=sizes)
    ta = hf.load_from_disk(a)['train'].with_format('numpy')
    tb = hf.load_from_disk(b)['train'].with_format('numpy')
    np.testing.assert_array_equal(ta['text'], tb['text'])
    # A linear probe on mean-pooled features: one modality alone is clearly
    # worse than all three together (the planted signal is multimodal).
    from sklearn.linear_model import LogisticRegression
    y = np.asarray(ta['Happy'])
    feats = {m: np.asarray(ta[m]).mean(1) for m in ('audio', 'video', 'text')}

    def probe(x):
        clf = LogisticRegression(max_iter=2000).fit(x[:2000], y[:2000])
        return clf.score(x[2000:], y[2000:])
    single = max(probe(f) for f in feats.values())
    fused = probe(np.concatenate(list(feats.values()), 1))
    assert single < 0.8 and fused > single + 0.1
    with pytest.raises(FileExistsError, match='exists'):
        make_synthetic_iemocap(a, sizes=sizes)
    ds = SyntheticIEMOCAPDataset(a, 'validation', pipeline=PIPE[2:])
    assert ds.metainfo['label_names'] == ['Neutral', 'Happy', 'Sad', 'Angry']


def _batches(ds, indices):
    batch = ds.__getitems__(indices)
    return list(zip(batch['data_samples'].ids,
                    batch['inputs']['audio'].numpy(),
                    batch['data_samples'].gt_label.tolist()))


def test_hub_style_folder_and_saved_folder_give_same_batches(tmp_path):
    from normtr_plugin.datasets.hub import export_hub_folder
    saved = write_dataset(tmp_path / 'saved', DIMS, seq_len=10)
    hub = export_hub_folder(saved, str(tmp_path / 'hub'))
    assert sorted(os.listdir(osp.join(hub, 'data'))) == [
        'test-00000-of-00001.parquet', 'train-00000-of-00001.parquet',
        'validation-00000-of-00001.parquet']
    assert 'config_name: default' in open(osp.join(hub, 'README.md')).read()
    for split in ('train', 'test'):
        a = MultimodalFeatureDataset(saved, split, DIMS, pipeline=PIPE)
        b = MultimodalFeatureDataset(hub, split, DIMS, pipeline=PIPE)
        assert a.feature_stats == b.feature_stats is not None
        for (ia, xa, ya), (ib, xb, yb) in zip(_batches(a, [4, 0, 2]),
                                              _batches(b, [4, 0, 2])):
            assert ia == ib and ya == yb
            np.testing.assert_array_equal(xa, xb)


def test_hub_export_fills_modalities_missing_from_a_split(tmp_path):
    from normtr_plugin.datasets import FeatureDatasetWriter
    from normtr_plugin.datasets.hub import export_hub_folder
    labels = {'label': hf.Value('float32')}
    with FeatureDatasetWriter(str(tmp_path / 's'), dict(audio=2, text=3),
                              labels) as w:
        w.write_split('train', [dict(id=['a'], audio=np.ones((1, 4, 2)),
                                     label=[1.0])], modalities=['audio'])
        w.write_split('test', [dict(id=['b'], audio=np.ones((1, 4, 2)),
                                    text=np.ones((1, 4, 3)), label=[2.0])])
        saved = w.finish()
    hub = export_hub_folder(saved, str(tmp_path / 'h'))
    ds = MultimodalFeatureDataset(hub, 'train', dict(audio=2))
    assert len(ds) == 1
    with pytest.raises(ValueError, match="modality 'text'.*1 of 1 samples have no values"):
        MultimodalFeatureDataset(hub, 'train', dict(audio=2, text=3))


def test_hub_id_offline_fails_at_once_and_says_what_was_tried():
    import time
    assert os.environ['HF_HUB_OFFLINE'] == '1'  # set by conftest
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as err:
        MultimodalFeatureDataset('no-such-org/no-such-dataset', 'train',
                                 DIMS, revision='v1')
    msg = str(err.value)
    assert "Hub dataset 'no-such-org/no-such-dataset' at revision 'v1'" in msg
    assert 'only the local cache was tried' in msg
    assert 'tools/convert_dataset.py' in msg
    assert time.perf_counter() - start < 5  # no retries


def test_normalize_features_uses_train_statistics(tmp_path):
    root = write_dataset(tmp_path / 'n', DIMS, seq_len=10)
    pipe = [dict(type='NormalizeFeatures')] + PIPE
    train = MultimodalFeatureDataset(root, 'train', DIMS, pipeline=pipe)
    raw = hf.load_from_disk(root)['train'].with_format('numpy')
    frames = np.asarray(raw['audio']).reshape(-1, 5)
    mean, std = frames.mean(0), frames.std(0)
    np.testing.assert_allclose(train[0]['inputs']['audio'][0].numpy(),
                               ((raw[0]['audio'] - mean) / std)[:4],
                               rtol=1e-4, atol=1e-5)
    # the validation split is normalised with the TRAIN statistics
    val = MultimodalFeatureDataset(root, 'validation', DIMS, pipeline=pipe)
    vraw = hf.load_from_disk(root)['validation'].with_format('numpy')
    np.testing.assert_allclose(val[1]['inputs']['text'][0].numpy(),
                               ((vraw[1]['text'][:4] -
                                 np.asarray(train.feature_stats['text']
                                            ['mean'])) /
                                np.asarray(train.feature_stats['text']
                                           ['std'])), rtol=1e-4, atol=1e-5)
    assert val.metainfo['feature_stats']['audio']['mean'] == \
        pytest.approx(mean.tolist(), rel=1e-5)


def test_normalize_features_errors(tmp_path):
    from normtr_plugin.datasets import NormalizeFeatures
    root = write_dataset(tmp_path / 'n', DIMS)
    os.remove(osp.join(root, 'feature_stats.json'))
    with pytest.raises(ValueError, match='has no feature_stats.json'):
        MultimodalFeatureDataset(root, 'train', DIMS,
                                 pipeline=[dict(type='NormalizeFeatures')])
    norm = NormalizeFeatures(stats=dict(audio=dict(mean=[0, 0], std=[1, 2])))
    two = dict(batch_of('audio', np.ones((3, 2))), modalities=['audio',
                                                               'video'])
    two['video'], two['lengths'] = torch.ones(1, 3, 2), torch.tensor([[3, 3]])
    with pytest.raises(KeyError, match="modality 'video'"):
        norm(two)
    out = norm(batch_of('audio', np.ones((3, 2)), np.ones((1, 2))))
    np.testing.assert_allclose(out['audio'][0], [[1, 0.5]] * 3)
    # padding stays 0
    np.testing.assert_allclose(out['audio'][1], [[1, 0.5], [0, 0], [0, 0]])


def test_push_feature_dataset_uploads_a_hub_folder(tmp_path):
    from normtr_plugin.datasets.hub import push_feature_dataset
    saved = write_dataset(tmp_path / 'saved', DIMS)
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls.append(('create_repo', repo_id, kwargs))

        def upload_folder(self, folder_path, repo_id, **kwargs):
            # What huggingface_hub uploads: the files allow_patterns match.
            files = sorted(
                rel for d, _, fs in os.walk(folder_path) for f in fs
                for rel in [osp.relpath(osp.join(d, f), folder_path)]
                if any(fnmatch.fnmatch(rel, p)
                       for p in kwargs['allow_patterns']))
            calls.append(('upload_folder', repo_id, kwargs, files))
            return 'commit-url'

    assert push_feature_dataset(saved, 'org/feats', api=FakeApi()) == \
        'commit-url'
    (_, repo, kw), (_, repo2, kw2, files) = calls
    assert repo == repo2 == 'org/feats'
    assert kw['repo_type'] == kw2['repo_type'] == 'dataset'
    assert files == ['README.md', 'data/test-00000-of-00001.parquet',
                     'data/train-00000-of-00001.parquet',
                     'data/validation-00000-of-00001.parquet',
                     'feature_stats.json']
