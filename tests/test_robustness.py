"""Test-time masking, AUILC and tools/robustness.py (SPEC section 5)."""
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.datasets.transforms.test_time_masking import (
    RandomMasking, WindowMasking, mask_batch, sample_keep_masks,
    window_length)
from normtr_plugin.evaluation.auilc import auilc, auilc_table
from normtr_plugin.evaluation.robustness import parse_ratios, parse_seeds
from normtr_plugin.registry import TRANSFORMS, build_in_scope

RATIOS = [round(0.1 * i, 10) for i in range(11)]
TRANSFORM = dict(random=RandomMasking, window=WindowMasking)


# ---------------------------------------------------------------------------
# AUILC
# ---------------------------------------------------------------------------

def test_auilc_constant_linear_and_uneven():
    assert auilc([0, 1], [0.7, 0.7]) == pytest.approx(0.7)
    assert auilc(RATIOS, [42.0] * 11) == pytest.approx(42.0)
    assert auilc(RATIOS, np.linspace(1, 0, 11)) == pytest.approx(0.5)
    # uneven spacing: (1+2)/2*0.2 + (2+4)/2*0.3 + (4+0)/2*0.5 = 0.3+0.9+1.0
    assert auilc([0, 0.2, 0.5, 1.0], [1, 2, 4, 0]) == pytest.approx(2.2)
    assert auilc([0.5, 1.0], [2, 2]) == pytest.approx(1.0)
    assert math.isnan(auilc([0, 1], [1, float('nan')]))


def test_auilc_table():
    table = auilc_table({1.0: dict(acc=0.0, mae=2.0),
                         0.0: dict(acc=100.0, mae=1.0),
                         0.5: dict(acc=50.0, mae=1.0)})
    assert table == pytest.approx(dict(acc=50.0, mae=1.25))


@pytest.mark.parametrize('ratios, values, match', [
    ([0, 1], [1], 'same length'),
    ([0], [1], 'at least 2'),
    ([0, 0.5, 0.5], [1, 2, 3], 'strictly increasing'),
    ([0, 1, 0.5], [1, 2, 3], 'strictly increasing'),
    ([0, float('inf')], [1, 2], 'finite'),
])
def test_auilc_errors(ratios, values, match):
    with pytest.raises(ValueError, match=match):
        auilc(ratios, values)


def test_auilc_table_errors():
    with pytest.raises(ValueError, match='at least 2'):
        auilc_table({0.0: dict(acc=1.0)})
    with pytest.raises(ValueError, match='reports metrics'):
        auilc_table({0.0: dict(acc=1.0), 1.0: dict(f1=1.0)})


# ---------------------------------------------------------------------------
# Ratios and seeds
# ---------------------------------------------------------------------------

def test_parse_ratios():
    assert parse_ratios('0:1:0.1') == RATIOS
    assert parse_ratios('0:1:0.5') == [0.0, 0.5, 1.0]
    assert parse_ratios('0:1:0.3') == [0.0, 0.3, 0.6, 0.9]
    assert parse_ratios('0.2:0.4:0.1') == [0.2, 0.3, 0.4]
    assert parse_ratios('0.5, 0,1') == [0.0, 0.5, 1.0]
    assert parse_ratios([0.25]) == [0.25]
    for bad in ('0:1', '0:1:0', '1:0:0.1', '0:1.5:0.5', 'a,b', '0,0', '',
                '-0.1,0.5'):
        with pytest.raises(ValueError):
            parse_ratios(bad)


def test_parse_seeds():
    assert parse_seeds('3') == [0, 1, 2]
    assert parse_seeds(2) == [0, 1]
    assert parse_seeds('0,5,7') == [0, 5, 7]
    for bad in ('0', 'x', '1,1', '-1,2'):
        with pytest.raises(ValueError):
            parse_seeds(bad)


# ---------------------------------------------------------------------------
# Maskers: vectorised function
# ---------------------------------------------------------------------------

def batch(b=8, t=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(b, t, d, generator=g) + 5  # no exact zeros
            for m, d in (('audio', 3), ('video', 4), ('text', 5))}


def erased_of(x):
    """(B, T) bool: steps that are all zero."""
    return (x == 0).all(-1)


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_mask_batch_ratio_0_and_1(masker):
    x = batch()
    same = mask_batch(x, 0.0, masker, torch.Generator().manual_seed(0))
    for m in x:
        assert torch.equal(same[m], x[m])
    gone = mask_batch(x, 1.0, masker, torch.Generator().manual_seed(0))
    for m in x:
        assert torch.count_nonzero(gone[m]) == 0
        assert torch.count_nonzero(x[m]) == x[m].numel()  # input untouched


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_mask_batch_seeded(masker):
    x = batch()

    def run(seed):
        return mask_batch(x, 0.5, masker, torch.Generator().manual_seed(seed))
    a, b, c = run(1), run(1), run(2)
    assert all(torch.equal(a[m], b[m]) for m in x)
    assert not all(torch.equal(a[m], c[m]) for m in x)
    # only whole time steps are erased, the rest is untouched
    for m in x:
        erased = erased_of(a[m])
        assert torch.equal(a[m][~erased], x[m][~erased])


