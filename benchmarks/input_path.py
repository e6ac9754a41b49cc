"""The input path alone: microseconds per sample, no model.

Times what the Runner's dataloader does for one training batch of a
MOSI-shaped dataset (audio 74, video 35, text 768, T = 50, written in the
project's format): sampler indices -> ``dataset.__getitems__`` (zero-copy
Arrow gather, batch transforms of ``configs/_base_/datasets/mosi.py``'s
train pipeline; ``--normalize`` prepends ``NormalizeFeatures``) ->
``multimodal_collate``.
Also times a user's per-sample callable run through the ``PerSample``
adapter (prepended to the same pipeline) on the same data for comparison.

    python benchmarks/input_path.py [--num-samples 2048] [--batch 16 128]
        [--iters 40] [--threads 1] [--unaligned] [--out X.json]

Reported: median microseconds per sample over ``--iters`` batches, each of
random indices (the train sampler shuffles), as wall time and as this
process's CPU time (``time.process_time``; steadier on a shared machine). ``--unaligned`` writes
variable-length rows (audio up to 375, video up to 500 steps, text 50),
like MMSA's unaligned files.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

# synthetic local data only: never wait on Hub retries
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DIMS = dict(audio=74, video=35, text=768)
SEQ_LEN = 50


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num-samples', type=int, default=2048)
    p.add_argument('--batch', type=int, nargs='+', default=[16, 128])
    p.add_argument('--iters', type=int, default=40)
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (the dataloader runs in one)')
    p.add_argument('--unaligned', action='store_true')
    p.add_argument('--normalize', action='store_true',
                   help='prepend NormalizeFeatures (MMMO-style pipeline)')
    p.add_argument('--out', help='write the results as JSON here')
    return p.parse_args()


def write_data(root: str, n: int, unaligned: bool) -> str:
    import datasets as hf
    from normtr_plugin.datasets import FeatureDatasetWriter
    rng = np.random.default_rng(0)
    longest = dict(audio=375, video=500, text=50) if unaligned else None
    with FeatureDatasetWriter(root, DIMS,
                              {'label': hf.Value('float32')}) as writer:
        def batches():
            for start in range(0, n, 256):
                k = min(256, n - start)
                batch = {'id': [f's{i}' for i in range(start, start + k)],
                         'label': rng.uniform(-3, 3, k).astype(np.float32)}
                for m, d in DIMS.items():
                    if longest:
                        batch[m] = [rng.standard_normal(
                            (int(rng.integers(10, longest[m] + 1)), d),
                            dtype=np.float32) for _ in range(k)]
                    else:
                        batch[m] = rng.standard_normal((k, SEQ_LEN, d),
                                                       dtype=np.float32)
                yield batch
        writer.write_split('train', batches())
        return writer.finish()


def pipeline(per_sample: bool, normalize: bool):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets',
                                   'mosi.py'))
    steps = list(cfg.train_pipeline)
    if normalize:
        steps.insert(0, dict(type='NormalizeFeatures'))
    if per_sample:  # any plain callable, through the one adapter
        steps.insert(0, dict(type='PerSample',
                             transform=lambda results: results))
    return steps


def time_path(ds, batch: int, iters: int) -> tuple:
    """Median (wall, CPU) microseconds per sample."""
    from normtr_plugin.datasets import multimodal_collate
    rng = np.random.default_rng(1)
    for start in range(0, len(ds), 256):  # warm the page cache
        ds.__getitems__(list(range(start, min(start + 256, len(ds)))))
    wall, cpu = [], []
    for _ in range(iters):
        indices = rng.choice(len(ds), batch, replace=False).tolist()
        t0, c0 = time.perf_counter(), time.process_time()
        multimodal_collate(ds.__getitems__(indices))
        wall.append((time.perf_counter() - t0) / batch * 1e6)
        cpu.append((time.process_time() - c0) / batch * 1e6)
    return statistics.median(wall), statistics.median(cpu)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, REPO)
    import datasets as hf
    hf.disable_progress_bars()
    from normtr_plugin.datasets import MultimodalFeatureDataset
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_data(osp.join(tmp, 'data'), args.num_samples,
                          args.unaligned)
        for kind in ('batched', 'per_sample'):
            ds = MultimodalFeatureDataset(root, 'train', DIMS,
                                          pipeline=pipeline(
                                              kind == 'per_sample',
                                              args.normalize))
            for batch in args.batch:
                wall, cpu = time_path(ds, batch, args.iters)
                results[f'{kind}_b{batch}'] = dict(
                    wall_us_per_sample=round(wall, 2),
                    cpu_us_per_sample=round(cpu, 2))
                print(f'{kind:10s} batch {batch:4d}: {wall:8.2f} us/sample '
                      f'wall, {cpu:8.2f} CPU', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=2)


if __name__ == '__main__':
    main()
