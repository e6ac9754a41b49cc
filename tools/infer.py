"""Predict emotions with a trained or published NORM-TR model.

    python tools/infer.py CONFIG CKPT --input PATH [--split test]
        [--device cpu] [--batch-size 64] [--out preds.json [--overwrite]]
        [--cfg-options k=v ...]
    python tools/infer.py MODEL --input PATH [--revision R] ...

CONFIG CKPT: a config and its training checkpoint (no publishing first).
MODEL: a Hub model id (``org/name``) or a published / ``save_pretrained``
folder. PATH is an ``.npz`` (one ``(N, T, D)`` array per modality,
optional ``id`` and lengths ``<modality>_lengths`` (N,) or ``lengths``
(N, M); arrays without lengths are stripped of zero padding, with a
warning) or a dataset in the project format (a folder or a Hub dataset
id), of which ``--split`` is read; label columns are not needed. Runs
``normtr_plugin.apis.NormTRInferencer``. Prints the predictions as JSON
(``id``, ``pred_score``, ``pred_label``: the records of
``tools/test.py --dump``); ``--out`` also writes them (atomically; checked
before the model is loaded, an existing file needs ``--overwrite``).
"""
import argparse
import json
import os.path as osp

from normtr_plugin.apis import DatasetInputs, NormTRInferencer
from normtr_plugin.engine import add_cfg_options
from normtr_plugin.evaluation.dump_predictions import (check_dump_path,
                                                       write_rows)
from normtr_plugin.utils import add_debug_argument, run_tool
from normtr_plugin.utils.output_path import check_output_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='NORM-TR inference')
    parser.add_argument('model', help='a config (then CKPT follows), a '
                        'Hub model id or a published folder')
    parser.add_argument('checkpoint', nargs='?', help="the config's "
                        'training checkpoint')
    parser.add_argument('--input', required=True,
                        help='.npz file, or dataset folder / Hub dataset id')
    parser.add_argument('--split', default='test',
                        help='split of a dataset input (default: test)')
    parser.add_argument('--revision', help='Hub revision of the model')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--out', help='also write the predictions here '
                        '(.json, .jsonl or .parquet, as test.py --dump)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out file')
    add_cfg_options(parser, 'override settings of CONFIG (key=value)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        check_dump_path(args.out)
        check_output_file(args.out, args.overwrite)
    inferencer = NormTRInferencer(
        args.model, args.checkpoint, revision=args.revision,
        device=args.device, cfg_options=args.cfg_options)
    if args.input.endswith('.npz') or osp.isfile(args.input):
        inputs = args.input
    else:
        inputs = DatasetInputs(args.input, args.split)
    preds = inferencer(inputs, batch_size=args.batch_size)['predictions']
    # strict JSON: a NaN is an error (the inferencer already refuses them)
    print(json.dumps(preds, indent=2, allow_nan=False))
    if args.out:
        write_rows(args.out, preds)


if __name__ == '__main__':
    run_tool(main)