@pytest.mark.parametrize('ratio', [0.1, 0.25, 0.3, 0.5, 0.75, 0.9])
def test_mask_batch_window_length_and_contiguity(ratio):
    x = batch(b=64, t=10)
    out, masks = mask_batch(x, ratio, 'window',
                            torch.Generator().manual_seed(0),
                            return_masks=True)
    length = round(ratio * 10)
    starts = set()
    for m in x:
        erased = erased_of(out[m])
        assert torch.equal(erased, ~masks[m])
        for row in erased.int():
            idx = torch.nonzero(row).flatten()
            assert len(idx) == length == window_length(ratio, 10)
            assert torch.equal(idx, torch.arange(idx[0], idx[0] + length))
            starts.add(int(idx[0]))
    assert min(starts) == 0 and max(starts) == 10 - length  # all positions


def test_mask_batch_random_rate_and_nesting():
    masks = sample_keep_masks(2000, dict(a=50, v=20), 0.3, 'random',
                              torch.Generator().manual_seed(0))
    for keep in masks.values():
        assert (~keep).float().mean().item() == pytest.approx(0.3, abs=0.01)
    # modalities and samples get independent masks
    assert not torch.equal(masks['a'][:, :20], masks['v'])
    assert not torch.equal(masks['a'][0], masks['a'][1])
    # one seed: what is erased at 0.3 is erased at 0.6
    more = sample_keep_masks(2000, dict(a=50, v=20), 0.6, 'random',
                             torch.Generator().manual_seed(0))
    for m in masks:
        assert not (more[m] & ~masks[m]).any()


def test_mask_batch_errors():
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        mask_batch(batch(), 1.5, 'random')
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        mask_batch(batch(), -0.1, 'window')
    with pytest.raises(ValueError, match='masker'):
        mask_batch(batch(), 0.5, 'gaussian')


# ---------------------------------------------------------------------------
# Maskers: pipeline transforms
# ---------------------------------------------------------------------------

def sample(i, t=10):
    rng = np.random.default_rng(i)
    return {'id': f'clip_{i}', 'modalities': ['audio', 'text'],
            'audio': rng.standard_normal((t, 3)).astype(np.float32) + 5,
            'text': rng.standard_normal((t, 4)).astype(np.float32) + 5}


def apply(transform, i, t=10):
    return transform(sample(i, t))


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_transform_ratio_0_and_1(masker):
    cls = TRANSFORM[masker]
    for i in range(5):
        clean = sample(i)
        out = apply(cls(0.0, seed=3), i)
        for m in clean['modalities']:
            np.testing.assert_array_equal(out[m], clean[m])
            assert out[m].dtype == np.float32
        out = apply(cls(1.0, seed=3), i)
        assert all(not out[m].any() for m in clean['modalities'])


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_transform_deterministic_per_sample(masker):
    cls = TRANSFORM[masker]
    a = [apply(cls(0.5, seed=1), i) for i in range(8)]
    b = [apply(cls(0.5, seed=1), i) for i in reversed(range(8))][::-1]
    c = [apply(cls(0.5, seed=2), i) for i in range(8)]
    assert all(np.array_equal(x['audio'], y['audio']) and
               np.array_equal(x['text'], y['text']) for x, y in zip(a, b))
    assert not all(np.array_equal(x['audio'], y['audio'])
                   for x, y in zip(a, c))
    # same seed, different samples: different masks
    masks = {tuple((a[i]['audio'] == 0).all(-1)) for i in range(8)}
    assert len(masks) > 1


def test_transform_window_length_contiguous_and_keys():
    for ratio in (0.1, 0.25, 0.5, 0.9):
        for i in range(20):
            out = apply(WindowMasking(ratio, keys=['audio']), i, t=50)
            idx = np.flatnonzero((out['audio'] == 0).all(-1))
            assert len(idx) == round(ratio * 50)
            np.testing.assert_array_equal(
                idx, np.arange(idx[0], idx[0] + len(idx)))
            np.testing.assert_array_equal(out['text'], sample(i, 50)['text'])


def test_transform_random_rate_and_registry():
    t = build_in_scope(TRANSFORMS, dict(type='RandomMasking', ratio=0.3,
                                        seed=0))
    assert isinstance(t, RandomMasking)
    erased = [(apply(t, i, t=50)[m] == 0).all(-1)
              for i in range(200) for m in ('audio', 'text')]
    assert np.mean(erased) == pytest.approx(0.3, abs=0.02)
    assert isinstance(build_in_scope(TRANSFORMS, dict(
        type='WindowMasking', ratio=0.3)), WindowMasking)


