"""Evaluate a checkpoint on a config's test split.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out metrics.json] [--cfg-options k=v ...] [--launcher ...]

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

from normtr_plugin.engine import (CheckpointMismatchError,
                                  launched_distributed, load_config,
                                  setup_distributed, write_json)
from normtr_plugin.utils import NonFiniteError, require_finite


def parse_args():
    parser = argparse.ArgumentParser(description='Test NORM-TR')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go')
    parser.add_argument('--out', help='write the test metrics as JSON')
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
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
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


if __name__ == '__main__':
    main()
