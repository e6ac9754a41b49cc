"""Evaluate a checkpoint on a config's test split.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out metrics.json] [--dump preds.jsonl|preds.parquet]
        [--cfg-options k=v ...] [--launcher ...]

``--dump`` writes one row per test sample: its id, label and prediction
(``normtr_plugin/evaluation/dump_predictions.py``). A missing or
unconverted ``data_root`` is reported before anything else.

A checkpoint that does not fit the config's model (other architecture or
sizes: missing, unexpected or misshapen keys) and a metric that is NaN/Inf
are errors (exit status 1), never reported as results.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from normtr_plugin.engine import (CheckpointMismatchError, DataRootError,
                                  check_data_root, launched_distributed,
                                  load_config, setup_distributed, write_json)
from normtr_plugin.evaluation.dump_predictions import check_dump_path
from normtr_plugin.utils import NonFiniteError, require_finite


def parse_args():
    parser = argparse.ArgumentParser(description='Test NORM-TR')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go')
    parser.add_argument('--out', help='write the test metrics as JSON')
    parser.add_argument('--dump', metavar='FILE',
                        help='write per-sample predictions with ids, one '
                        'row per test sample (.jsonl or .parquet)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. data_root=DIR')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    if args.dump:
        try:
            check_dump_path(args.dump)
        except ValueError as err:
            sys.exit(f'test.py: error: {err}')
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    try:  # before the Runner prints the whole config
        check_data_root(cfg)
    except DataRootError as err:
        sys.exit(f'test.py: error: {err}')
    if args.dump:
        add_dump(cfg, args.dump)
    if launched_distributed():  # accelerate launch / torchrun
        dist_info = setup_distributed(cfg)
        print(f'distributed: {dist_info}', flush=True)
    cfg.load_from = args.checkpoint
    runner = Runner.from_cfg(cfg)
    try:  # CheckpointGuardHook: weights must fit the model (strict)
        metrics = runner.test()
        require_finite(metrics, 'test metrics')
    except (CheckpointMismatchError, NonFiniteError) as err:
        sys.exit(f'test.py: error: {err}')
    if is_main_process():
        print(json.dumps(metrics, indent=2))
        if args.out:
            write_json(args.out, metrics)


def add_dump(cfg, path: str) -> None:
    """Append the per-sample dump to the test evaluator(s)."""
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']  # an Evaluator config
    metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) \
        else [evaluator]
    metrics.append(dict(type='DumpPredictions', out_file=path))
    if isinstance(cfg.test_evaluator, dict) and \
            'metrics' in cfg.test_evaluator:
        cfg.test_evaluator.metrics = metrics
    else:
        cfg.test_evaluator = metrics


if __name__ == '__main__':
    main()
