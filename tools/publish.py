"""Publish a training checkpoint as a Hub model (safetensors + model card).

    python tools/publish.py CONFIG CHECKPOINT --out DIR
        [--test | --metrics METRICS_JSON] [--push-to-hub ORG/NAME]
        [--dataset-name NAME] [--license ID [--license-name NAME]]
        [--pipeline-tag TAG]
        [--overwrite] [--space DIR] [--cfg-options k=v ...]

Arguments in OpenMMLab's order (as ``tools/test.py CONFIG CHECKPOINT``).
Checks that CHECKPOINT was trained with the model CONFIG describes and
writes DIR/config.json, model.safetensors, README.md, metrics.json and
SHA256SUMS (their digests, verified when the model is loaded) as a whole:
staged, then renamed into place, so a killed run leaves the previous DIR
intact. An existing DIR is replaced only with --overwrite and only if
publish wrote everything in it, unchanged; --push-to-hub uploads exactly
those five files. The card's test metrics come from
--metrics (tools/test.py --out or tools/train.py's test_metrics.json), else
from a fresh test with --test, else from the test_metrics.json that
tools/train.py wrote beside CHECKPOINT; with none the card has no results.
The checkpoint's stored config text is compared as data, never run. The
card names the dataset by its Hub id (``data_root`` as ``org/name``, a Hub
cache folder, or ``--dataset-name ORG/NAME``), takes its licence from the
dataset's card unless ``--license`` is given, and sets ``pipeline_tag``
from the head (none for regression or several modalities) unless
``--pipeline-tag`` is given.
``--space DIR`` also writes a Hugging Face Space (``app.py`` +
``requirements.txt``) running the demo page over the model.
"""
import argparse
import json


from normtr_plugin.engine import add_cfg_options
from normtr_plugin.hub.publish import publish
from normtr_plugin.utils import InputError, add_debug_argument, run_tool

USAGE = 'python tools/publish.py CONFIG CHECKPOINT --out DIR'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Publish a NORM-TR model')
    parser.add_argument('config', help='the config the checkpoint was '
                        'trained with')
    parser.add_argument('checkpoint', nargs='?',
                        help='mmengine checkpoint (.pth)')
    parser.add_argument('--config', dest='old_config',
                        help=argparse.SUPPRESS)  # the old order: refused
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--push-to-hub', metavar='ORG/NAME',
                        help='upload the folder as this Hub model repo')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--test', action='store_true',
                        help='measure the test metrics afresh (default: '
                        "training's test_metrics.json beside CHECKPOINT)")
    source.add_argument('--metrics', help='use these test metrics '
                        '(tools/test.py --out or test_metrics.json)')
    parser.add_argument('--dataset-name', help='dataset name or Hub id for '
                        'the model card (default: from the config)')
    parser.add_argument('--license', help='licence id for the card '
                        "from the Hub's list (default: the dataset card's, "
                        "else 'other')")
    parser.add_argument('--license-name', help="the licence's name when "
                        '--license is other (a lowercase slug)')
    parser.add_argument('--pipeline-tag', help='Hub task of the model '
                        '(default: from the head; none for regression or '
                        'several modalities)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out that publish '
                        'wrote (refused if it holds anything else)')
    parser.add_argument('--space', metavar='DIR', help='also write a Space '
                        'folder (app.py + requirements.txt) running the '
                        'demo page over the published model')
    add_cfg_options(parser, 'override config settings, e.g. data_root=DIR')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.old_config is not None or args.checkpoint is None or \
            args.config.endswith(('.pth', '.pt')):
        raise InputError(f'publish.py takes CONFIG CHECKPOINT (OpenMMLab '
                         f'order, as tools/test.py): {USAGE}')
    result = publish(args.config, args.checkpoint, args.out,
                     metrics=args.metrics, test=args.test,
                     cfg_options=args.cfg_options,
                     dataset_name=args.dataset_name,
                     repo_id=args.push_to_hub, overwrite=args.overwrite,
                     license=args.license, pipeline_tag=args.pipeline_tag,
                     license_name=args.license_name)
    if args.space:
        from normtr_plugin.apis.demo_space import write_space
        result['space'] = write_space(args.push_to_hub or args.out,
                                      args.space)
    if result.get('commit') is not None:
        result['commit'] = str(result['commit'])
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    run_tool(main)
