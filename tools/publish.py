"""Publish a training checkpoint as a Hub model (safetensors + model card).

    python tools/publish.py CHECKPOINT --config CFG --out DIR
        [--push-to-hub ORG/NAME] [--metrics METRICS_JSON]
        [--dataset-name NAME] [--license ID] [--pipeline-tag TAG]
        [--overwrite] [--space DIR] [--cfg-options k=v ...]

Checks that CHECKPOINT was trained with the model CFG describes, evaluates it
on the test split (unless --metrics gives tools/test.py --out or
tools/train.py's test_metrics.json), and writes DIR/config.json,
model.safetensors, README.md and metrics.json (an existing DIR that holds
any of them needs --overwrite); --push-to-hub uploads exactly those four
files. The checkpoint's stored config text is compared as data, never run.
The card names the dataset by its Hub id (``data_root`` as ``org/name``, a
Hub cache folder, or ``--dataset-name ORG/NAME``), takes its licence from
the dataset's card unless ``--license`` is given, and lists the model under
``--pipeline-tag`` (default: from the modalities, e.g.
video-classification). ``--space DIR`` also writes a Hugging Face Space
(``app.py`` + ``requirements.txt``) running the demo page over the model.
"""
import argparse
import json
import pickle
import sys

from mmengine.config import DictAction

from normtr_plugin.hub.publish import publish


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Publish a NORM-TR model')
    parser.add_argument('checkpoint', help='mmengine checkpoint (.pth)')
    parser.add_argument('--config', required=True,
                        help='the config the checkpoint was trained with')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--push-to-hub', metavar='ORG/NAME',
                        help='upload the folder as this Hub model repo')
    parser.add_argument('--metrics', help='use these test metrics instead '
                        'of evaluating (tools/test.py --out or '
                        'test_metrics.json)')
    parser.add_argument('--dataset-name', help='dataset name or Hub id for '
                        'the model card (default: from the config)')
    parser.add_argument('--license', help='licence id for the card '
                        "(default: the dataset card's, else 'other')")
    parser.add_argument('--pipeline-tag', help='Hub task of the model '
                        '(default: from the modalities)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace config.json, model.safetensors, '
                        'README.md and metrics.json in an existing --out')
    parser.add_argument('--space', metavar='DIR', help='also write a Space '
                        'folder (app.py + requirements.txt) running the '
                        'demo page over the published model')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. data_root=DIR')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        result = publish(args.checkpoint, args.config, args.out,
                         metrics=args.metrics, cfg_options=args.cfg_options,
                         dataset_name=args.dataset_name,
                         repo_id=args.push_to_hub,
                         overwrite=args.overwrite, license=args.license,
                         pipeline_tag=args.pipeline_tag)
    except (ValueError, OSError, pickle.UnpicklingError) as err:
        # PublishError/PretrainedError are ValueErrors, an unsafe checkpoint
        # an UnpicklingError: one line, no traceback.
        sys.exit(f'publish.py: error: {err}')
    if args.space:
        from normtr_plugin.visualization.demo_space import write_space
        result['space'] = write_space(args.push_to_hub or args.out,
                                      args.space)
    if result.get('commit') is not None:
        result['commit'] = str(result['commit'])
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
