"""The RML protocol (paper section 4.2): speaker-disjoint 8:2 folds with
mean +- std over folds, and the random frame per segment out of K stored
candidates (the middle one at test)."""
import json
import os.path as osp
import subprocess
import sys

import datasets as hf
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from conftest import ROOT
from normtr_plugin.datasets import (SegmentSample, feature_schema,
                                    save_feature_dataset)
from normtr_plugin.datasets.speaker_folds import (assign_folds,
                                                  fold_summary,
                                                  speakers_from_pattern)
from normtr_plugin.engine import merge_cfg_options, prepare_config

RML = osp.join(ROOT, 'configs', 'normtr_rml.py')
EMOTIONS = ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise']


def write_rml_like(root, speakers=8, per_speaker=(6, 9), T=8, K=3, dim=4,
                   seed=0, splits=('train', 'test')):
    """RML-shaped features: ids ``s{n}_{emotion}_{i}``; video stores K
    candidate frames per segment (T*K frames) whose value is
    ``[segment, candidate, ...]``."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, speakers + 1):
        for i in range(per_speaker[s % 2]):
            rows.append((f's{s}_{EMOTIONS[i % 6][:2]}_{i}', i % 6))
    video = np.zeros((len(rows), T * K, dim), np.float32)
    video[:, :, 0] = np.repeat(np.arange(T), K)
    video[:, :, 1] = np.tile(np.arange(K), T)
    video[:, :, 2:] = rng.standard_normal((len(rows), T * K, dim - 2))
    audio = rng.standard_normal((len(rows), T, dim)).astype(np.float32)
    order = rng.permutation(len(rows))
    parts = np.array_split(order, len(splits))
    data = {split: {'id': [rows[j][0] for j in part],
                    'label': np.asarray([rows[j][1] for j in part]),
                    'audio': audio[part], 'video': video[part]}
            for split, part in zip(splits, parts)}
    features = feature_schema(dict(audio=dim, video=dim),
                              {'label': hf.ClassLabel(names=EMOTIONS)})
    return save_feature_dataset(data, str(root), features)


# ---------------------------------------------------------------- folds


def test_speaker_folds_are_disjoint_and_8_to_2(tmp_path):
    root = write_rml_like(tmp_path / 'rml', speakers=10,
                          splits=('train', 'validation', 'test'))
    out = tmp_path / 'folds'
    proc = subprocess.run(
        [sys.executable, 'tools/speaker_folds.py', 'split', root, '--out',
         str(out), '--k', '5', '--speaker-pattern', r'^(s\d+)_'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / 'folds.json').read_text())
    pooled = hf.concatenate_datasets(list(hf.load_from_disk(root).values()))
    all_ids = set(pooled['id'])
    tested = []
    for fold in report['folds']:
        ds = hf.load_from_disk(fold['folder'])
        assert sorted(ds) == ['test', 'train']
        spk = {s: set(speakers_from_pattern(ds[s]['id'], r'^(s\d+)_'))
               for s in ('train', 'test')}
        assert not spk['train'] & spk['test']  # speaker-independent
        assert spk['test'] == set(fold['test_speakers'])
        assert set(ds['train']['id']) | set(ds['test']['id']) == all_ids
        assert abs(fold['test_fraction'] - 0.2) < 0.05  # about 8:2
        tested += ds['test']['id']
        # its own train statistics, as for any converted dataset
        stats = json.loads(open(osp.join(fold['folder'],
                                         'feature_stats.json')).read())
        assert stats['split'] == 'train'
    assert sorted(tested) == sorted(all_ids)  # each sample tested once


def test_fold_assignment_balances_samples_and_needs_speakers():
    speakers = ['a'] * 10 + ['b'] * 9 + ['c'] * 5 + ['d'] * 4 + ['e']
    folds = assign_folds(speakers, 2, seed=3)
    assert sorted(sum(folds, [])) == ['a', 'b', 'c', 'd', 'e']
    sizes = [sum(speakers.count(s) for s in f) for f in folds]
    assert abs(sizes[0] - sizes[1]) <= 1
    with pytest.raises(ValueError, match='5 speakers cannot fill 6'):
        assign_folds(speakers, 6)


def test_mean_and_std_over_folds():
    summary = fold_summary([{'Acc-6': 80.0, 'F1': 70.0},
                            {'Acc-6': 90.0, 'F1': 74.0},
                            {'Acc-6': 85.0, 'F1': 72.0}])
    assert summary['Acc-6']['mean'] == pytest.approx(85.0)
    assert summary['Acc-6']['std'] == pytest.approx(5.0)  # ddof=1
    assert summary['F1']['folds'] == [70.0, 74.0, 72.0]


# ------------------------------------------------- K candidates per segment


def _video_loader(cfg, split_key, workers=0):
    loader = cfg[split_key].to_dict()
    loader.update(num_workers=workers, persistent_workers=False,
                  batch_size=8)
    # no reshuffling: a new draw per epoch must come from the generators
    # (mmengine's default worker seeding repeats them every epoch)
    loader['sampler']['shuffle'] = False
    with DefaultScope.overwrite_default_scope('normtr_plugin'):
        return Runner.build_dataloader(loader, seed=0)


def _picked(loader):
    """(segment, candidate) of every output step, per sample id."""
    out = {}
    for batch in loader:
        video = batch['inputs']['video'].numpy()
        ids = batch['data_samples'].metainfo['ids']
        for i, sample_id in enumerate(ids):
            out[sample_id] = video[i, :, :2].astype(int)
    return out


@pytest.mark.parametrize('workers', [0, 2])
def test_random_frame_per_segment_differs_between_epochs(tmp_path, workers):
    T, K = 8, 3
    root = write_rml_like(tmp_path / 'rml', T=T, K=K)
    cfg = merge_cfg_options(Config.fromfile(RML), {
        'data_root': root, 'modalities.audio': 4, 'modalities.video': 4})
    prepare_config(cfg)
    loader = _video_loader(cfg, 'train_dataloader', workers=workers)
    epochs = []
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        epochs.append(_picked(loader))
    for picked in epochs:
        for steps in picked.values():
            assert (steps[:, 0] == np.arange(T)).all()  # one per segment
            assert ((0 <= steps[:, 1]) & (steps[:, 1] < K)).all()
    candidates = np.stack([np.stack([e[i][:, 1] for i in sorted(e)])
                           for e in epochs])
    assert len(np.unique(candidates)) == K  # every candidate gets drawn
    assert (candidates[0] != candidates[1]).mean() > 0.3  # epochs differ


def test_middle_candidate_at_test(tmp_path):
    T, K = 8, 3
    root = write_rml_like(tmp_path / 'rml', T=T, K=K)
    cfg = merge_cfg_options(Config.fromfile(RML), {
        'data_root': root, 'modalities.audio': 4, 'modalities.video': 4})
    prepare_config(cfg)
    for _ in range(2):  # deterministic
        picked = _picked(_video_loader(cfg, 'test_dataloader'))
        for steps in picked.values():
            assert (steps[:, 0] == np.arange(T)).all()
            assert (steps[:, 1] == K // 2).all()


def test_segment_sample_with_one_candidate_keeps_the_frames():
    x = torch.arange(8.)[None, :, None].repeat(2, 1, 1)
    for random in (True, False):
        batch = {'video': x.clone(), 'modalities': ['video'],
                 'lengths': torch.tensor([[8], [8]])}
        out = SegmentSample(['video'], 8, random=random)(batch)
        torch.testing.assert_close(out['video'], x)


def test_folds_train_and_report_mean_and_std(tmp_path):
    """tools/speaker_folds.py split + train: every fold trains (validating
    on the held-out part of its train split) and tests; the summary gives
    mean +- std over the folds."""
    from safety_helpers import run_tool
    root = write_rml_like(tmp_path / 'rml', speakers=4)
    folds = tmp_path / 'folds'
    proc = run_tool(['tools/speaker_folds.py', 'split', root, '--out',
                     folds, '--k', '2', '--speaker-pattern', r'^(s\d+)_'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    work = tmp_path / 'work'
    proc = run_tool(['tools/speaker_folds.py', 'train', RML, folds,
                     '--work-dir', work, '--cfg-options',
                     'modalities.audio=4', 'modalities.video=4',
                     'model.embed_dim=32', 'train_cfg.max_epochs=2'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'validating on a held-out 10% of train' in proc.stdout
    summary = json.loads((work / 'summary.json').read_text())
    per_fold = [json.loads((work / f'fold_{i}' / 'test_metrics.json')
                           .read_text()) for i in range(2)]
    values = [m['Acc-6'] for m in per_fold]
    assert summary['Acc-6']['folds'] == values
    assert summary['Acc-6']['mean'] == pytest.approx(np.mean(values))
    assert summary['Acc-6']['std'] == pytest.approx(np.std(values, ddof=1))
    assert 'Acc-6: ' in proc.stdout and '± ' in proc.stdout
