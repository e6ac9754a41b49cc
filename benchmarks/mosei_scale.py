"""MOSEI-sized data through tools/train.py: memory and data-wait figures.

Writes a MOSEI-shaped dataset in the project's format (16,326 train
samples, T = 50, text 768 / audio 74 / video 35, about 2.9 GB float32),
trains one epoch of configs/normtr_mosei.py through tools/train.py and
reports:
- peak anonymous memory of the training process (RssAnon, polled from
  /proc; file-backed pages of the memory-mapped Arrow data do not count);
- the share of step time spent waiting for data (mmengine's data_time /
  time, over the logged iterations).

    python benchmarks/mosei_scale.py [--data-dir DIR] [--iters N]
        [--out result.json]

``--iters N`` trains N iterations (IterBasedTrainLoop) instead of the whole
epoch: the same steady state in less time.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import threading
import time

import datasets as hf
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from normtr_plugin.datasets import FeatureDatasetWriter  # noqa: E402
from normtr_plugin.engine import write_json  # noqa: E402

DIMS = dict(audio=74, video=35, text=768)
SIZES = dict(train=16326, validation=1871, test=4659)


def write_dataset(out_dir, sizes, seq_len=50, batch=256, seed=0):
    rng = np.random.default_rng(seed)

    def batches(n):
        for start in range(0, n, batch):
            k = min(batch, n - start)
            cols = {m: rng.standard_normal((k, seq_len, d), np.float32)
                    for m, d in DIMS.items()}
            cols['id'] = [f'{start + i}' for i in range(k)]
            cols['label'] = rng.uniform(-3, 3, k).astype(np.float32)
            yield cols

    with FeatureDatasetWriter(out_dir, DIMS,
                              {'label': hf.Value('float32')}) as writer:
        for split, n in sizes.items():
            writer.write_split(split, batches(n))
        writer.finish('# MOSEI-sized random features (benchmark)\n')


def rss_anon_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('RssAnon:'):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--data-dir', default=osp.join(
        tempfile.gettempdir(), 'normtr_mosei_scale'))
    parser.add_argument('--work-dir', default=osp.join(
        tempfile.gettempdir(), 'normtr_mosei_scale_work'))
    parser.add_argument('--iters', type=int,
                        help='train this many iterations, not one epoch')
    parser.add_argument('--out', help='write the figures as JSON')
    args = parser.parse_args()

    if not osp.isdir(args.data_dir):
        start = time.perf_counter()
        write_dataset(args.data_dir, SIZES)
        print(f'wrote {args.data_dir} in {time.perf_counter() - start:.0f} s')
    size = sum(osp.getsize(osp.join(d, f)) for d, _, fs in
               os.walk(args.data_dir) for f in fs)

    cmd = [sys.executable, 'tools/train.py', 'configs/normtr_mosei.py',
           '--work-dir', args.work_dir, '--no-test', '--cfg-options',
           f'data_root={args.data_dir}', 'train_cfg.max_epochs=1',
           'train_cfg.val_interval=100', 'default_hooks.logger.interval=20',
           'default_hooks.checkpoint.save_best=None']
    if args.iters:  # a child config: an iteration loop replaces the epoch
        os.makedirs(args.work_dir, exist_ok=True)
        child = osp.join(args.work_dir, 'mosei_iters.py')
        with open(child, 'w') as f:
            f.write(f"_base_ = [{osp.join(ROOT, 'configs', 'normtr_mosei.py')!r}]\n"
                    f"train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',"
                    f" max_iters={args.iters}, val_interval={args.iters + 1})\n"
                    "param_scheduler = []\nlog_processor = dict(by_epoch=False)\n")
        cmd[2] = child
        cmd = [c for c in cmd if not c.startswith('train_cfg.')]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = [0]

    def poll():
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], rss_anon_kb(proc.pid))
            except OSError:
                break
            time.sleep(0.2)
    thread = threading.Thread(target=poll)
    thread.start()
    proc.wait()
    thread.join()
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f'training failed ({proc.returncode}): {" ".join(cmd)}')

    runs = sorted(os.listdir(args.work_dir))
    scalars = [osp.join(args.work_dir, r, 'vis_data', 'scalars.json')
               for r in runs]
    scalars = [s for s in scalars if osp.isfile(s)][-1]
    rows = [json.loads(line) for line in open(scalars)]
    rows = [r for r in rows if 'data_time' in r and 'loss' in r][1:]
    data_time = float(np.mean([r['data_time'] for r in rows]))
    step_time = float(np.mean([r['time'] for r in rows]))
    result = dict(
        dataset_bytes=size, train_samples=SIZES['train'],
        peak_rss_anon_mb=peak[0] / 1024, data_time_s=data_time,
        iter_time_s=step_time, data_wait_share=data_time / step_time,
        wall_s=wall, targets=dict(peak_rss_anon_mb=1536,
                                  data_wait_share=0.10))
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(args.out, result)


if __name__ == '__main__':
    main()
