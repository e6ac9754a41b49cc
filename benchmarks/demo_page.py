"""Response time of the demo page per prediction on CPU.

MMMO shapes (audio 74 / video 36, T = 20, 1-5 score), the model of
``configs/normtr_mmmo.py`` with random-init weights (the time does not
depend on them), saved with ``save_pretrained``; a synthetic test split of
``--num-samples`` rows in the project's format (temporary folder).

Timed per click of the page's Predict button (what ``build_demo``'s
callback runs, minus the browser's rendering): reading the sample, the
prediction without masking and at the slider's ratio (both through
``NormTRInferencer``), the two bar charts and the attention figure, drawn
to PNG as Gradio serves them. Median and max over ``--repeats`` clicks on
different samples, after one warm-up click.

    python benchmarks/demo_page.py [--repeats 20] [--ratio 0.5]
        [--masker random] [--threads 1]
"""
import argparse
import io
import json
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmengine.config import Config  # noqa: E402

from normtr_plugin.datasets import (  # noqa: E402
    feature_schema, save_feature_dataset)
from normtr_plugin.engine import propagate  # noqa: E402
from normtr_plugin.hub import save_pretrained  # noqa: E402
from normtr_plugin.registry import MODELS, build_in_scope  # noqa: E402
from normtr_plugin.apis.demo_page import (  # noqa: E402
    DemoPage, plot_prediction)

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                  'configs', 'normtr_mmmo.py')


def setup(tmp: str, num_samples: int):
    import datasets as hf
    hf.disable_progress_bars()
    cfg = Config.fromfile(CONFIG)
    propagate(cfg)
    torch.manual_seed(0)
    model = build_in_scope(MODELS, cfg.model).eval()
    mods, T = dict(cfg.model.modalities), cfg.model.seq_len
    rng = np.random.default_rng(0)
    splits = {s: dict(id=[f'{s}_{i}' for i in range(num_samples)],
                      label=rng.uniform(1, 5, num_samples).astype('f4'),
                      **{m: rng.standard_normal((num_samples, T, d))
                         .astype('f4') for m, d in mods.items()})
              for s in ('train', 'test')}
    data = save_feature_dataset(
        splits, osp.join(tmp, 'data'),
        feature_schema(mods, {'label': hf.Value('float32')}))
    stats = {m: dict(mean=[0.0] * d, std=[1.0] * d) for m, d in mods.items()}
    folder = save_pretrained(
        model, osp.join(tmp, 'model'), dataset_meta=dict(feature_stats=stats),
        test_pipeline=list(cfg.test_dataloader.dataset.pipeline))
    return DemoPage(folder, data)


def click(page: DemoPage, index: int, masker: str, ratio: float) -> float:
    start = time.perf_counter()
    arrays, _ = page.sample_inputs(index)
    clean = page.predict(arrays, masker, 0.0)
    moved = page.predict(arrays, masker, ratio)
    for fig in (plot_prediction(clean['record'], 'a'),
                plot_prediction(moved['record'], 'b'),
                page.attention_figure(clean, moved, masker, ratio)):
        fig.savefig(io.BytesIO(), format='png')
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--num-samples', type=int, default=40)
    p.add_argument('--ratio', type=float, default=0.5)
    p.add_argument('--masker', default='random')
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        page = setup(tmp, args.num_samples)
        click(page, 0, args.masker, args.ratio)  # warm-up
        times = [click(page, i % args.num_samples, args.masker, args.ratio)
                 for i in range(args.repeats)]
    print(json.dumps(dict(
        model='configs/normtr_mmmo.py (random init)', device='cpu',
        threads=args.threads, masker=args.masker, ratio=args.ratio,
        clicks=args.repeats, median_s=round(statistics.median(times), 4),
        max_s=round(max(times), 4)), indent=2))


if __name__ == '__main__':
    main()