@pytest.mark.parametrize('masker', ['RandomMasking', 'WindowMasking'])
def test_transform_in_dataset_pipeline(tiny_regression_data, masker):
    from normtr_plugin.datasets import MultimodalFeatureDataset
    pipeline = [dict(type='TruncatePad', keys=['audio', 'video', 'text'],
                     seq_len=10),
                dict(type=masker, ratio=0.5, seed=0),
                dict(type='PackMultimodalInputs')]
    ds = MultimodalFeatureDataset(
        tiny_regression_data, 'test', dict(audio=5, video=7, text=9),
        pipeline=pipeline)
    both = ds.__getitems__([0, 3])  # one packed batch
    alone = ds.__getitems__([3])
    for m in ('audio', 'video', 'text'):
        assert torch.equal(both['inputs'][m][1], alone['inputs'][m][0])
        erased = erased_of(both['inputs'][m][1])
        assert 0 < int(erased.sum()) < 10


def test_transform_errors():
    for bad in (-0.01, 1.01, float('nan'), 'half'):
        with pytest.raises(ValueError, match=r'\[0, 1\]'):
            RandomMasking(bad)
    with pytest.raises(ValueError, match='seed'):
        WindowMasking(0.5, seed=-1)
    with pytest.raises(KeyError, match='id'):
        RandomMasking(0.5)({'modalities': ['a'], 'a': np.ones((4, 2))})


# ---------------------------------------------------------------------------
# End to end: tools/train.py -> tools/test.py / tools/robustness.py
# ---------------------------------------------------------------------------

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')


def run(args):
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


def test_robustness_tool_end_to_end(tmp_path):
    data = make_synthetic_iemocap(str(tmp_path / 'data'), seed=0, sizes=dict(
        train=64, validation=32, test=32))
    work = tmp_path / 'train'
    run(['tools/train.py', DEMO, '--work-dir', str(work), '--no-test',
         '--cfg-options', f'data_root={data}', 'train_cfg.max_epochs=1'])
    ckpt = str(work / 'epoch_1.pth')
    clean = tmp_path / 'clean.json'
    run(['tools/test.py', DEMO, ckpt, '--work-dir', str(tmp_path / 'test'),
         '--out', str(clean), '--cfg-options', f'data_root={data}'])
    out = tmp_path / 'robustness'
    run(['tools/robustness.py', DEMO, ckpt, DEMO, ckpt, '--names', 'first',
         'second', '--ratios', '0:1:0.5', '--seeds', '2', '--out', str(out),
         '--cfg-options', f'data_root={data}'])

    with open(out / 'robustness.json') as f:
        report = json.load(f)
    with open(clean) as f:
        clean = json.load(f)
    assert report['masker'] == 'random'
    assert report['ratios'] == [0.0, 0.5, 1.0]
    assert report['seeds'] == [0, 1]
    assert 'tools/robustness.py' in report['command']
    assert list(report['models']) == ['first', 'second']
    for entry in report['models'].values():
        assert entry['num_samples'] == 32
        assert entry['key_metric'] == 'Acc-2_mean'
        assert set(entry['metrics']) == set(clean)
        assert [row['ratio'] for row in entry['per_ratio']] == [0, 0.5, 1]
        for row in entry['per_ratio']:
            assert list(row['per_seed']) == ['0', '1']
            for metric in entry['metrics']:
                values = [row['per_seed'][s][metric] for s in ('0', '1')]
                assert row['mean'][metric] == pytest.approx(np.mean(values))
                assert row['std'][metric] == pytest.approx(np.std(values))
        # ratio 0 is the clean test set: tools/test.py's metrics, per seed
        for s in ('0', '1'):
            assert entry['per_ratio'][0]['per_seed'][s] == pytest.approx(
                clean, rel=1e-12, abs=1e-12)
        for metric in entry['metrics']:
            curve = [row['mean'][metric] for row in entry['per_ratio']]
            a = entry['auilc'][metric]
            assert a['mean'] == pytest.approx(auilc([0, 0.5, 1], curve))
            per_seed = [auilc([0, 0.5, 1],
                              [row['per_seed'][s][metric]
                               for row in entry['per_ratio']])
                        for s in ('0', '1')]
            assert a['per_seed'] == pytest.approx(dict(zip('01', per_seed)))
            assert a['std'] == pytest.approx(np.std(per_seed))
    first, second = report['models'].values()
    assert first['per_ratio'] == second['per_ratio']  # same model twice

    md = (out / 'robustness.md').read_text()
    assert '| first |' in md and '| second |' in md and 'AUILC' in md
    pngs = sorted(p.name for p in out.glob('*.png'))
    assert 'robustness_Acc-2_mean.png' in pngs
    assert len(pngs) == len(first['metrics'])
    for name in pngs:
        head = (out / name).read_bytes()[:8]
        assert head == b'\x89PNG\r\n\x1a\n'
        assert (out / name).stat().st_size > 1000
    assert not list(out.glob('*.tmp'))
