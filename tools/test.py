"""Evaluate a checkpoint on a config's test split.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out metrics.json] [--dump preds.json|.jsonl|.parquet]
        [--overwrite] [--cfg-options KEY=VALUE ...] [--launcher ...]

The shape of mmpretrain's ``tools/test.py``. ``--dump`` writes one row per
test sample (``normtr_plugin/evaluation/dump_predictions.py``); ``--out``
writes the metrics in the one metrics-file layout (flat
``{metric: value}`` plus ``checkpoint``, relative to the file). The
metrics are printed as a table. A checkpoint that does not fit the model
and a NaN/Inf metric are one-line errors (exit status 1). ``--out`` and
``--dump`` are checked before the test runs: a folder, an unwritable
place or an existing file (without ``--overwrite``) is refused at once.
"""
import argparse
import os.path as osp

from mmengine.config import Config

from normtr_plugin.engine import (ConfigError, merge_runner_args,
                                  parse_runner_args, read_tool_config,
                                  report_test_metrics, start_runner)
from normtr_plugin.evaluation.dump_predictions import check_dump_path
from normtr_plugin.utils.errors import InputError, run_tool
from normtr_plugin.utils.output_path import check_output_file


def parse_args():
    parser = argparse.ArgumentParser(description='Test NORM-TR')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go')
    parser.add_argument('--out', help='write the test metrics as JSON')
    parser.add_argument('--dump', metavar='FILE',
                        help='write per-sample predictions with ids, one '
                        'row per test sample (.json, .jsonl or .parquet)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing --out / --dump files')
    return parse_runner_args(parser)


def check_outputs(args) -> None:
    """Refuse --out/--dump paths that cannot be written, before the test.
    """
    if args.dump:
        check_dump_path(args.dump)
    for option in ('out', 'dump'):
        path = getattr(args, option)
        if path:
            check_output_file(path, args.overwrite, f'--{option}')
    if args.out and args.dump and \
            osp.abspath(args.out) == osp.abspath(args.dump):
        raise InputError(f'--out and --dump name the same file '
                         f'{args.out!r}')


def merge_args(cfg: Config, args) -> Config:
    """The command line into the config (mmpretrain's ``merge_args``)."""
    merge_runner_args(cfg, args)
    cfg.load_from = args.checkpoint
    if args.dump:
        try:
            check_dump_path(args.dump)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        cfg.test_evaluator = list(_metrics(cfg.test_evaluator)) + [
            dict(type='DumpPredictions', out_file=args.dump)]
    return cfg


def _metrics(evaluator):
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']  # an Evaluator config
    return evaluator if isinstance(evaluator, (list, tuple)) \
        else [evaluator]


def main():
    args = parse_args()
    check_outputs(args)
    cfg = read_tool_config(args.config, args.launcher,
                           checkpoint=args.checkpoint)
    runner = start_runner(merge_args(cfg, args))
    report_test_metrics(runner.test(), args.checkpoint, args.out)


if __name__ == '__main__':
    run_tool(main)
