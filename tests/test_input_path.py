"""The batched input path, and lengths/padding as data (issue: real padded
files read right)."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, write_dataset
from normtr_plugin.datasets import (MultimodalFeatureDataset,
                                    multimodal_collate)
from normtr_plugin.datasets.converters import convert

EMOTIONS = ['Neutral', 'Happy', 'Sad', 'Angry']


def config_pipelines(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets',
                                   name))
    return cfg.train_pipeline, cfg.test_pipeline


def make_mult_left_padded(rng, n=48, steps=20, dims=(74, 35, 300)):
    """MulT's exact schema, left-padded with zeros (MulT issue 3)."""
    data, valid = {}, {}
    for split in ('train', 'valid', 'test'):
        lengths = rng.integers(1, steps + 1, n)
        lengths[:3] = (steps, 1, 5)
        part = {}
        for key, dim in zip(('audio', 'vision', 'text'), dims):
            x = rng.standard_normal((n, steps, dim)).astype(np.float32)
            for i, length in enumerate(lengths):
                x[i, :steps - length] = 0  # left padding
            part[key] = x
        labels = np.zeros((n, 4, 2), np.float32)
        labels[np.arange(n)[:, None], np.arange(4), rng.integers(0, 2, (n, 4))] = 1
        part['labels'] = labels
        data[split], valid[split] = part, lengths
    return data, valid


def test_mult_left_padded_reaches_the_model_as_real_frames(tmp_path):
    rng = np.random.default_rng(0)
    data, valid = make_mult_left_padded(rng)
    src = tmp_path / 'iemocap_data.pkl'
    with open(src, 'wb') as f:
        pickle.dump(data, f)
    out = str(tmp_path / 'iemocap')
    report = convert('mult', str(src), out)
    assert report['padding']['text']['side'] == 'left'
    _, test_pipeline = config_pipelines('iemocap.py')
    ds = MultimodalFeatureDataset(
        out, 'test', dict(audio=74, video=35, text=300),
        label_columns=EMOTIONS, task='multi_binary', pipeline=test_pipeline)
    batch = ds.__getitems__(list(range(len(ds))))
    lengths = valid['test']
    for m, key in (('audio', 'audio'), ('text', 'text')):
        x = batch['inputs'][m].numpy()
        assert x.shape == (48, 8, {'audio': 74, 'text': 300}[m])
        # no sample with content reaches the model all-zero
        assert (np.abs(x).sum(axis=(1, 2)) > 0).all()
        for i, length in enumerate(lengths):  # the first T valid steps
            first = data['test'][key][i, 20 - length:][:8]
            np.testing.assert_array_equal(x[i, :len(first)], first)
            assert not x[i, len(first):].any()
    assert batch['data_samples'].lengths[:, 0].tolist() == \
        np.minimum(lengths, 8).tolist()


def test_mmsa_aligned_with_true_lengths_keeps_t50_everywhere(tmp_path):
    rng = np.random.default_rng(1)
    n, steps = 6, 50
    lengths = np.array([50, 12, 30, 1, 49, 7])
    part = dict(id=np.array([f'v{i}$_$0' for i in range(n)]),
                regression_labels=rng.uniform(-3, 3, n))
    bert = np.zeros((n, 3, steps), np.float32)
    for key, dim in (('text', 768), ('audio', 5), ('vision', 20)):
        x = rng.standard_normal((n, steps, dim)).astype(np.float32)
        for i, length in enumerate(lengths):
            x[i, length:] = 0
        part[key] = x
    for i, length in enumerate(lengths):
        bert[i, 1, :length] = 1
    part.update(text_bert=bert, audio_lengths=lengths,
                vision_lengths=lengths)
    src = tmp_path / 'aligned_50.pkl'
    with open(src, 'wb') as f:
        pickle.dump(dict(train=part, valid=part, test=part), f)
    out = str(tmp_path / 'mosi')
    report = convert('mmsa', str(src), out)
    assert report['aligned']
    _, test_pipeline = config_pipelines('mosi.py')
    ds = MultimodalFeatureDataset(out, 'test',
                                  dict(audio=5, video=20, text=768),
                                  pipeline=test_pipeline)
    batch = ds.__getitems__(list(range(n)))
    for m, key in (('audio', 'audio'), ('video', 'vision'), ('text', 'text')):
        assert batch['inputs'][m].shape[:2] == (n, 50)
        np.testing.assert_array_equal(batch['inputs'][m].numpy(), part[key])
    assert batch['data_samples'].lengths.tolist() == \
        [[int(v)] * 3 for v in lengths]


