"""Does the noise-aware scheme make the NRGFs invariant? The issue-12 grid.

    python tools/analysis_tools/noise_aware_sweep.py \\
        --data-roots mmmo=/tmp/data/mmmo demo=/tmp/data/synthetic \\
        --variants paper noise_only neither decoupled_dann ... \\
        --seeds 0 1 2 --work-dir /tmp/noise_aware --out docs/noise_aware

For every family, variant and training seed: ``tools/train.py`` (config
``configs/noise_aware/<family>/<variant>.py``, else
``configs/ablations/<family>/<variant>.py``; a variant written
``NAME=VARIANT+key=value+...`` is VARIANT's config with those
``--cfg-options``), then ``tools/robustness.py``
on the selected checkpoint with the random and the window masker (11
ratios, 3 masking seeds). Finished steps are skipped, so an interrupted
sweep resumes. Collected per run: the validation ``invariance/*`` metrics
at the selected (best) epoch, the test metrics (task and invariance), the
AUILC of the task metrics and a fresh linear probe: a logistic regression
fit on the training split's NRGFs (mean over time per modality) to tell
their modality, scored on the validation split. Unlike the co-trained D1,
the probe is not the adversary the extractor learned to fool. Writes
``<out>/sweep.json`` (every run and the mean/std over seeds) and
``<out>/sweep.md`` (one table per family, with the issue's acceptance
check against ``--reference``).

Each child runs with ``OMP_NUM_THREADS=--threads`` (default 1): on shared
CPU cores, torch's default thread pool oversubscribes and runs many times
slower.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

from normtr_plugin.utils import (MissingFileError, NormTRError,
                                 add_debug_argument, run_tool)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASK_METRICS = dict(mmmo=('MAE', 'Corr'), demo=('Acc-2_mean',))
KEY_METRIC = dict(mmmo='MAE', demo='Acc-2_mean')
LOWER_BETTER = {'MAE'}
PROBES = ('probe_nrgf_acc', 'probe_mf_acc')
INVARIANCE = ('d1_nrgf_acc', 'd1_mf_acc', 'd1_chance', 'd2_acc',
              'd2_majority', 'cos_within_nrgf', 'cos_nrgf_mf')
MASKERS = ('random', 'window')
COSINE_MARGIN = 0.1  # "clearly exceeds today's" within-NRGF cosine


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-roots', nargs='+', required=True,
                        metavar='FAMILY=DIR')
    parser.add_argument('--variants', nargs='+', required=True)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--reference', default='paper',
                        help="today's scheme, the acceptance baseline")
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-robustness', action='store_true')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    args.roots = dict(item.split('=', 1) for item in args.data_roots)
    unknown = set(args.roots) - set(TASK_METRICS)
    if unknown:
        parser.error(f'families must be among {sorted(TASK_METRICS)}, got '
                     f'{sorted(unknown)}')
    return args


def parse_variant(spec: str):
    """``NAME`` or ``NAME=VARIANT+key=value+...`` -> (name, variant,
    cfg-options list)."""
    if '=' not in spec.split('+', 1)[0]:
        return spec, spec, []
    name, rest = spec.split('=', 1)
    variant, *options = rest.split('+')
    return name, variant, options


def config_of(family: str, variant: str) -> str:
    for folder in ('noise_aware', 'ablations'):
        path = osp.join('configs', folder, family, f'{variant}.py')
        if osp.isfile(osp.join(ROOT, path)):
            return path
    raise MissingFileError(f'no config for variant {variant!r} of '
                           f'{family}: configs/noise_aware/{family}/'
                           f'{variant}.py')


def run(cmd, log_path, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=ROOT,
               HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
    t0 = time.time()
    with open(log_path, 'w') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    if code:
        raise NormTRError(f'{" ".join(cmd)} failed ({code}); see '
                          f'{log_path}')
    return time.time() - t0


def train_and_test(family, spec, seed, args):
    """One run: train (+ test), robustness; returns its numbers."""
    variant, base, options = parse_variant(spec)
    config = config_of(family, base)
    wd = osp.abspath(osp.join(args.work_dir, family, variant, f'seed{seed}'))
    os.makedirs(wd, exist_ok=True)
    root = args.roots[family]
    if not osp.isfile(osp.join(wd, 'test_metrics.json')):
        # --overwrite: a run killed before its test is trained afresh
        secs = run([sys.executable, 'tools/train.py', config, '--work-dir',
                    wd, '--overwrite', '--cfg-options', f'randomness.seed={seed}',
                    f'data_root={root}', *options],
                   osp.join(wd, 'train.log'), args.threads)
        print(f'  trained {family}/{variant}/seed{seed} in {secs:.0f} s',
              flush=True)
    from normtr_plugin.engine import read_metrics
    metrics, checkpoint = read_metrics(osp.join(wd, 'test_metrics.json'))
    tested = dict(metrics=metrics, checkpoint=checkpoint)
    entry = dict(config=config, cfg_options=options, seed=seed,
                 checkpoint=tested['checkpoint'],
                 test=tested['metrics'], val=best_val(wd, tested),
                 auilc={})
    probe_path = osp.join(wd, 'probe.json')
    if not osp.isfile(probe_path):
        with open(probe_path, 'w') as f:
            json.dump(linear_probe(config, tested['checkpoint'], root,
                                   options), f)
    with open(probe_path) as f:
        entry['val'].update(json.load(f))
    if args.no_robustness:
        return entry
    for masker in MASKERS:
        out = osp.join(wd, f'robustness_{masker}')
        if not osp.isfile(osp.join(out, 'robustness.json')):
            run([sys.executable, 'tools/robustness.py', config,
                 tested['checkpoint'], '--masker', masker, '--seeds', '3',
                 '--out', out, '--no-plots', '--device', 'cpu',
                 '--names', variant, '--cfg-options', f'data_root={root}',
                 *options],
                osp.join(wd, f'robustness_{masker}.log'), args.threads)
        with open(osp.join(out, 'robustness.json')) as f:
            table = json.load(f)['models'][variant]['summary']['auilc']
        for metric in TASK_METRICS[family]:
            entry['auilc'][f'{masker}/{metric}'] = table[metric]['mean']
    return entry


def best_val(wd, tested):
    """The validation ``invariance/*`` metrics of the selected epoch (the
    checkpoint's epoch; the last validation when it has no epoch); empty
    when validation computed none."""
    scalars = sorted(glob.glob(osp.join(wd, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    val = [r for r in rows if any(k.startswith('invariance/') for k in r)]
    if not val:  # no InvarianceMetric in the val evaluator
        return {}
    name = osp.basename(tested['checkpoint'] or '')
    epoch = int(name.rsplit('_', 1)[-1].split('.')[0]) \
        if 'epoch_' in name else val[-1]['step']
    row = [r for r in val if r['step'] == epoch][-1]
    return {k.split('/', 1)[1]: v for k, v in row.items()
            if k.startswith('invariance/')}


def linear_probe(config, checkpoint, root, options=()):
    """Validation accuracy (%) of logistic regressions that tell the
    modality of an NRGF / MF from its mean over time, fit on the training
    split (features standardised with the training statistics)."""
    import torch
    from mmengine.config import Config
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from normtr_plugin.engine import (CfgOptions, merge_cfg_options,
                                      prepare_config)
    from normtr_plugin.visualization import collect_features
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    from visualize import build_dataloader, build_model  # the figures' own

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='*', action=CfgOptions, default={})
    cfg = merge_cfg_options(Config.fromfile(osp.join(ROOT, config)), dict(
        parser.parse_args(['--o', *options]).o, data_root=root))
    prepare_config(cfg)
    model = build_model(cfg, checkpoint)
    feats = {}
    for split in ('train', 'validation'):
        loader = build_dataloader(cfg, split)  # deterministic test pipeline
        nrgf, mf, _, _ = collect_features(model, loader, len(loader.dataset))
        feats[split] = dict(nrgf=nrgf.mean(2), mf=mf.mean(2))  # (n, M, D)
    out = {}
    for kind in ('nrgf', 'mf'):
        xs, ys = [], []
        for split in ('train', 'validation'):
            x = feats[split][kind]
            n, M = x.shape[:2]
            xs.append(x.reshape(n * M, -1).numpy())
            ys.append(np.tile(np.arange(M), n))
        scaler = StandardScaler().fit(xs[0])
        clf = LogisticRegression(max_iter=5000).fit(
            scaler.transform(xs[0]), ys[0])
        out[f'probe_{kind}_acc'] = 100.0 * float(
            clf.score(scaler.transform(xs[1]), ys[1]))
    return out


def columns(family):
    cols = [f'val/{k}' for k in INVARIANCE + PROBES]
    cols += [f'test/{m}' for m in TASK_METRICS[family]]
    cols += [f'auilc/{mk}/{m}' for mk in MASKERS
             for m in TASK_METRICS[family]]
    return cols


def value(entry, col):
    part, key = col.split('/', 1)
    source = dict(val=entry['val'], test=entry['test'],
                  auilc=entry['auilc'])[part]
    v = source.get(key)
    return float('nan') if v is None else float(v)


def summarise(runs, family):
    """mean and sample std (ddof=1) over seeds of every column."""
    out = {}
    for col in columns(family):
        vals = np.array([value(r, col) for r in runs], dtype=np.float64)
        ok = vals[np.isfinite(vals)]
        out[col] = dict(
            mean=float(ok.mean()) if ok.size else float('nan'),
            std=float(ok.std(ddof=1)) if ok.size > 1 else float('nan'),
            values=[None if not math.isfinite(v) else v for v in vals])
    return out


def acceptance(summary, reference, family):
    """The issue's criteria for one variant against ``reference``."""
    s, ref = summary, reference
    key = KEY_METRIC[family]
    mean, ref_mean = s[f'test/{key}']['mean'], ref[f'test/{key}']['mean']
    ref_std = ref[f'test/{key}']['std']
    worse = mean - ref_mean if key in LOWER_BETTER else ref_mean - mean
    checks = dict(
        d1_nrgf_near_chance=abs(s['val/d1_nrgf_acc']['mean'] -
                                s['val/d1_chance']['mean']) <= 10.0,
        d1_mf_high=s['val/d1_mf_acc']['mean'] >= 90.0,
        cosine_up=s['val/cos_within_nrgf']['mean'] >=
        ref['val/cos_within_nrgf']['mean'] + COSINE_MARGIN,
        clean_kept=worse <= ref_std if math.isfinite(ref_std) else None)
    checks['all'] = all(checks.values())
    return checks


def fmt(stat, scale=1.0, digits=1):
    if not math.isfinite(stat['mean']):
        return 'n/a'
    text = f"{stat['mean'] * scale:.{digits}f}"
    if math.isfinite(stat['std']):
        text += f" ± {stat['std'] * scale:.{digits}f}"
    return text


def markdown(results, args):
    lines = []
    for family, variants in results['summary'].items():
        tm = TASK_METRICS[family]
        head = ['variant', 'D1-NRGF % (val)', 'D1-MF % (val)',
                'probe NRGF / MF % (val)',
                'D2 % / majority (val)', 'cos within NRGF (val)',
                'cos NRGF-MF (val)'] + [f'{m} (test)' for m in tm] + \
            [f'AUILC {m} {mk}' for mk in MASKERS for m in tm] + \
            ['criteria (chance, MF, cos, clean)']
        chance = next(iter(variants.values()))['val/d1_chance']['mean']
        lines += [f'### {family} (D1 chance {chance:.1f} %; mean ± std '
                  f'over training seeds {args.seeds})', '',
                  '| ' + ' | '.join(head) + ' |',
                  '|---|' + '---:|' * (len(head) - 1)]
        for variant, s in variants.items():
            d2 = fmt(s['val/d2_acc'])
            if d2 != 'n/a':
                d2 += f" / {s['val/d2_majority']['mean']:.1f}"
            digits = 3
            row = [variant, fmt(s['val/d1_nrgf_acc']),
                   fmt(s['val/d1_mf_acc']),
                   f"{fmt(s['val/probe_nrgf_acc'])} / "
                   f"{s['val/probe_mf_acc']['mean']:.1f}", d2,
                   fmt(s['val/cos_within_nrgf'], digits=2),
                   fmt(s['val/cos_nrgf_mf'], digits=2)]
            row += [fmt(s[f'test/{m}'], digits=digits if m != 'Acc-2_mean'
                        else 1) for m in tm]
            row += [fmt(s[f'auilc/{mk}/{m}'], digits=digits
                        if m != 'Acc-2_mean' else 1)
                    for mk in MASKERS for m in tm]
            checks = results['acceptance'][family][variant]
            row.append(' '.join({True: '✓', False: '✗', None: '?'}[
                checks.get(k)] for k in (  # '?': no reference variant
                'd1_nrgf_near_chance', 'd1_mf_high', 'cosine_up',
                'clean_kept')))
            lines.append('| ' + ' | '.join(row) + ' |')
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    results = dict(command=' '.join([osp.basename(sys.executable)] +
                                    sys.argv),
                   seeds=args.seeds, reference=args.reference, runs={},
                   summary={}, acceptance={})
    for family in args.roots:
        results['runs'][family] = {}
        for spec in args.variants:
            runs = []
            for seed in args.seeds:
                runs.append(train_and_test(family, spec, seed, args))
            results['runs'][family][parse_variant(spec)[0]] = runs
        results['summary'][family] = {
            v: summarise(r, family)
            for v, r in results['runs'][family].items()}
        ref = results['summary'][family].get(args.reference)
        results['acceptance'][family] = {
            v: acceptance(s, ref, family) if ref else {}
            for v, s in results['summary'][family].items()}
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'sweep.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(args.out, 'sweep.md'), 'w') as f:
        f.write(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    run_tool(main)
