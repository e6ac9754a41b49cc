"""Predict emotions with a saved or published NORM-TR model.

    python tools/infer.py MODEL --input PATH [--split test] [--revision R]
        [--device cpu] [--batch-size 64] [--out preds.json]

MODEL is a Hub model id (``org/name``) or a ``save_pretrained`` folder.
PATH is an ``.npz`` (one ``(N, T, D)`` array per modality, optional ``id``)
or a dataset in the project format (a folder or a Hub dataset id), of which
``--split`` is read; label columns are not needed. Runs
``normtr_plugin.apis.NormTRInferencer``. Prints the predictions as JSON;
``--out`` also writes them (atomically).
"""
import argparse
import json
import os.path as osp
import sys

from normtr_plugin.apis import DatasetInputs, NormTRInferencer
from normtr_plugin.utils import write_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='NORM-TR inference')
    parser.add_argument('model', help='Hub model id or save_pretrained folder')
    parser.add_argument('--input', required=True,
                        help='.npz file, or dataset folder / Hub dataset id')
    parser.add_argument('--split', default='test',
                        help='split of a dataset input (default: test)')
    parser.add_argument('--revision', help='Hub revision of the model')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--out', help='also write the predictions here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        inferencer = NormTRInferencer(args.model, revision=args.revision,
                                      device=args.device)
        if args.input.endswith('.npz') or osp.isfile(args.input):
            inputs = args.input
        else:
            inputs = DatasetInputs(args.input, args.split)
        preds = inferencer(inputs, batch_size=args.batch_size)[
            'predictions']
    except (ValueError, KeyError, OSError) as err:
        # PretrainedError and InferenceError are ValueErrors: one line, no
        # traceback, for anything wrong with the model, input or dataset.
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        sys.exit(f'infer.py: error: {msg}')
    try:  # strict JSON: a NaN is an error (the API already refuses them)
        text = json.dumps(preds, indent=2, allow_nan=False)
    except ValueError as err:
        sys.exit(f'infer.py: error: a prediction is not finite ({err})')
    print(text)
    if args.out:
        write_json(args.out, preds)


if __name__ == '__main__':
    main()
