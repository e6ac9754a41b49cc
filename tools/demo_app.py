"""The demo page of a NORM-TR model in the browser (Gradio).

    python tools/demo_app.py MODEL [--data-root DATA --split test]
        [--host 127.0.0.1] [--port 7860] [--video-weights FILE
        --video-backbone resnet18 --video-segments 8]
    python tools/demo_app.py CONFIG CKPT [--data-root DATA] ...

MODEL: a published folder or Hub model id; CONFIG CKPT: a config and its
training checkpoint (``--data-root`` defaults to the config's
``data_root``). The page (``normtr_plugin/apis/demo_page.py``)
predicts a dataset sample, an uploaded ``.npz`` of features or (with
``--video-weights``) a video, shows the cross-attention map and the
prediction under test-time masking. Needs the ``demo`` extra:
``pip install -e ".[demo]"``.
"""
import argparse
import importlib.util

from normtr_plugin.utils import (MissingDependencyError, add_debug_argument,
                                 run_tool)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='NORM-TR demo page')
    p.add_argument('model', help='published folder, Hub model id, or a '
                   'config (then CKPT follows)')
    p.add_argument('checkpoint', nargs='?', help="the config's checkpoint")
    p.add_argument('--data-root', help='dataset offering samples (folder '
                   "or Hub id; default: the config's data_root)")
    p.add_argument('--split', default='test')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=7860)
    p.add_argument('--video-weights', help='local weights of the '
                   'extraction backbone (enables the video input)')
    p.add_argument('--video-backbone', default='resnet18')
    p.add_argument('--video-segments', type=int, default=8)
    add_debug_argument(p)
    return p.parse_args(argv)


def build_page(args):
    from normtr_plugin.apis.demo_page import (DemoPage,
                                                       MaskingInferencer)
    inferencer = MaskingInferencer(args.model, args.checkpoint)
    data_root = args.data_root
    if data_root is None and args.checkpoint:
        from mmengine.config import Config
        data_root = Config.fromfile(args.model).get('data_root')
    return DemoPage(inferencer, data_root, args.split,
                    video_weights=args.video_weights,
                    video_backbone=args.video_backbone,
                    video_segments=args.video_segments)


def main(argv=None):
    args = parse_args(argv)
    if importlib.util.find_spec('gradio') is None:
        raise MissingDependencyError('gradio is not installed; pip install '
                                     '-e ".[demo]"')
    page = build_page(args)
    from normtr_plugin.apis.demo_page import build_demo
    build_demo(page).launch(server_name=args.host, server_port=args.port,
                            show_error=True)


if __name__ == '__main__':
    run_tool(main)
