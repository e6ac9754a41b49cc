"""Extract features from raw video / audio (paper section 4.3).

    python tools/extract_features.py --manifest CSV --out DIR
        [--backbone resnet18] [--segments T] [--device cpu|cuda]
        [--batch-size N] [--pretrained] [--weights FILE]
        [--frame middle|random] [--strict] [--overwrite]
        [--task classification|regression] [--seed S] [--allow-outside]
        [--workers N] [--frames-per-segment K]

The manifest has columns ``id, split, label`` and ``video`` and/or
``audio`` (paths relative to the CSV's folder, which they must stay inside
unless --allow-outside). Media are decoded by --workers DataLoader worker
processes (default: one per CPU core, at most 16) while the backbone runs.
--frames-per-segment K stores K candidate frames per video segment (T*K
steps) for ``SegmentSample(keys=['video'], seq_len=T, random=True)`` to pick
from in training (the middle one in evaluation). Prints the report as JSON.
"""
import argparse
import json
import os

from normtr_plugin.extraction import extract_features
from normtr_plugin.utils import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Extract ResNet features from raw video and audio into '
        "the project's dataset format")
    p.add_argument('--manifest', required=True, metavar='CSV',
                   help='CSV with id, split, label and video and/or audio')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='output folder (must not exist unless --overwrite)')
    p.add_argument('--backbone', default='resnet18', help='timm model name')
    p.add_argument('--segments', type=int, default=8, metavar='T',
                   help='time steps per sample and modality (default 8)')
    p.add_argument('--device', default='cpu', help='cpu or cuda')
    p.add_argument('--batch-size', type=int, default=32, metavar='N',
                   help='images per backbone call')
    p.add_argument('--pretrained', action='store_true',
                   help="timm's pretrained weights (needs the Hub)")
    p.add_argument('--weights', metavar='FILE',
                   help='local .safetensors/.pth backbone weights')
    p.add_argument('--frame', choices=['middle', 'random'], default='middle',
                   help='frame taken from each video segment')
    p.add_argument('--strict', action='store_true',
                   help='fail on a missing/unreadable file instead of '
                   'skipping the sample')
    p.add_argument('--overwrite', action='store_true',
                   help='replace DIR if it exists and this tool wrote it')
    p.add_argument('--allow-outside', action='store_true',
                   help="read media paths outside the manifest's folder")
    p.add_argument('--task', choices=['classification', 'regression'],
                   default='classification', help='label type')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--image-size', type=int, metavar='PX',
                   help="backbone input size (default: the model's)")
    p.add_argument('--workers', type=int,
                   default=min(16, os.cpu_count() or 1), metavar='N',
                   help='processes decoding media in parallel (0: none; '
                   'default: CPU cores, at most 16)')
    p.add_argument('--frames-per-segment', type=int, default=1, metavar='K',
                   help='candidate frames stored per video segment (video '
                   'gets T*K steps; default 1)')
    add_debug_argument(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = extract_features(
        args.manifest, args.out, backbone=args.backbone,
        segments=args.segments, device=args.device,
        batch_size=args.batch_size, pretrained=args.pretrained,
        weights=args.weights, frame=args.frame, strict=args.strict,
        seed=args.seed, overwrite=args.overwrite, task=args.task,
        image_size=args.image_size, allow_outside=args.allow_outside,
        workers=args.workers, frames_per_segment=args.frames_per_segment)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    run_tool(main)
