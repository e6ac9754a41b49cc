"""Speed of feature extraction with and without DataLoader workers.

Generates ``--clips`` synthetic clips (MJPG video at 320x240, 25 fps, and a
16 kHz WAV, ``--seconds`` long each) and a manifest, then times:

* decode: ``MediaDataset`` through ``media_loader`` (OpenCV decoding, the
  log-mel spectrogram, resize/crop/normalise) -- what the workers run;
* extract: ``extract_features`` end to end (decode + a randomly initialised
  ResNet-18 on the CPU + writing the dataset),

for each ``--workers`` value, and checks that the features do not depend
on the number of workers. This is a benchmark, not a test.

    python benchmarks/extraction_speed.py [--clips 24] [--seconds 3]
        [--workers 0 2] [--image-size 224] [--out result.json]
"""
import argparse
import csv
import os
import os.path as osp
import sys
import tempfile
import time
import warnings

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from normtr_plugin.extraction import build_backbone  # noqa: E402
from normtr_plugin.extraction import extract_features, read_manifest  # noqa
from normtr_plugin.extraction.media_dataset import (  # noqa: E402
    MediaDataset, media_loader)
from normtr_plugin.utils import write_json  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--clips', type=int, default=24)
    p.add_argument('--seconds', type=float, default=3.0)
    p.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--segments', type=int, default=8)
    p.add_argument('--out', help='write the timings as JSON')
    return p.parse_args()


def write_media(root: str, clips: int, seconds: float) -> str:
    import cv2
    from scipy.io import wavfile
    rng = np.random.default_rng(0)
    rows = []
    for i in range(clips):
        video = osp.join(root, f'c{i}.avi')
        out = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 25,
                              (320, 240))
        for _ in range(int(25 * seconds)):
            out.write(rng.integers(0, 255, (240, 320, 3), np.uint8))
        out.release()
        sr = 16000
        wav = (0.3 * rng.standard_normal(int(sr * seconds)) * 32767)
        wavfile.write(osp.join(root, f'c{i}.wav'), sr, wav.astype(np.int16))
        split = 'train' if i < clips * 0.8 else 'test'
        rows.append([f'c{i}', split, ['a', 'b'][i % 2], f'c{i}.avi',
                     f'c{i}.wav'])
    path = osp.join(root, 'manifest.csv')
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['id', 'split', 'label', 'video', 'audio'])
        w.writerows(rows)
    return path


def time_decode(manifest, workers, image_size, segments) -> float:
    man = read_manifest(manifest)
    net = build_backbone(image_size=image_size)
    samples = [s for split in man.splits.values() for s in split]
    dataset = MediaDataset(samples, man.modalities, net.preprocess,
                           segments)
    t0 = time.perf_counter()
    for item in media_loader(dataset, workers):
        assert item['error'] is None
    return time.perf_counter() - t0


def main():
    args = parse_args()
    warnings.simplefilter('ignore')
    load = [round(os.getloadavg()[0], 2)]
    rows, features = [], {}
    with tempfile.TemporaryDirectory(prefix='extraction_speed_') as tmp:
        manifest = write_media(tmp, args.clips, args.seconds)
        for workers in args.workers:
            decode = time_decode(manifest, workers, args.image_size,
                                 args.segments)
            out = osp.join(tmp, f'out_w{workers}')
            t0 = time.perf_counter()
            extract_features(manifest, out, segments=args.segments,
                             image_size=args.image_size, progress=False,
                             workers=workers)
            total = time.perf_counter() - t0
            import datasets as hf
            features[workers] = np.asarray(
                hf.load_from_disk(out)['train']['video'], np.float32)
            rows.append(dict(workers=workers, decode_s=round(decode, 2),
                             decode_clips_per_s=round(args.clips / decode,
                                                      2),
                             extract_s=round(total, 2),
                             extract_clips_per_s=round(args.clips / total,
                                                       2)))
            print(rows[-1], flush=True)
    load.append(round(os.getloadavg()[0], 2))
    base = rows[0]
    for row in rows:
        row['decode_speedup'] = round(base['decode_s'] / row['decode_s'], 2)
        row['extract_speedup'] = round(base['extract_s'] / row['extract_s'],
                                       2)
    same = all(np.array_equal(features[args.workers[0]], f)
               for f in features.values())
    summary = dict(clips=args.clips, seconds=args.seconds,
                   resolution='320x240', image_size=args.image_size,
                   segments=args.segments, cpu_count=os.cpu_count(),
                   torch_threads=torch.get_num_threads(),
                   load_average_1min=load, runs=rows,
                   features_identical_across_workers=same)
    for row in rows:
        print(f"workers {row['workers']}: decode {row['decode_s']:.1f} s "
              f"({row['decode_speedup']:.2f}x), extract "
              f"{row['extract_s']:.1f} s ({row['extract_speedup']:.2f}x, "
              f"{row['extract_clips_per_s']:.2f} clips/s)")
    print(f'features identical across workers: {same}; 1-min load '
          f'average {load[0]} before, {load[1]} after, '
          f'{os.cpu_count()} cores')
    if args.out:
        write_json(args.out, summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
