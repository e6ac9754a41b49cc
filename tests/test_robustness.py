"""Test-time masking, AUILC and tools/robustness.py (SPEC section 5)."""
import importlib.util
import json
import math
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.hooks import Hook

from conftest import ROOT
from normtr_plugin.datasets import multimodal_collate
from normtr_plugin.engine import (build_runner, load_checkpoint_safely,
                                  merge_cfg_options, read_metrics)
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.datasets.transforms.test_time_masking import (
    RandomMasking, WindowMasking)
from normtr_plugin.evaluation.auilc import auilc, auilc_table
from normtr_plugin.evaluation.robustness_grid import parse_ratios, parse_seeds
from normtr_plugin.registry import (DATASETS, METRICS, MODELS, TRANSFORMS,
                                    build_in_scope)
from normtr_plugin.structures import batch_data_samples, split_data_samples
from normtr_plugin.structures.maskers import build_masker, window_length

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
# Maskers: whole batches (the masker family)
# ---------------------------------------------------------------------------

def batch(b=8, t=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(b, t, d, generator=g) + 5  # no exact zeros
            for m, d in (('audio', 3), ('video', 4), ('text', 5))}


def ids_of(x):
    return [f'clip_{i}' for i in range(len(next(iter(x.values()))))]


def mask_batch(x, ratio, masker, seed=0, return_masks=False):
    """The batch path of the masker family (was a torch-generator path)."""
    out, keep = build_masker(masker, ratio, seed)(x, ids_of(x))
    return (out, keep) if return_masks else out


def sample_keep_masks(batch_size, seq_lens, ratio, masker, seed):
    x = {m: torch.ones(batch_size, t, 1) for m, t in seq_lens.items()}
    return build_masker(masker, ratio, seed).keep_masks(x, ids_of(x))


def erased_of(x):
    """(B, T) bool: steps that are all zero."""
    return (x == 0).all(-1)


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_mask_batch_ratio_0_and_1(masker):
    x = batch()
    same = mask_batch(x, 0.0, masker, seed=0)
    for m in x:
        assert torch.equal(same[m], x[m])
    gone = mask_batch(x, 1.0, masker, seed=0)
    for m in x:
        assert torch.count_nonzero(gone[m]) == 0
        assert torch.count_nonzero(x[m]) == x[m].numel()  # input untouched


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_mask_batch_seeded(masker):
    x = batch()

    def run(seed):
        return mask_batch(x, 0.5, masker, seed=seed)
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
    out, masks = mask_batch(x, ratio, 'window', seed=0, return_masks=True)
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
    masks = sample_keep_masks(2000, dict(a=50, v=20), 0.3, 'random', seed=0)
    for keep in masks.values():
        assert (~keep).float().mean().item() == pytest.approx(0.3, abs=0.01)
    # modalities and samples get independent masks
    assert not torch.equal(masks['a'][:, :20], masks['v'])
    assert not torch.equal(masks['a'][0], masks['a'][1])
    # one seed: what is erased at 0.3 is erased at 0.6
    more = sample_keep_masks(2000, dict(a=50, v=20), 0.6, 'random', seed=0)
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
    """Sample i through ``transform`` as a batch of one: {m: (t, D)}."""
    x = sample(i, t)
    batch = dict(x, ids=[x['id']], lengths=torch.tensor([[t, t]]),
                 **{m: torch.from_numpy(x[m])[None] for m in x['modalities']})
    out = transform(batch)
    return {m: out[m][0].numpy() for m in x['modalities']}


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
    with pytest.raises(KeyError, match="modality 'b'"):
        RandomMasking(0.5, keys=['b'])(
            {'modalities': ['a'], 'ids': ['0'], 'a': torch.ones(1, 4, 2),
             'b': torch.ones(1, 4, 2), 'lengths': torch.tensor([[4]])})


