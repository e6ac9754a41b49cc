"""Train a NORM-TR config with mmengine's Runner, then test the best model.

    python tools/train.py configs/normtr_demo.py [--work-dir DIR]
        [--resume [CKPT] [--force]] [--amp] [--cfg-options k=v ...]
        [--launcher ...]

A missing or unconverted ``data_root`` is reported (with the converter to
run) before anything else. ``--resume`` refuses a checkpoint trained on
other data or with another config (``engine/run_identity.py``) unless
``--force``. Which weights are tested after training follows the config's
``model_selection`` (best on validation, last epoch, EMA).

Several processes: ``accelerate launch [--multi_gpu] --num_processes N
tools/train.py CONFIG`` (or torchrun); Accelerate's configuration decides
the distributed state, the device and the mixed precision.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.dist import barrier, is_main_process
from mmengine.runner import Runner

from normtr_plugin.engine import (CheckpointMismatchError, DataRootError,
                                  ResumeError, ResumeMismatchError,
                                  check_data_root, check_resume, enable_amp,
                                  launched_distributed,
                                  load_checkpoint_safely, load_config,
                                  resolve_resume, setup_distributed,
                                  write_json)
from normtr_plugin.utils import NonFiniteError, require_finite


def parse_args():
    parser = argparse.ArgumentParser(description='Train NORM-TR')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in work_dir '
        'when no path is given')
    parser.add_argument('--force', action='store_true',
                        help='resume even if the checkpoint was trained on '
                        'other data or with another config')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 on GPU, bf16 on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr with the total batch size '
                        '(base: the paper\'s 16)')
    parser.add_argument('--no-test', action='store_true',
                        help='skip testing the best checkpoint after training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. data_root=DIR')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    try:
        run(parse_args())
    except (ResumeError, ResumeMismatchError, NonFiniteError,
            CheckpointMismatchError, DataRootError) as err:
        # One line: nothing to resume from, another run's checkpoint, a
        # NaN/Inf loss or metric, a checkpoint that does not fit the model,
        # no data at data_root.
        sys.exit(f'train.py: error: {err}')


def run(args):
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    check_data_root(cfg)  # before the Runner prints the whole config
    if launched_distributed():  # accelerate launch / torchrun
        dist_info = setup_distributed(cfg)
        print(f'distributed: {dist_info}', flush=True)
    if cfg.get('model_selection_note') and is_main_process():
        print(f'model selection: {cfg.model_selection_note}', flush=True)
    if args.amp and cfg.optim_wrapper.get('type') == 'OptimWrapper':
        enable_amp(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume is not None:  # checked readable before anything starts
        path = resolve_resume(
            cfg.work_dir, None if args.resume == 'auto' else args.resume)
        warning = check_resume(cfg, load_checkpoint_safely(
            path, map_location='cpu'), path, force=args.force)
        if warning and is_main_process():
            print(f'warning: {warning}', file=sys.stderr, flush=True)
        cfg.resume, cfg.load_from = True, path
    runner = Runner.from_cfg(cfg)
    runner.train()
    if args.no_test or not cfg.get('test_dataloader'):
        return
    selection = dict(cfg.get('model_selection') or {})
    best = runner.message_hub.get_info('best_ckpt') \
        if selection.get('by', 'best') == 'best' else None
    barrier()  # rank 0 writes the checkpoint; the others wait for it
    if best:
        runner.load_checkpoint(best)
    metrics = runner.test()
    require_finite(metrics, 'test metrics')
    # the last checkpoint holds the tested weights (EMA ones with ema)
    tested = best or runner.message_hub.get_info('last_ckpt')
    runner.logger.info(f'test metrics ({tested or "last"} checkpoint, '
                       f'model_selection {selection}): {metrics}')
    if is_main_process():
        write_json(osp.join(cfg.work_dir, 'test_metrics.json'),
                   dict(checkpoint=tested, selection=selection,
                        metrics=metrics))


if __name__ == '__main__':
    main()
