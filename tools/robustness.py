"""Robustness under test-time masking: metric curves and AUILC (SPEC 5).

    python tools/robustness.py CONFIG CKPT[,CKPT...] [CONFIG CKPT ...]
        [--names NAME ...] [--masker random|window] [--ratios 0:1:0.1]
        [--seeds 3] [--out work_dirs/robustness] [--metrics M ...]
        [--key-metric M] [--batch-size B] [--device D] [--amp]
        [--no-reference] [--no-plots] [--work-dir DIR]
        [--launcher none|pytorch] [--cfg-options k=v ...]

One model per CONFIG; its checkpoints (comma-separated: one per training
seed) are each tested by mmengine's Runner with
``test_cfg=dict(type='RobustnessTestLoop', ...)`` (the config's test
dataloader, evaluator, hooks and sampler; one pass per masking seed and
ratio). The report gives, per model, the mean over checkpoints with the
training spread (std over checkpoints) apart from the masking spread (std
over masking seeds), AUILC over the full grid and over r < 1, and a
constant-predictor reference. Writes ``robustness.json``,
``robustness.md`` and ``robustness_<metric>.png`` to ``--out`` (the
Runners' logs go to ``--work-dir``, by default a temporary folder removed at
the end); a metric that is NaN/Inf is an error (exit status 1, nothing
written).
"""
import argparse
import os
import os.path as osp
import re
import shlex
import sys
import tempfile
import time

from mmengine.config import Config
from mmengine.dist import is_main_process

from normtr_plugin.engine import (CfgOptions, build_runner, merge_cfg_options,
                                  register_checkpoint_loader)
from normtr_plugin.evaluation import (parse_ratios, parse_seeds,
                                      summarise_checkpoints)
from normtr_plugin.evaluation.robustness_summary import reference_areas
from normtr_plugin.datasets.transforms.test_time_masking import MASKERS
from normtr_plugin.utils import (NonFiniteError, add_debug_argument,
                                 non_finite_paths, run_tool)
from normtr_plugin.visualization import write_report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='NORM-TR robustness: metrics under test-time masking '
        'and AUILC (paper Eq. 10)')
    parser.add_argument('models', nargs='+', metavar='CONFIG CKPT[,CKPT]',
                        help='config / checkpoint(s) pairs; several '
                        'checkpoints of one model (training seeds) are '
                        'comma-separated')
    parser.add_argument('--names', nargs='+',
                        help='one name per model (default: config basename)')
    parser.add_argument('--masker', default='random', choices=MASKERS)
    parser.add_argument('--ratios', default='0:1:0.1',
                        help="'start:stop:step' (stop included) or a comma "
                        'list (default 0:1:0.1, 11 ratios)')
    parser.add_argument('--seeds', default='3',
                        help='masking seeds: a count (0..N-1) or a comma list')
    parser.add_argument('--out', default=osp.join('work_dirs', 'robustness'),
                        help='output folder')
    parser.add_argument('--metrics', nargs='+',
                        help='metrics for the tables and plots (default all)')
    parser.add_argument('--key-metric',
                        help='metric of the per-ratio table (default: the '
                        "config's save_best metric)")
    parser.add_argument('--batch-size', type=int,
                        help="test batch size (default: the config's)")
    parser.add_argument('--device', help='cpu, cuda, ... (default: the '
                        "Runner's choice, cuda if available)")
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision in the test loop (fp16)')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the constant-predictor reference')
    parser.add_argument('--no-plots', action='store_true')
    parser.add_argument('--work-dir', help='keep the Runners\' logs here '
                        '(default: a temporary folder, removed at the end)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions,
                        help='override settings of every config, e.g. '
                        'data_root=DIR')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if len(args.models) % 2:
        parser.error('give CONFIG CKPT[,CKPT...] pairs; got an odd number '
                     f'of paths: {args.models}')
    pairs = [(c, [p for p in k.split(',') if p])
             for c, k in zip(args.models[::2], args.models[1::2])]
    for config, checkpoints in pairs:
        if not checkpoints:
            parser.error(f'no checkpoint given for {config!r}')
        paths = [('config', config)] + [('checkpoint', p)
                                        for p in checkpoints]
        for what, path in paths:
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


def key_metric(cfg, names):
    """The checkpoint hook's ``save_best`` when it is one of ``names``."""
    best = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    best = best.get('save_best') if hasattr(best, 'get') else None
    if isinstance(best, (list, tuple)):
        best = best[0] if best else None
    return best if isinstance(best, str) and best in names else names[0]