def test_masker_is_length_aware_and_batch_independent():
    x = batch(b=6, t=10)
    lengths = torch.tensor([[10, 4, 7]] * 3 + [[2, 10, 5]] * 3)
    ids = ids_of(x)
    for kind in ('random', 'window'):
        masker = build_masker(kind, 0.5, seed=4)
        out, keep = masker(x, ids, lengths)
        for i, m in enumerate(x):
            valid = torch.arange(10)[None] < lengths[:, i:i + 1]
            assert keep[m][~valid].all()  # padding is never "erased"
            if kind == 'window':  # round(r * L) of the valid steps
                erased = (~keep[m]).sum(1)
                assert erased.tolist() == [round(0.5 * int(n))
                                           for n in lengths[:, i]]
        # one sample alone gets the mask it gets in the batch
        alone, _ = masker({m: v[4:5] for m, v in x.items()}, ids[4:5],
                          lengths[4:5])
        assert all(torch.equal(alone[m][0], out[m][4]) for m in x)
    with pytest.raises(ValueError, match='ids'):
        build_masker('random', 0.5)(x, None)


# ---------------------------------------------------------------------------
# End to end: tools/train.py -> tools/test.py / tools/robustness.py
# ---------------------------------------------------------------------------

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')


def run(args):
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo checkpoint (1 epoch on a small synthetic split) of two
    training seeds, its clean test metrics (tools/test.py) and one
    tools/robustness.py run: models 'first' and 'second' (seed 0 twice) and
    'both' (seeds 0 and 1)."""
    tmp = tmp_path_factory.mktemp('robustness')
    data = make_synthetic_iemocap(str(tmp / 'data'), seed=0, sizes=dict(
        train=64, validation=32, test=32))
    ckpts = []
    for seed in (0, 1):
        work = tmp / f'train{seed}'
        run(['tools/train.py', DEMO, '--work-dir', str(work), '--no-test',
             '--cfg-options', f'data_root={data}', 'train_cfg.max_epochs=1',
             f'randomness.seed={seed}'])
        ckpts.append(str(work / 'epoch_1.pth'))
    clean = tmp / 'clean.json'
    run(['tools/test.py', DEMO, ckpts[0], '--work-dir', str(tmp / 'test'),
         '--out', str(clean), '--cfg-options', f'data_root={data}'])
    out = tmp / 'robustness'
    proc = run(['tools/robustness.py', DEMO, ckpts[0], DEMO, ckpts[0], DEMO,
                ','.join(ckpts), '--names', 'first', 'second', 'both', '--ratios',
                '0:1:0.5', '--seeds', '2', '--out', str(out),
                '--cfg-options', f'data_root={data}'])
    with open(out / 'robustness.json') as f:
        report = json.load(f)
    clean, _ = read_metrics(str(clean))  # flat metrics (+ checkpoint)
    return SimpleNamespace(data=data, ckpts=ckpts, clean=clean, out=out,
                           report=report, proc=proc)


def test_robustness_tool_end_to_end(demo):
    report, clean, out = demo.report, demo.clean, demo.out
    assert report['masker'] == 'random'
    assert report['ratios'] == [0.0, 0.5, 1.0]
    assert report['seeds'] == [0, 1]
    assert 'tools/robustness.py' in report['command']
    assert list(report['models']) == ['first', 'second', 'both']
    for model in report['models'].values():
        assert model['num_samples'] == 32
        assert model['key_metric'] == 'Acc-2_mean'
        entry = model['checkpoints'][0]  # one run per checkpoint
        assert entry['num_samples'] == 32
        # robustness passes never run the invariance diagnostics
        task = {k: v for k, v in clean.items()
                if not k.startswith('invariance/')}
        assert set(entry['metrics']) == set(task)
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
                task, rel=1e-12, abs=1e-12)
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
    # console: the config once (one config for three models), one
    # progress bar over all 4 checkpoints x 4 passes (r = 0 and 1 once),
    # no per-pass log lines, the AUILCs as a table
    err, out_text = demo.proc.stderr, demo.proc.stdout
    assert err.count('\nmodel = dict(') == 1
    assert '16/16 passes' in err
    assert 'robustness: random masking, ratio' not in err + out_text
    assert 'AUILC: mean ± training spread [± masking spread]' in out_text
    assert 'both (n=2)' in out_text and 'Acc-2_mean ↑' in out_text
    first, second = (report['models'][n]['checkpoints'][0]
                     for n in ('first', 'second'))
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


def test_two_training_seeds_report_both_spreads(demo):
    """'both' holds two checkpoints: the training spread (std over the
    checkpoints' means, ddof=1) is reported apart from the masking spread
    (std over masking seeds within a checkpoint, pooled)."""
    model = demo.report['models']['both']
    runs, summary = model['checkpoints'], model['summary']
    assert [r['checkpoint'] for r in runs] == demo.ckpts
    assert summary['num_checkpoints'] == 2
    assert runs[0]['per_ratio'] == demo.report['models']['first'][
        'checkpoints'][0]['per_ratio']
    assert runs[0]['per_ratio'] != runs[1]['per_ratio']  # two trainings
    key = 'Acc-2_mean'
    for i, row in enumerate(summary['per_ratio']):
        means = [r['per_ratio'][i]['mean'][key] for r in runs]
        stds = [r['per_ratio'][i]['std'][key] for r in runs]
        assert row['mean'][key] == pytest.approx(np.mean(means))
        assert row['train_std'][key] == pytest.approx(np.std(means, ddof=1))
        assert row['mask_std'][key] == pytest.approx(
            np.sqrt(np.mean(np.square(stds))))
    a = summary['auilc'][key]
    per_ckpt = [r['auilc'][key]['mean'] for r in runs]
    assert a['per_checkpoint'] == pytest.approx(per_ckpt)
    assert a['train_std'] == pytest.approx(np.std(per_ckpt, ddof=1))
    assert a['mask_std'] == pytest.approx(np.sqrt(np.mean(np.square(
        [r['auilc'][key]['std'] for r in runs]))))
    assert a['train_std'] > 0 and a['mask_std'] > 0
    # r < 1: the fully masked point left out
    below = summary['auilc_below_1'][key]
    assert below['per_checkpoint'] == pytest.approx([auilc(
        [0, 0.5], [r['per_ratio'][i]['mean'][key] for i in (0, 1)])
        for r in runs])
    # a single checkpoint has no training spread
    assert demo.report['models']['first']['summary']['auilc'][key][
        'train_std'] is None
    # the constant predictor: one value for every ratio, in the table
    ref = model['reference']
    # a constant predictor has no features: no invariance/* diagnostics
    assert set(ref) == {m for m in model['metrics']
                        if not m.startswith('invariance/')}
    assert model['reference_auilc']['auilc'][key] == pytest.approx(ref[key])
    assert model['reference_auilc']['auilc_below_1'][key] == \
        pytest.approx(0.5 * ref[key])
    md = (demo.out / 'robustness.md').read_text()
    assert 'training spread' in md and 'masking spread' in md
    assert '| both | 2 |' in md and '| constant predictor | - |' in md
    assert 'AUILC over r < 1' in md


# ---------------------------------------------------------------------------
# The Runner loop against today's tool, and against the figure
# ---------------------------------------------------------------------------

class RecordMaskedBatches(Hook):
    """Keeps the (masked) batches the loop evaluated, per (seed, ratio)."""

    def __init__(self):
        self.batches = {}

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        masker = runner.test_loop.current_masker
        self.batches.setdefault((masker.seed, masker.ratio), []).append(
            {m: x.clone() for m, x in data_batch['inputs'].items()})
        self.batches[(masker.seed, masker.ratio)][-1]['ids'] = list(
            data_batch['data_samples'].metainfo['ids'])


def loop_run(demo, tmp_path, masker):
    cfg = merge_cfg_options(Config.fromfile(DEMO), dict(data_root=demo.data))
    cfg.work_dir = str(tmp_path / 'w')
    cfg.test_cfg = dict(type='RobustnessTestLoop', ratios=[0, 0.5, 1],
                        seeds=[0, 1], masker=masker)
    cfg.test_dataloader.batch_size = 12  # several batches, a partial one
    cfg.load_from = demo.ckpts[0]
    runner = build_runner(cfg)
    hook = RecordMaskedBatches()
    runner.register_hook(hook)
    runner.test()
    return runner.cfg, runner.test_loop.results, hook.batches


def todays_tool(cfg, checkpoint, masker, ratio, seed):
    """What tools/robustness.py computed before the Runner loop: the whole
    test split stacked in memory, masked, ``model.test_step`` by hand in
    the config's batches and the config's evaluator; the masks are the
    masker family's (the only masks there are now)."""
    model = build_in_scope(MODELS, cfg.model)
    state = load_checkpoint_safely(checkpoint, map_location='cpu')
    model.load_state_dict(state['state_dict'], strict=True)
    model.eval()
    ds_cfg = cfg.test_dataloader.dataset
    dataset = build_in_scope(DATASETS, ds_cfg)
    batch = multimodal_collate(dataset.__getitems__(range(len(dataset))))
    samples = batch['data_samples']
    inputs, _ = build_masker(masker, ratio, seed)(
        batch['inputs'], samples.metainfo['ids'], samples.lengths)
    per_sample = split_data_samples(samples)
    evaluator = Evaluator([build_in_scope(METRICS, dict(m)) for m in (
        cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
        else [cfg.test_evaluator])])
    evaluator.dataset_meta = dataset.metainfo
    size = cfg.test_dataloader.batch_size
    with torch.no_grad():
        for start in range(0, len(per_sample), size):
            sl = slice(start, start + size)
            data = dict(inputs={m: x[sl] for m, x in inputs.items()},
                        data_samples=batch_data_samples(
                            per_sample[sl], list(model.modalities)))
            evaluator.process(data_samples=model.test_step(data),
                              data_batch=data)
    return evaluator.evaluate(len(per_sample))


@pytest.mark.parametrize('masker', ['random', 'window'])
def test_loop_equals_todays_tool_and_the_figure(demo, tmp_path, masker):
    cfg, results, batches = loop_run(demo, tmp_path, masker)
    assert results['evaluations'] == 4  # r = 0 and r = 1 are seed-free
    for row in results['per_ratio']:
        for seed in (0, 1):
            expected = todays_tool(cfg, demo.ckpts[0], masker, row['ratio'],
                                   seed)
            assert row['per_seed'][str(seed)] == expected, (row['ratio'],
                                                            seed)
    task_metrics = {k: v for k, v in demo.clean.items()
                    if not k.startswith('invariance/')}
    assert results['per_ratio'][0]['per_seed']['0'] == pytest.approx(
        task_metrics, rel=1e-12, abs=1e-12)
    # the same masks in the figure (tools/visualize.py) and the table
    vis = load_tool('visualize')
    model = vis.build_model(cfg, demo.ckpts[0])
    loader = vis.build_dataloader(cfg, 'test')
    seen = 0
    for index in (0, 5, 13, 31):
        for seed in (0, 1):
            figure = build_masker(masker, 0.5, seed)
            clean, masked, keep = vis.masked_sample(model, loader, index,
                                                    figure)
            sample_id = clean['data_samples'].metainfo['ids'][0]
            erased = sum(int((~k).sum()) for k in keep.values())
            assert erased > 0
            for recorded in batches[(seed, 0.5)]:
                if sample_id in recorded['ids']:
                    i = recorded['ids'].index(sample_id)
                    for m, x in masked['inputs'].items():
                        assert torch.equal(recorded[m][i], x[0]), (m, index)
                    seen += 1
    assert seen == 8


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'{name}_tool', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constant_predictor_is_the_majority_or_the_training_mean():
    from normtr_plugin.models import (ClassificationHead, MultiBinaryHead,
                                      MultiLabelHead, RegressionHead)

    def predict(head, targets, batch=3):
        logits = head.constant_logits(torch.as_tensor(targets))
        return head.predict(logits.expand(batch, *logits.shape))

    pred = predict(RegressionHead(4), [1.0, 2.0, 6.0])
    assert pred['pred_score'].tolist() == [3.0] * 3
    pred = predict(ClassificationHead(4, 3), [2, 2, 0, 1])
    assert pred['pred_label'].tolist() == [2] * 3
    torch.testing.assert_close(pred['pred_score'][0],
                               torch.tensor([0.25, 0.25, 0.5]))
    pred = predict(MultiBinaryHead(4, 2), [[1, 0], [1, 0], [0, 0]])
    assert pred['pred_label'].tolist() == [[1, 0]] * 3
    pred = predict(MultiLabelHead(4, 2), [[1, 0], [1, 0], [0, 0]])
    assert pred['pred_label'].tolist() == [[1, 0]] * 3
    torch.testing.assert_close(pred['pred_score'][0],
                               torch.tensor([2 / 3, 0.0]), atol=1e-6,
                               rtol=0)
