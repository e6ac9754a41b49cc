"""Robustness under test-time masking: metric curves and AUILC (SPEC 5).

    python tools/robustness.py CONFIG CKPT[,CKPT...] [CONFIG CKPT ...]
        [--names NAME ...] [--masker random|window] [--ratios 0:1:0.1]
        [--seeds 3] [--out work_dirs/robustness] [--metrics M ...]
        [--key-metric M] [--batch-size B] [--device D] [--amp]
        [--no-reference] [--no-plots] [--overwrite] [--work-dir DIR]
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
the end; an ``--out`` already holding a report needs ``--overwrite``, checked
before the first test, and other files in it are never touched); a metric
that is NaN/Inf is an error (exit status 1, nothing
written). Task metrics only: the masked passes never run the invariance
diagnostics, so the configs' ``InvarianceMetric`` is left out of the
evaluator. Each config is printed once; one progress bar with ETA runs over all passes of all
checkpoints; the AUILCs end as a table.
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
from mmengine.hooks import Hook
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                           TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from normtr_plugin.engine import (add_cfg_options, build_runner, merge_cfg_options,
                                  register_checkpoint_loader)
from normtr_plugin.evaluation import (parse_ratios, parse_seeds,
                                      summarise_checkpoints)
from normtr_plugin.evaluation.metrics_table import print_metrics
from normtr_plugin.evaluation.robustness_summary import reference_areas
from normtr_plugin.datasets.transforms.test_time_masking import MASKERS
from normtr_plugin.structures.maskers import build_masker
from normtr_plugin.utils import (NonFiniteError, add_debug_argument,
                                 non_finite_paths, run_tool)
from normtr_plugin.visualization import write_report
from normtr_plugin.visualization.robustness_plot import arrow
from normtr_plugin.visualization.robustness_report import REPORT_FILES
from normtr_plugin.utils.output_path import check_output_folder


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
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the report files in an existing --out')
    parser.add_argument('--work-dir', help='keep the Runners\' logs here '
                        '(default: a temporary folder, removed at the end)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    add_cfg_options(parser, 'override settings of every config, e.g. '
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


class PassProgress(Hook):
    """Advances the tool's progress bar after each pass of the loop."""

    def __init__(self, progress: Progress, task):
        self.progress, self.task = progress, task

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.progress.advance(self.task)


def passes_per_checkpoint(args) -> int:
    """Passes the loop runs per checkpoint (ratios 0 and 1 are the same
    for every seed: run once)."""
    keys = set()
    for seed in args.seeds:
        for ratio in args.ratios:
            m = build_masker(args.masker, ratio, seed)
            keys.add(ratio if m.seed_independent else (seed, ratio))
    return len(keys)


def without_diagnostics(evaluator):
    """``evaluator`` without ``InvarianceMetric`` (task metrics only)."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        return dict(evaluator,
                    metrics=without_diagnostics(evaluator['metrics']))
    if isinstance(evaluator, (list, tuple)):
        return [e for e in evaluator
                if not (isinstance(e, dict)
                        and e.get('type') == 'InvarianceMetric')]
    return evaluator


def robustness_config(args, config, checkpoint, work_dir, reference):
    """The config switch: the config's test set-up with the robustness
    loop as its test loop and ``checkpoint`` as its weights."""
    cfg = merge_cfg_options(Config.fromfile(config), args.cfg_options)
    cfg.work_dir, cfg.launcher = work_dir, args.launcher
    # the loop never runs the diagnostics: the metric would only warn
    cfg.test_evaluator = without_diagnostics(cfg.test_evaluator)
    cfg.log_level = 'WARNING'  # one progress bar, not a line per pass
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
    if config not in args.shown:  # each config printed once
        args.shown.add(config)
        args.console.print(f'[bold]{config}[/bold]\n{cfg.pretty_text}',
                           markup=True, highlight=False)
    runner = build_runner(cfg)
    runner.register_hook(PassProgress(args.progress, args.task))
    if args.device:
        runner.model.to(args.device)
    runner.test()
    return runner.cfg, runner.test_loop.results


def evaluate_model(args, name, config, checkpoints):
    """All checkpoints of one model, summarised (both spreads)."""
    runs, cfg, reference = [], None, None
    for i, checkpoint in enumerate(checkpoints):
        args.progress.update(args.task, description=(
            f'{name} [{i + 1}/{len(checkpoints)}] '
            f'{osp.basename(checkpoint)}'))
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
    check_output_folder(args.out, REPORT_FILES, args.overwrite)
    register_checkpoint_loader()  # weights-only loading of the checkpoints
    names = args.names or default_names([c for c, _ in args.pairs])
    results = dict(
        command=' '.join(shlex.quote(a) for a in
                         [osp.basename(sys.executable)] + sys.argv),
        masker=args.masker, ratios=args.ratios, seeds=args.seeds,
        cfg_options=dict(args.cfg_options or {}), models={})
    args.console = Console(stderr=True, quiet=not is_main_process())
    args.shown = set()
    total = passes_per_checkpoint(args) * sum(len(c) for _, c in args.pairs)
    args.progress = Progress(
        TextColumn('{task.description}'), BarColumn(),
        MofNCompleteColumn(), TextColumn('passes'), TimeElapsedColumn(),
        TextColumn('ETA'), TimeRemainingColumn(), console=args.console,
        disable=not is_main_process())
    try:
        with tempfile.TemporaryDirectory(prefix='robustness-runs-') as tmp, \
                args.progress:
            args.task = args.progress.add_task(
                f'{args.masker} masking', total=total)
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
    rows = {}  # one row per metric, one column per model
    for name, entry in results['models'].items():
        summary = entry['summary']
        column = f"{name} (n={summary['num_checkpoints']})"
        for m, a in summary['auilc'].items():
            spread = ('' if a['train_std'] is None else
                      f" ± {a['train_std']:.3f}")
            rows.setdefault(f'{m} {arrow(m)}', {})[column] = (
                f"{a['mean']:.3f}{spread} [± {a['mask_std']:.3f}]")
    print_metrics(rows, 'AUILC: mean ± training spread [± masking spread]')
    print(f"wrote {paths['json']}, {paths['markdown']} and "
          f"{sum(k.startswith('png:') for k in paths)} plot(s) to "
          f'{os.path.abspath(args.out)}')


if __name__ == '__main__':
    run_tool(main)