def robustness_config(args, config, checkpoint, work_dir, reference):
    """The config switch: the config's test set-up with the robustness
    loop as its test loop and ``checkpoint`` as its weights."""
    cfg = merge_cfg_options(Config.fromfile(config), args.cfg_options)
    cfg.work_dir, cfg.launcher = work_dir, args.launcher
    cfg.test_cfg = dict(type='RobustnessTestLoop', ratios=args.ratios,
                        seeds=args.seeds, masker=args.masker, fp16=args.amp,
                        constant_reference=reference)
    cfg.load_from, cfg.resume = checkpoint, False
    if args.batch_size:
        cfg.test_dataloader.batch_size = args.batch_size
    safe = re.sub(r'[^A-Za-z0-9_.-]+', '_', osp.basename(work_dir))
    cfg.experiment_name = f'robustness_{safe}_{time.time_ns()}'
    return cfg


def run_checkpoint(args, config, checkpoint, work_dir, reference):
    """``Runner.test()`` with the robustness loop; returns its results."""
    cfg = robustness_config(args, config, checkpoint, work_dir, reference)
    runner = build_runner(cfg)
    if args.device:
        runner.model.to(args.device)
    runner.test()
    return runner.cfg, runner.test_loop.results


def evaluate_model(args, name, config, checkpoints):
    """All checkpoints of one model, summarised (both spreads)."""
    runs, cfg, reference = [], None, None
    for i, checkpoint in enumerate(checkpoints):
        print(f'[{name}] {checkpoint}: {args.masker} masking, '
              f'{len(args.ratios)} ratios x {len(args.seeds)} seeds',
              file=sys.stderr, flush=True)
        work_dir = osp.join(args.work_dir,
                            re.sub(r'[^A-Za-z0-9_.-]+', '_', name), str(i))
        cfg, results = run_checkpoint(args, config, checkpoint, work_dir,
                                      reference=i == 0 and
                                      not args.no_reference)
        reference = results.pop('reference', reference)
        runs.append(dict(checkpoint=checkpoint, **results))
    names = runs[0]['metrics']
    entry = dict(config=config, key_metric=key_metric(cfg, names),
                 num_samples=runs[0]['num_samples'], metrics=names,
                 checkpoints=runs, summary=summarise_checkpoints(runs),
                 reference=reference)
    if reference is not None:
        entry['reference_auilc'] = reference_areas(reference, args.ratios)
    return entry


def main(argv=None):
    args = parse_args(argv)
    register_checkpoint_loader()  # weights-only loading of the checkpoints
    names = args.names or default_names([c for c, _ in args.pairs])
    results = dict(
        command=' '.join(shlex.quote(a) for a in
                         [osp.basename(sys.executable)] + sys.argv),
        masker=args.masker, ratios=args.ratios, seeds=args.seeds,
        cfg_options=dict(args.cfg_options or {}), models={})
    try:
        with tempfile.TemporaryDirectory(prefix='robustness-runs-') as tmp:
            args.work_dir = args.work_dir or tmp
            for name, (config, checkpoints) in zip(names, args.pairs):
                results['models'][name] = evaluate_model(args, name, config,
                                                         checkpoints)
    except NonFiniteError as err:  # the same error, saying what it means
        raise NonFiniteError(f'{err}; nothing was written') from err
    bad = non_finite_paths({n: dict(e, reference=None, reference_auilc=None)
                            for n, e in results['models'].items()}, 'models')
    if bad:  # never reported as a result
        raise NonFiniteError(f'{len(bad)} metric value(s) are not finite, '
                             f'e.g. {", ".join(bad[:5])}; nothing was '
                             'written')
    if not is_main_process():
        return
    paths = write_report(results, args.out, metrics=args.metrics,
                         key_metric=args.key_metric, plot=not args.no_plots)
    for name, entry in results['models'].items():
        summary = entry['summary']
        cells = []
        for m, a in summary['auilc'].items():
            spread = ('' if a['train_std'] is None else
                      f" ±{a['train_std']:.3f} (training)")
            cells.append(f"{m} {a['mean']:.3f}{spread} "
                         f"±{a['mask_std']:.3f} (masking)")
        print(f"{name} ({summary['num_checkpoints']} checkpoint(s)): "
              f"AUILC {'; '.join(cells)}")
    print(f"wrote {paths['json']}, {paths['markdown']} and "
          f"{sum(k.startswith('png:') for k in paths)} plot(s) to "
          f'{os.path.abspath(args.out)}')


if __name__ == '__main__':
    run_tool(main)
