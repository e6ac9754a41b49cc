"""Issue 19's honest comparison on MMMO: every variant tuned with the same
budget, then trained with 3 seeds and tested once each.

    python tools/analysis_tools/real_data_comparison.py [--trials 30]
        [--cv 5] [--robustness] [--mmmo-h5 DIR] [--work-dir DIR]
        [--variants NAME ...]
    python tools/analysis_tools/real_data_comparison.py --render-only

For each variant (NORM-TR, w/o noise-aware, noise only, the standard
Transformer): ``tools/tune.py CONFIG --space SPACE --trials N --cv K``
(TPE, sampler seed 0; a study already in the work folder is resumed),
then ``tools/train.py WORK/tune/<variant>/best_config.py`` for seeds 0-2,
its test MAE/Corr and, with ``--robustness``, the AUILC of
``tools/robustness.py`` (random and window masker, 3 masking seeds) on the
selected checkpoint. Records everything (commands, best parameters, the
CV score, wall times) as the ``comparison`` entry of ``docs/numbers.json``
and renders the tables of ``docs/real_data.md`` and README from it
(``readme_numbers.py`` owns the rendering).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import readme_numbers as rn  # noqa: E402  (the README numbers' one runner)

# variant -> (config, search space); same budget for each
VARIANTS = {
    'NORM-TR': ('configs/normtr_mmmo.py', 'tools/tune_spaces/normtr_space.py'),
    'w/o noise-aware': ('configs/ablations/mmmo/wo_noise_aware.py',
                        'tools/tune_spaces/transformer_space.py'),
    'noise only': ('configs/ablations/mmmo/noise_only.py',
                   'tools/tune_spaces/normtr_space.py'),
    'standard Transformer': ('configs/ablations/mmmo/standard_transformer.py',
                             'tools/tune_spaces/transformer_space.py'),
}
MASKERS = ('random', 'window')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--trials', type=int, default=30)
    parser.add_argument('--cv', type=int, default=5)
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument('--robustness', action='store_true',
                        help='also AUILC (random and window maskers)')
    parser.add_argument('--mmmo-h5', default=rn.default_mmmo_h5())
    parser.add_argument('--work-dir', default=osp.join(
        rn.ROOT, 'work_dirs', 'real_data_comparison'))
    parser.add_argument('--render-only', action='store_true',
                        help='re-render docs/real_data.md and README')
    return parser.parse_args(argv)


def tune(name, config, space, data, args):
    """``tools/tune.py`` once (resumed if its study exists); returns the
    recorded command, wall time, best parameters and CV score."""
    work = osp.join(args.work_dir, 'tune', rn.slug(name))
    os.makedirs(work, exist_ok=True)
    cmd = ['tools/tune.py', config, '--space', space, '--trials',
           str(args.trials), '--cv', str(args.cv), '--seed', '0',
           '--work-dir', work, '--cfg-options', f'data_root={data}']
    secs = rn.run([sys.executable, *cmd], osp.join(work, 'tune.log'))
    with open(osp.join(work, 'trials.json')) as f:
        trials = json.load(f)
    done = {k: v for k, v in trials.items() if v['state'] == 'complete'}
    best = min(done, key=lambda k: done[k]['MAE'])  # MMMO: MAE, minimised
    return dict(command=rn.recorded(cmd, args.work_dir),
                seconds=round(secs, 1), trials=len(trials),
                pruned=sum(v['state'] == 'pruned' for v in trials.values()),
                best=dict(trial=best, **done[best]),
                best_config=osp.join(work, 'best_config.py'))


def auilc(config, checkpoint, work, options):
    """AUILC of ``checkpoint`` for each masker (``tools/robustness.py``)."""
    out = {}
    for masker in MASKERS:
        folder = osp.join(work, f'robustness_{masker}')
        rn.run([sys.executable, 'tools/robustness.py', config, checkpoint,
                '--masker', masker, '--seeds', '3', '--out', folder,
                '--no-plots', '--device', 'cpu', '--names', 'model',
                '--overwrite', *(['--cfg-options', *options] if options
                                 else [])],
               osp.join(work, f'robustness_{masker}.log'))
        with open(osp.join(folder, 'robustness.json')) as f:
            summary = json.load(f)['models']['model']['summary']['auilc']
        out[masker] = {k: v['mean'] for k, v in summary.items()}
    return out


def measure(args) -> dict:
    data = rn.mmmo_data(args)
    results = {}
    for name in args.variants:
        config, space = VARIANTS[name]
        print(f'tuning {name} ...', flush=True)
        tuned = tune(name, config, space, data, args)
        runs = []
        for seed in rn.SEEDS:
            work = osp.join(args.work_dir, 'train', rn.slug(name),
                            f'seed{seed}')
            one = rn.train(tuned['best_config'], work,
                           [f'randomness.seed={seed}'], args.work_dir)
            if args.robustness:
                from normtr_plugin.engine import read_metrics
                _, ckpt = read_metrics(osp.join(work, 'test_metrics.json'))
                one['auilc'] = auilc(tuned['best_config'], ckpt, work,
                                     [f'randomness.seed={seed}'])
            runs.append(one)
        tuned['best_config'] = rn.recorded([tuned['best_config']],
                                           args.work_dir)[len('python '):]
        results[name] = dict(tune=tuned, runs=runs)
        print(name, rn.render_comparison({name: results[name]}), flush=True)
    return dict(trials=args.trials, cv=args.cv, variants=results)


def main(argv=None):
    args = parse_args(argv)
    with open(rn.NUMBERS) as f:
        numbers = json.load(f)
    if not args.render_only:
        numbers['comparison'] = dict(
            date=time.strftime('%Y-%m-%d', time.gmtime()),
            runs=measure(args))
        rn.write_json(rn.NUMBERS, numbers, indent=1)
    for path in rn.RENDERED:
        rn.render_file(path, numbers)


if __name__ == '__main__':
    from normtr_plugin.utils.errors import run_tool
    run_tool(main)
