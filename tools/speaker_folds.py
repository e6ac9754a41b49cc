"""Speaker-independent k-fold evaluation (RML protocol, paper section 4.2).

    # 1. k speaker-disjoint folds (k = 5: the paper's 8:2) of a dataset
    python tools/speaker_folds.py split data/rml --out data/rml_folds \
        (--manifest rml/manifest.csv [--speaker-column speaker]
         | --speaker-pattern '^(s\\d+)_') [--k 5] [--seed 0] [--overwrite]
    # 2. train and test a config on every fold, one after the other
    python tools/speaker_folds.py train configs/normtr_rml.py data/rml_folds \
        [--work-dir work_dirs/normtr_rml/folds] [--cfg-options k=v ...]
    # 3. mean +- std over the folds (also printed by `train`)
    python tools/speaker_folds.py summary work_dirs/normtr_rml/folds

``split`` pools every split of the dataset and writes ``fold_{i}`` with
``train`` and ``test`` splits (no speaker in both) and ``folds.json``
(with ``k`` and a new ``split_id``). ``train`` and ``summary`` refuse
folds of another split (a work dir trained on an earlier split, stale
``fold_j`` left by a larger ``--k``).
``train`` runs ``tools/train.py`` per fold (work dir ``WORK/fold_{i}``);
the folds have no validation split, so the config's ``model_selection``
decides (RML: best on a held-out part of train). ``summary`` writes
``WORK/summary.json``: per metric the mean, the sample std (ddof=1) and
the per-fold values.
"""
import argparse
import os.path as osp
import subprocess
import sys

from normtr_plugin.datasets.speaker_folds import (check_work_dir,
                                                  fold_summary,
                                                  format_summary,
                                                  read_fold_metrics,
                                                  read_split, record_fold,
                                                  write_speaker_folds)
from normtr_plugin.utils import add_debug_argument, run_tool, write_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    split = sub.add_parser('split', help='write k speaker-disjoint folds')
    split.add_argument('data_root', help='dataset (folder or Hub id)')
    split.add_argument('--out', required=True, help='folds folder')
    split.add_argument('--k', type=int, default=5,
                       help='number of folds (5: train/test 8:2)')
    split.add_argument('--manifest', help='CSV with id and speaker columns')
    split.add_argument('--speaker-column', default='speaker')
    split.add_argument('--speaker-pattern', help='regex on id giving the '
                       'speaker (group "speaker", else group 1)')
    split.add_argument('--seed', type=int, default=0)
    split.add_argument('--overwrite', action='store_true')
    train = sub.add_parser('train', help='train and test every fold')
    train.add_argument('config')
    train.add_argument('folds', help='folder written by `split`')
    train.add_argument('--work-dir', help='default: work_dirs/<config>/'
                       '<folds folder name>')
    train.add_argument('--cfg-options', nargs='+', default=[],
                       metavar='KEY=VALUE', help='passed to tools/train.py')
    summary = sub.add_parser('summary', help='mean +- std over folds')
    summary.add_argument('work_dir')
    for command in (split, train, summary):
        add_debug_argument(command)
    return parser.parse_args(argv)


def summarize(work_dir: str) -> dict:
    summary = fold_summary(read_fold_metrics(work_dir))
    write_json(osp.join(work_dir, 'summary.json'), summary)
    print(format_summary(summary))
    return summary


def train_folds(args) -> int:
    split = read_split(args.folds)
    name = osp.splitext(osp.basename(args.config))[0]
    work = args.work_dir or osp.join(
        'work_dirs', name, osp.basename(osp.normpath(args.folds)))
    check_work_dir(work, split, args.folds)
    for fold in split['folds']:
        i = fold['fold']
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
               args.config, '--work-dir', osp.join(work, f'fold_{i}'),
               '--cfg-options', f"data_root={fold['folder']}",
               *args.cfg_options]
        print(f"fold {i}: test speakers {', '.join(fold['test_speakers'])}",
              flush=True)
        if subprocess.run(cmd).returncode:
            print(f'fold {i} failed', file=sys.stderr)
            return 1
        record_fold(work, split, i)
    summarize(work)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == 'split':
        report = write_speaker_folds(
            args.data_root, args.out, args.k, args.manifest,
            args.speaker_column, args.speaker_pattern, args.seed,
            args.overwrite)
        for fold in report['folds']:
            print(f"fold {fold['fold']}: train {fold['train']}, test "
                  f"{fold['test']} ({fold['test_fraction']:.0%}), test "
                  f"speakers {', '.join(fold['test_speakers'])}")
        return 0
    if args.command == 'train':
        return train_folds(args)
    summarize(args.work_dir)
    return 0


if __name__ == '__main__':
    run_tool(main)
