"""Speed of the robustness evaluation (``RobustnessTestLoop``) on CPU.

MOSI shapes: a 686-sample test split, T = 50, audio 5 / video 20 / text
768, sentiment regression, model ``configs/normtr_mosi.py`` with a
random-init checkpoint (saved by this script, mmengine format). Synthetic
data is written in the project's format to a temporary folder.

Timed (wall clock):

* total: what ``tools/robustness.py`` runs per checkpoint -- the config
  with ``test_cfg=dict(type='RobustnessTestLoop')``, ``Runner.from_cfg``,
  checkpoint load, then one pass of the test dataloader per (seed, ratio):
  default 11 ratios x 3 seeds;
* loop: the passes only (``seconds`` in the loop's results);
* plain forward: one pass of the bare model over the unmasked test set
  (``model(inputs, mode='tensor')`` in batches, no data samples, no
  metric), the floor for one evaluation (the faster of one measurement
  before and one after the timed run);
* masking only: drawing and applying the masks to the whole test set for
  every (seed, ratio), batch by batch with the masker family
  (``build_masker(...)(inputs, ids)``, as the loop does), against the
  pipeline transforms (``RandomMasking``/``WindowMasking``) run on
  batches of one sample, for reference.

This is a benchmark, not a test. Target: total under 60 s.

    python benchmarks/masking_speed.py [--masker random] [--ratios 0:1:0.1]
        [--seeds 3] [--num-samples 686] [--batch-size B] [--threads N]
        [--out result.json]
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import datasets as hf  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from normtr_plugin.datasets import (feature_schema,  # noqa: E402
                                    save_feature_dataset)
from mmengine.runner import Runner  # noqa: E402

from normtr_plugin.datasets.transforms.test_time_masking import (  # noqa
    RandomMasking, WindowMasking)
from normtr_plugin.engine import (load_checkpoint_safely,  # noqa: E402
                                  load_config, write_json)
from normtr_plugin.evaluation import parse_ratios, parse_seeds  # noqa: E402
from normtr_plugin.registry import MODELS, build_in_scope  # noqa: E402
from normtr_plugin.structures.maskers import build_masker  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'normtr_mosi.py')
MODALITIES = dict(audio=5, video=20, text=768)
SEQ_LEN = 50
TARGET_S = 60.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--masker', default='random',
                        choices=['random', 'window'])
    parser.add_argument('--ratios', default='0:1:0.1')
    parser.add_argument('--seeds', default='3')
    parser.add_argument('--num-samples', type=int, default=686)
    parser.add_argument('--batch-size', type=int,
                        help="default: the config's test batch size")
    parser.add_argument('--threads', type=int,
                        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument('--out', help='write the timings as JSON')
    return parser.parse_args()


def write_data(root: str, n: int) -> str:
    rng = np.random.default_rng(0)
    cols = {'id': [f'bench_{i:05d}' for i in range(n)],
            'label': rng.uniform(-3, 3, n).astype(np.float32)}
    for m, d in MODALITIES.items():
        cols[m] = rng.standard_normal((n, SEQ_LEN, d)).astype(np.float32)
    features = feature_schema(MODALITIES, {'label': hf.Value('float32')})
    return save_feature_dataset({'test': cols}, root, features)


def save_random_checkpoint(data_root: str, path: str) -> None:
    cfg = load_config(CONFIG, dict(data_root=data_root))
    torch.manual_seed(0)
    model = build_in_scope(MODELS, cfg.model.to_dict())
    model.init_weights()
    torch.save(dict(meta=dict(note='random init (benchmark)'),
                    state_dict=model.state_dict()), path)


def time_plain_forward(data_root, ckpt, n, batch_size, repeats=2):
    """Seconds per bare forward pass over n samples (median of repeats)."""
    cfg = load_config(CONFIG, dict(data_root=data_root))
    model = build_in_scope(MODELS, cfg.model.to_dict())
    model.load_state_dict(load_checkpoint_safely(ckpt)['state_dict'])
    model.eval()
    batch_size = batch_size or cfg.test_dataloader.batch_size
    rng = np.random.default_rng(2)
    inputs = {m: torch.from_numpy(rng.standard_normal(
        (n, SEQ_LEN, d)).astype(np.float32)) for m, d in MODALITIES.items()}
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            t0 = time.perf_counter()
            for s in range(0, n, batch_size):
                model({m: x[s:s + batch_size] for m, x in inputs.items()},
                      mode='tensor')
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def time_masking_only(n, ratios, seeds, masker, batch_size=64):
    """Batch masking of the whole set vs. per-sample transforms."""
    rng = np.random.default_rng(1)
    inputs = {m: torch.from_numpy(rng.standard_normal(
        (n, SEQ_LEN, d)).astype(np.float32)) for m, d in MODALITIES.items()}
    ids = [f'bench_{i:05d}' for i in range(n)]
    t0 = time.perf_counter()
    for seed in seeds:
        for r in ratios:
            masks = build_masker(masker, r, seed)
            for s in range(0, n, batch_size):
                masks({m: x[s:s + batch_size] for m, x in inputs.items()},
                      ids[s:s + batch_size])
    vectorised = time.perf_counter() - t0
    cls = RandomMasking if masker == 'random' else WindowMasking
    one = torch.full((1, len(MODALITIES)), SEQ_LEN)
    samples = [dict({m: inputs[m][i:i + 1] for m in MODALITIES},
                    ids=[f'bench_{i:05d}'], lengths=one,
                    modalities=list(MODALITIES)) for i in range(n)]
    t0 = time.perf_counter()
    for seed in seeds:
        for r in ratios:
            t = cls(r, seed=seed)
            for sample in samples:  # the transform on batches of one
                t(dict(sample))
    per_sample = time.perf_counter() - t0
    return vectorised, per_sample


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ratios, seeds = parse_ratios(args.ratios), parse_seeds(args.seeds)
    hf.disable_progress_bars()
    load_before = os.getloadavg()[0]  # other processes share the cores
    with tempfile.TemporaryDirectory(prefix='masking_speed_') as tmp:
        data_root = write_data(osp.join(tmp, 'mosi'), args.num_samples)
        ckpt = osp.join(tmp, 'random_init.pth')
        save_random_checkpoint(data_root, ckpt)
        plain = time_plain_forward(data_root, ckpt, args.num_samples,
                                   args.batch_size)
        t0 = time.perf_counter()
        cfg = load_config(CONFIG, dict(data_root=data_root),
                          osp.join(tmp, 'work'))
        cfg.test_cfg = dict(type='RobustnessTestLoop', ratios=ratios,
                            seeds=seeds, masker=args.masker)
        cfg.load_from = ckpt
        if args.batch_size:
            cfg.test_dataloader.batch_size = args.batch_size
        runner = Runner.from_cfg(cfg)
        runner.test()
        result = runner.test_loop.results
        total = time.perf_counter() - t0
        plain = min(plain, time_plain_forward(  # before and after: min
            data_root, ckpt, args.num_samples, args.batch_size))
    batch_size = args.batch_size or load_config(
        CONFIG).test_dataloader.batch_size
    vectorised, per_sample = time_masking_only(args.num_samples, ratios,
                                               seeds, args.masker, batch_size)
    runs = len(ratios) * len(seeds)
    evals = result['evaluations']
    summary = dict(
        config=osp.relpath(CONFIG, REPO), masker=args.masker,
        num_samples=args.num_samples, seq_len=SEQ_LEN, modalities=MODALITIES,
        ratios=ratios, seeds=seeds, runs=runs, forward_evaluations=evals,
        batch_size=batch_size, threads=torch.get_num_threads(),
        device='cpu', torch=torch.__version__,
        total_s=round(total, 2), loop_s=result['seconds'],
        per_forward_evaluation_s=round(result['seconds'] / evals, 3),
        samples_per_s=round(evals * args.num_samples / result['seconds'], 1),
        plain_forward_per_evaluation_s=round(plain, 3),
        plain_forward_floor_s=round(plain * evals, 2),
        masking_only_batches_s=round(vectorised, 3),
        masking_only_per_sample_transforms_s=round(per_sample, 3),
        load_average_1min=[round(load_before, 2),
                           round(os.getloadavg()[0], 2)],
        target_s=TARGET_S, met=total < TARGET_S)
    print(f"{runs} (seed, ratio) runs, {evals} forward evaluations of "
          f"{args.num_samples} samples ({runs - evals} reused: identical "
          f"masks), {summary['threads']} threads, 1-min load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"total {summary['total_s']:.1f} s (loop {summary['loop_s']:.1f} "
          f"s, {summary['per_forward_evaluation_s']:.2f} s per evaluation, "
          f"{summary['samples_per_s']:.0f} samples/s); target < "
          f"{TARGET_S:.0f} s: {'met' if summary['met'] else 'MISSED'}")
    print(f'plain forward over the set: {plain:.2f} s -> floor for '
          f"{evals} evaluations {summary['plain_forward_floor_s']:.1f} s")
    print(f'masking only ({runs} runs over the whole set): in batches '
          f'{vectorised:.3f} s, per-sample transforms {per_sample:.2f} s')
    if args.out:
        write_json(args.out, summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
