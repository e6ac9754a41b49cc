"""Robustness under test-time masking: metric curves and AUILC (SPEC 5).

    python tools/robustness.py CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]
        [--masker random|window] [--ratios 0:1:0.1] [--seeds 3]
        [--out work_dirs/robustness] [--names NAME ...]
        [--metrics M ...] [--key-metric M] [--batch-size B] [--device D]
        [--no-plots] [--cfg-options k=v ...]

For each model the test split is read once through the config's test
pipeline, masked per seed and ratio with tensor ops, and scored with the
config's ``test_evaluator``. Writes ``robustness.json``, ``robustness.md``
and ``robustness_<metric>.png`` to ``--out``; a metric that is NaN/Inf is an
error (exit status 1, nothing written). See
``normtr_plugin/evaluation/robustness.py``.
"""
import argparse
import os
import os.path as osp
import shlex
import sys

from mmengine.config import DictAction

from normtr_plugin.evaluation.robustness import (MASKERS, evaluate_config,
                                                 parse_ratios, parse_seeds,
                                                 stderr_log, write_report)
from normtr_plugin.utils import non_finite_paths


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='NORM-TR robustness: metrics under test-time masking '
        'and AUILC (paper Eq. 10)')
    parser.add_argument('models', nargs='+', metavar='CONFIG CHECKPOINT',
                        help='one or more config/checkpoint pairs')
    parser.add_argument('--masker', default='random', choices=MASKERS)
    parser.add_argument('--ratios', default='0:1:0.1',
                        help="'start:stop:step' (stop included) or a comma "
                        'list (default 0:1:0.1, 11 ratios)')
    parser.add_argument('--seeds', default='3',
                        help='number of seeds (0..N-1) or a comma list')
    parser.add_argument('--out', default=osp.join('work_dirs', 'robustness'),
                        help='output folder')
    parser.add_argument('--names', nargs='+',
                        help='one name per model (default: config basename)')
    parser.add_argument('--metrics', nargs='+',
                        help='metrics for the table and plots (default all)')
    parser.add_argument('--key-metric',
                        help='metric of the per-ratio table (default: the '
                        "config's save_best metric)")
    parser.add_argument('--batch-size', type=int,
                        help="forward batch (default: the config's test "
                        'batch size)')
    parser.add_argument('--device', help='cpu, cuda, ... (default: cuda if '
                        'available)')
    parser.add_argument('--no-plots', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, e.g. '
                        'data_root=DIR')
    args = parser.parse_args(argv)
    if len(args.models) % 2:
        parser.error('give CONFIG CHECKPOINT pairs; got an odd number of '
                     f'paths: {args.models}')
    pairs = list(zip(args.models[::2], args.models[1::2]))
    for config, checkpoint in pairs:
        for what, path in (('config', config), ('checkpoint', checkpoint)):
            if not osp.isfile(path):
                parser.error(f'{what} {path!r} not found')
    if args.names is not None and len(args.names) != len(pairs):
        parser.error(f'--names needs one name per model: {len(pairs)} '
                     f'models, {len(args.names)} names')
    if args.names is not None and len(set(args.names)) != len(args.names):
        parser.error(f'--names must be distinct, got {args.names}')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    try:
        args.ratios = parse_ratios(args.ratios)
        args.seeds = parse_seeds(args.seeds)
    except ValueError as err:
        parser.error(str(err))
    args.pairs = pairs
    return args


def default_names(configs):
    """Config basenames; repeated ones get ' (2)', ' (3)', ..."""
    bases = [osp.splitext(osp.basename(c))[0] for c in configs]
    names, seen = [], {}
    for base in bases:
        seen[base] = seen.get(base, 0) + 1
        names.append(base if bases.count(base) == 1 or seen[base] == 1
                     else f'{base} ({seen[base]})')
    return names


def main(argv=None):
    args = parse_args(argv)
    names = args.names or default_names([c for c, _ in args.pairs])
    results = dict(
        command=' '.join(shlex.quote(a) for a in
                         [osp.basename(sys.executable)] + sys.argv),
        masker=args.masker, ratios=args.ratios, seeds=args.seeds,
        cfg_options=dict(args.cfg_options or {}), models={})
    test_sets = {}
    for name, (config, checkpoint) in zip(names, args.pairs):
        stderr_log(f'[{name}] {config} + {checkpoint}: {args.masker} '
                   f'masking, {len(args.ratios)} ratios x '
                   f'{len(args.seeds)} seeds')
        results['models'][name] = evaluate_config(
            config, checkpoint, args.ratios, args.seeds, args.masker,
            cfg_options=args.cfg_options, batch_size=args.batch_size,
            device=args.device, test_sets=test_sets, log=stderr_log)
    bad = non_finite_paths(results['models'], 'models')
    if bad:  # never reported as a result
        sys.exit(f'robustness.py: error: {len(bad)} metric value(s) are not '
                 f'finite, e.g. {", ".join(bad[:5])}; nothing was written')
    paths = write_report(results, args.out, metrics=args.metrics,
                         key_metric=args.key_metric,
                         plot=not args.no_plots)
    for name, entry in results['models'].items():
        auilc = ', '.join(f"{m} {a['mean']:.3f}±{a['std']:.3f}"
                          for m, a in entry['auilc'].items())
        print(f'{name}: AUILC {auilc}')
    print(f"wrote {paths['json']}, {paths['markdown']} and "
          f"{sum(k.startswith('png:') for k in paths)} plot(s) to "
          f'{os.path.abspath(args.out)}')


if __name__ == '__main__':
    main()