@pytest.mark.parametrize('masking', [None, 'RandomMasking', 'WindowMasking'])
def test_a_batch_equals_its_samples_read_alone(tmp_path, masking):
    dims = dict(audio=5, video=7, text=9)
    root = write_dataset(tmp_path / 'd', dims, seq_len=12)
    _, pipeline = config_pipelines('mmmo.py')
    pipeline = [dict(type='NormalizeFeatures'),
                dict(type='TruncatePad', keys=['audio', 'text'], seq_len=8),
                dict(type='SegmentSample', keys=['video'], seq_len=5),
                dict(type='PackMultimodalInputs')]
    if masking:
        pipeline.insert(3, dict(type=masking, ratio=0.4, seed=3))
    ds = MultimodalFeatureDataset(root, 'test', dims, pipeline=pipeline)
    indices = [4, 0, 5, 2]
    batched = ds.__getitems__(indices)
    per_sample = multimodal_collate([ds[i] for i in indices])
    for m in dims:
        torch.testing.assert_close(batched['inputs'][m],
                                   per_sample['inputs'][m])
    for field in ('gt_label', 'lengths'):
        torch.testing.assert_close(batched['data_samples'].get(field),
                                   per_sample['data_samples'].get(field))
    assert batched['data_samples'].ids == per_sample['data_samples'].ids
    if masking:  # the mask erased something
        assert (batched['inputs']['audio'].abs().sum(-1) == 0).any()


def test_a_per_sample_transform_runs_through_the_adapter(tmp_path):
    dims = dict(audio=3)
    root = write_dataset(tmp_path / 'd', dims, seq_len=6)

    def double(results):  # a user's own per-sample transform
        results['audio'] = results['audio'] * 2
        return results

    ds = MultimodalFeatureDataset(
        root, 'train', dims,
        pipeline=[dict(type='PerSample', transform=double),
                  dict(type='PackMultimodalInputs')])
    batch = multimodal_collate(ds.__getitems__([1, 2]))
    raw = ds.columns['audio'].row(1)
    np.testing.assert_array_equal(batch['inputs']['audio'][0].numpy(),
                                  raw * 2)


def test_resident_split_matches_memory_mapped_reads(tmp_path):
    dims = dict(audio=4, video=3)
    root = write_dataset(tmp_path / 'd', dims, seq_len=9)
    pipeline = [dict(type='NormalizeFeatures'),
                dict(type='TruncatePad', keys=['audio'], seq_len=6),
                dict(type='SegmentSample', keys=['video'], seq_len=6),
                dict(type='PackMultimodalInputs')]
    mapped = MultimodalFeatureDataset(root, 'test', dims, pipeline=pipeline)
    resident = MultimodalFeatureDataset(root, 'test', dims,
                                        pipeline=pipeline, resident='cpu')
    a, b = mapped.__getitems__([3, 1]), resident.__getitems__([3, 1])
    for m in dims:
        torch.testing.assert_close(a['inputs'][m], b['inputs'][m])
    with pytest.raises(TypeError, match='not a batch transform'):
        MultimodalFeatureDataset(root, 'test', dims, resident='cpu',
                                 pipeline=[lambda r: r])


def test_frame_column_gathers_variable_length_rows(tmp_path):
    import datasets as hf
    from normtr_plugin.datasets import feature_schema, save_feature_dataset
    rows = [np.full((n, 2), n + 1, np.float32) for n in (3, 0, 5, 1)]
    root = save_feature_dataset(
        dict(train=dict(id=list('abcd'), audio=rows, label=np.zeros(4))),
        str(tmp_path / 'v'),
        feature_schema(dict(audio=2), {'label': hf.Value('float32')}))
    ds = MultimodalFeatureDataset(root, 'train', dict(audio=2))
    col = ds.columns['audio']
    assert col.lengths.tolist() == [3, 0, 5, 1]
    x, lengths = col.gather([2, 1, 0], steps=4)
    assert lengths.tolist() == [4, 0, 3]
    np.testing.assert_array_equal(x[:, :, 0], [[6, 6, 6, 6], [0, 0, 0, 0],
                                               [4, 4, 4, 0]])
