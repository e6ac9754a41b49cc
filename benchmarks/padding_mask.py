"""Padding masked in the model or not (issue 19): the measurement.

    python benchmarks/padding_mask.py --mmmo /tmp/data/mmmo \\
        --demo /tmp/data/demo_var --seeds 0 1 2 --work-dir /tmp/padding \\
        --out docs/padding_mask [--robustness]

For each data set given, each ``model.mask_padding`` (True, False) and
each training seed: ``tools/train.py`` (``configs/normtr_mmmo.py`` on the
converted MMMO features, ``configs/normtr_demo.py`` on a synthetic task
with variable lengths, made with ``--make-demo`` when the folder is
missing: ``make_synthetic_iemocap(..., min_len=2)``), its test metrics and,
with ``--robustness``, the AUILC of ``tools/robustness.py`` with the random
and the window masker (11 ratios, 3 masking seeds) on the selected
checkpoint. Finished runs are skipped, so an interrupted measurement
resumes (the work folder does not record ``--cfg-options``: use a new one
when they change). Writes ``<out>.json`` (every run, mean and std over seeds) and
``<out>.md`` (the table). Each child runs with ``OMP_NUM_THREADS=1``.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from normtr_plugin.utils import (NormTRError, add_debug_argument,  # noqa
                                 run_tool)
from normtr_plugin.utils.atomic import write_json, write_text  # noqa: E402

CONFIGS = dict(mmmo='configs/normtr_mmmo.py', demo='configs/normtr_demo.py')
METRICS = dict(mmmo=('MAE', 'Corr'), demo=('Acc-2_mean', 'F1_mean'))
MASKERS = ('random', 'window')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mmmo', help='converted MMMO folder')
    parser.add_argument('--demo', help='synthetic task with variable '
                        'lengths (made here with --make-demo if missing)')
    parser.add_argument('--make-demo', action='store_true')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True,
                        help='output path without extension')
    parser.add_argument('--robustness', action='store_true',
                        help='also AUILC (random and window maskers)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='added to every run (e.g. a shorter schedule)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def run(cmd, log):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    with open(log, 'w') as f:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=f,
                               stderr=subprocess.STDOUT)
    if code:
        raise NormTRError(f'{" ".join(cmd)} failed ({code}); see {log}')


def one_run(family, root, mask, seed, args):
    """Train (+ test) once, then AUILC on request; returns the numbers."""
    from normtr_plugin.engine import read_metrics
    wd = osp.join(args.work_dir, family, f'mask{int(mask)}', f'seed{seed}')
    options = [f'data_root={root}', f'randomness.seed={seed}',
               f'model.mask_padding={mask}', *args.cfg_options]
    config = CONFIGS[family]
    if not osp.isfile(osp.join(wd, 'test_metrics.json')):
        os.makedirs(wd, exist_ok=True)
        run([sys.executable, 'tools/train.py', config, '--work-dir', wd,
             '--cfg-options', *options], osp.join(wd, 'run.log'))
    metrics, checkpoint = read_metrics(osp.join(wd, 'test_metrics.json'))
    entry = {m: metrics[m] for m in METRICS[family]}
    for masker in MASKERS if args.robustness else ():
        out = osp.join(wd, f'robustness_{masker}')
        if not osp.isfile(osp.join(out, 'robustness.json')):
            run([sys.executable, 'tools/robustness.py', config, checkpoint,
                 '--masker', masker, '--seeds', '3', '--out', out,
                 '--no-plots', '--device', 'cpu', '--names', 'model',
                 '--cfg-options', *options],
                osp.join(wd, f'robustness_{masker}.log'))
        with open(osp.join(out, 'robustness.json')) as f:
            auilc = json.load(f)['models']['model']['summary']['auilc']
        for m in METRICS[family]:
            entry[f'AUILC {masker} {m}'] = auilc[m]['mean']
    return entry


def summarise(runs):
    """Mean and sample std (ddof=1; 0 for one seed) per number."""
    ddof = 1 if len(runs) > 1 else 0
    return {k: dict(mean=float(np.mean([r[k] for r in runs])),
                    std=float(np.std([r[k] for r in runs], ddof=ddof)))
            for k in runs[0]}


def table(results, seeds):
    lines = []
    for family, by_mask in results.items():
        keys = list(next(iter(by_mask.values()))['summary'])
        lines += [f'### {family} (mean ± std, ddof=1, over seeds '
                  f'{", ".join(map(str, seeds))})', '',
                  '| mask_padding | ' + ' | '.join(keys) + ' |',
                  '|---' * (len(keys) + 1) + '|']
        for mask, entry in by_mask.items():
            s = entry['summary']
            lines.append(f'| {mask} | ' + ' | '.join(
                f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}" for k in keys)
                + ' |')
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    roots = {k: getattr(args, k) for k in CONFIGS if getattr(args, k)}
    if not roots:
        raise NormTRError('give --mmmo and/or --demo')
    if 'demo' in roots and not osp.isdir(roots['demo']):
        if not args.make_demo:
            raise NormTRError(f'no data set at {roots["demo"]}; pass '
                              '--make-demo to generate it')
        from normtr_plugin.datasets.synthetic import make_synthetic_iemocap
        make_synthetic_iemocap(roots['demo'], seed=0, min_len=2)
    results = {}
    for family, root in roots.items():
        results[family] = {}
        for mask in (True, False):
            runs = [one_run(family, root, mask, s, args) for s in args.seeds]
            results[family][str(mask)] = dict(
                runs=dict(zip(map(str, args.seeds), runs)),
                summary=summarise(runs))
            print(family, f'mask_padding={mask}',
                  {k: round(v['mean'], 3) for k, v in
                   results[family][str(mask)]['summary'].items()},
                  flush=True)
    write_json(args.out + '.json', results, indent=1)
    text = table(results, args.seeds)
    write_text(args.out + '.md', text)
    print(text)


if __name__ == '__main__':
    run_tool(main)
