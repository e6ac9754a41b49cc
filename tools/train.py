"""Train a NORM-TR config, then test the weights ``model_selection`` keeps.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--force] [--overwrite] [--amp] [--auto-scale-lr] [--no-test]
        [--cfg-options KEY=VALUE ...] [--launcher ...]

The shape of mmpretrain's ``tools/train.py``: the config's ``runner_type``
(``NormTRRunner``) is built from the registry and makes the run-time
decisions (``normtr_plugin/engine/runner.py``). ``--resume`` refuses a
checkpoint trained on other data or with another config unless
``--force``. The final metrics are printed as a table and written to
``WORK_DIR/test_metrics.json`` (flat ``{metric: value}`` plus
``checkpoint``, relative to that file).

One run per work dir: the run holds a lock on it (a second run is refused
naming the first one's pid) and removes what killed saves left there
(``normtr_plugin/engine/work_dir_lock.py``). A work dir holding an earlier
run's checkpoints is refused unless ``--resume`` (continue it) or
``--overwrite`` (replace it; ``normtr_plugin/engine/run_files.py``).

With ``model_selection=dict(by='cv', folds=K)`` the K fold runs come first
(``WORK_DIR/cv/fold_i``; ``normtr_plugin/engine/cv_selection.py``): they
choose the epoch count, the run then trains on train + validation for that
many epochs and tests once; the chosen epoch and the spread over folds
(``cv_epoch``, ``cv_<metric>_mean``, ``cv_<metric>_std``) join the test
metrics. ``--resume`` reuses the folds' choice (``WORK_DIR/
cv_selection.json``).

Several processes: ``accelerate launch [--multi_gpu] --num_processes N
tools/train.py CONFIG`` (or torchrun).
"""
import argparse
import copy
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.dist import is_main_process

from normtr_plugin.engine import (NormTRRunner, add_overwrite_argument,
                                  check_resume, cv_metrics, describe_cv,
                                  enable_amp, select_by_cv,
                                  load_checkpoint_safely, merge_runner_args,
                                  parse_runner_args, prepare_config,
                                  read_tool_config, report_test_metrics,
                                  resolve_resume, start_runner)
from normtr_plugin.engine.distributed import launch_rank
from normtr_plugin.engine.run_files import check_fresh_run
from normtr_plugin.engine.work_dir_lock import clean_leftovers, work_dir_lock
from normtr_plugin.utils.errors import InputError, run_tool


def parse_args():
    parser = argparse.ArgumentParser(description='Train NORM-TR')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in work_dir '
        'when no path is given')
    parser.add_argument('--force', action='store_true',
                        help='resume even if the checkpoint was trained on '
                        'other data or with another config')
    add_overwrite_argument(parser, 'train afresh in a work dir holding an '
                           'earlier run, replacing it (the checkpoints it '
                           'wrote are removed)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 on GPU, bf16 on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the lr with the total batch size "
                        "(base: the paper's 16)")
    parser.add_argument('--no-test', action='store_true',
                        help='do not test the selected checkpoint')
    return parse_runner_args(parser)


def merge_args(cfg: Config, args) -> Config:
    """The command line into the config (mmpretrain's ``merge_args``);
    ``cfg.work_dir`` set to the one NormTRRunner will use."""
    merge_runner_args(cfg, args)
    if args.amp and cfg.optim_wrapper.get('type') == 'OptimWrapper':
        enable_amp(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume is not None and args.overwrite:
        raise InputError('--resume continues the run in the work dir, '
                         '--overwrite replaces it: pass one of them')
    prepared = copy.deepcopy(cfg)
    prepare_config(prepared)  # what NormTRRunner will run
    cfg.work_dir = prepared.work_dir
    return cfg


def claim_work_dir(cfg: Config, args):
    """Holding the work dir's lock (rank 0): refuse to train afresh over an
    earlier run unless ``--overwrite``, clean what killed saves left; then
    choose the epoch count by cross-validation (``by='cv'`` only), then
    check the checkpoint to resume. Returns the cross-validation's choice."""
    if launch_rank() == 0:
        if args.resume is None:
            check_fresh_run(cfg.work_dir, args.overwrite)
        clean_leftovers(cfg.work_dir)
    cv = select_by_cv(cfg, resume=args.resume is not None)
    if args.resume is not None:
        resume(cfg, args)
    return cv


def resume(cfg: Config, args) -> None:
    """Resume from a readable checkpoint of this run (checked now, before
    anything starts; ``--force`` takes another run's)."""
    prepared = copy.deepcopy(cfg)
    prepare_config(prepared)
    path = resolve_resume(prepared.work_dir,
                          None if args.resume == 'auto' else args.resume)
    warning = check_resume(prepared, load_checkpoint_safely(
        path, map_location='cpu'), path, force=args.force)
    if warning and is_main_process():
        print(f'warning: {warning}', file=sys.stderr, flush=True)
    cfg.resume, cfg.load_from = True, path


def main():
    args = parse_args()
    cfg = merge_args(read_tool_config(args.config, args.launcher), args)
    with work_dir_lock(cfg.work_dir, enabled=launch_rank() == 0):
        cv = claim_work_dir(cfg, args)
        runner = start_runner(cfg)
        if cv:
            runner.logger.info(f'model selection: {describe_cv(cv)}')
        runner.train()
        if args.no_test or not runner.cfg.get('test_dataloader'):
            return
        if isinstance(runner, NormTRRunner):  # the weights kept
            metrics, checkpoint = runner.test_selected()
        else:  # a config without runner_type: mmengine's Runner as it is
            metrics, checkpoint = runner.test(), None
        if cv:
            metrics.update(cv_metrics(cv))
        report_test_metrics(metrics, checkpoint,
                            osp.join(runner.work_dir, 'test_metrics.json'))


if __name__ == '__main__':
    run_tool(main)
