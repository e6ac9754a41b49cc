"""Convert feature files users already have into the project's format.

    python tools/convert_dataset.py FORMAT SRC --out DIR [--overwrite]
        [--push-to-hub ORG/NAME] [--no-progress]
        [cmu-h5: --modalities audio,video --label-column I|all
                 --label-names a,b,... --presence]

FORMAT is one of ``mmsa`` (MMSA ``aligned_50.pkl``/``unaligned_50.pkl``),
``mult`` (MulT ``iemocap_data.pkl``, ``mosei_senti_data.pkl``, ...) or
``cmu-h5`` (a folder of CMU-SDK HDF5 files). Prints the conversion report
as JSON, then how many samples per split and modality had NaN/Inf values
set to 0. Progress bars (reading, writing) go to stderr on a terminal.
"""
import argparse
import json

from normtr_plugin.datasets.converters import FORMATS, convert
from normtr_plugin.datasets.converters.progress import set_progress
from normtr_plugin.utils import InputError, add_debug_argument, run_tool

CMU_H5_OPTIONS = ('modalities', 'label_column', 'label_names', 'presence')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert feature files into the project's dataset "
        'format (a saved Hugging Face DatasetDict)')
    parser.add_argument('format', metavar='FORMAT',
                        help=f'source format: {", ".join(FORMATS)}')
    parser.add_argument('src', metavar='SRC',
                        help='source pickle (mmsa, mult) or folder (cmu-h5)')
    parser.add_argument('--out', required=True, metavar='DIR',
                        help='output folder (must not exist unless '
                        '--overwrite)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace DIR if it exists')
    parser.add_argument('--push-to-hub', metavar='ORG/NAME',
                        help='then upload DIR as a Hub dataset repo')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars')
    h5 = parser.add_argument_group('cmu-h5 options')
    h5.add_argument('--modalities', metavar='M,M',
                    help='convert only these modalities (e.g. audio,video);'
                    ' otherwise unreadable feature files are skipped with '
                    'a warning')
    h5.add_argument('--label-column', metavar='I|all',
                    help='labels with several columns: keep column I as '
                    '`label`, or all of them as separate label columns')
    h5.add_argument('--label-names', metavar='A,B,...',
                    help='names of the label columns (--label-column all) '
                    'or of the classes (one-hot labels)')
    h5.add_argument('--presence', action='store_true',
                    help='with --label-column all: store 1 where a value '
                    'is > 0, else 0 (multi-label emotions)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.no_progress:
        set_progress(False)
    options = {k: getattr(args, k) for k in CMU_H5_OPTIONS
               if getattr(args, k)}
    if options and args.format != 'cmu-h5':
        raise InputError(
            f'--{", --".join(o.replace("_", "-") for o in options)} only '
            f'apply to cmu-h5, not {args.format}')
    report = convert(args.format, args.src, args.out,
                     overwrite=args.overwrite, **options)
    print(json.dumps(report, indent=2))
    for split, info in report['splits'].items():
        for modality, hit in info['non_finite_samples'].items():
            print(f'{split}/{modality}: {hit} of {info["samples"]} samples '
                  'had non-finite values set to 0')
    if args.push_to_hub:
        from normtr_plugin.datasets.hub import push_feature_dataset
        push_feature_dataset(report['out_dir'], args.push_to_hub)
        print(f'pushed {report["out_dir"]} to {args.push_to_hub}')
    return 0


if __name__ == '__main__':
    run_tool(main)
