"""Wall time of the demo, end to end, and where it goes.

    python benchmarks/demo_wall_time.py [--profile] [--top 25]
        [--config configs/normtr_demo.py] [--cfg-options k=v ...]
        [--out result.json]

Runs ``python tools/train.py CONFIG --work-dir TMP`` (training, validation
every epoch, the test of the selected checkpoint) in a child process from
the repository root with ``OMP_NUM_THREADS`` (default 1) and prints its wall
time, the 1-minute load average before and after (other jobs on the machine
make the figure an upper bound) and whether the synthetic data had to be
generated first. Target: < 30 s on an idle 2-core machine. ``--profile``
runs the same command a second time under cProfile and prints the
``--top`` entries by cumulative and by own time.
"""
import argparse
import json
import os
import os.path as osp
import pstats
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/normtr_demo.py')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--top', type=int, default=25)
    parser.add_argument('--out', help='write the figures as JSON')
    return parser.parse_args(argv)


def train_once(args, work_dir, profile=None):
    """One ``tools/train.py`` run; returns (seconds, its output)."""
    cmd = [sys.executable]
    if profile:
        cmd += ['-m', 'cProfile', '-o', profile]
    cmd += ['tools/train.py', args.config, '--work-dir', work_dir]
    if args.cfg_options:
        cmd += ['--cfg-options', *args.cfg_options]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               PYTHONPATH=ROOT)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, text=True,
                          capture_output=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f'demo_wall_time.py: error: {" ".join(cmd)} failed '
                 f'({proc.returncode}):\n{proc.stderr[-2000:]}')
    return seconds, proc.stdout + proc.stderr


def top_entries(profile, top):
    """The ``top`` functions by cumulative and by own time, as text."""
    lines = []
    for key in ('cumulative', 'tottime'):
        stream = _Lines()
        stats = pstats.Stats(profile, stream=stream)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        lines += [f'--- top {top} by {key} time ---', stream.text()]
    return '\n'.join(lines)


class _Lines:
    """A write-only text stream for ``pstats``."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def text(self):
        return ''.join(self.parts)


def main(argv=None):
    args = parse_args(argv)
    result = dict(config=args.config, cfg_options=args.cfg_options,
                  threads=args.threads, load_before=os.getloadavg()[0])
    with tempfile.TemporaryDirectory() as tmp:
        data = osp.join(ROOT, 'data', 'synthetic_iemocap')
        result['data_generated'] = not osp.isdir(data)
        seconds, output = train_once(args, osp.join(tmp, 'run'))
        result['seconds'] = round(seconds, 2)
        result['load_after'] = os.getloadavg()[0]
        print(f'{args.config}: {seconds:.1f} s wall (train, validate, '
              f'test; OMP_NUM_THREADS={args.threads}); 1-min load '
              f"{result['load_before']:.2f} before, "
              f"{result['load_after']:.2f} after"
              + ('; the synthetic data was generated first'
                 if result['data_generated'] else ''))
        if args.profile:
            profile = osp.join(tmp, 'train.prof')
            seconds, _ = train_once(args, osp.join(tmp, 'profiled'),
                                    profile)
            result['profiled_seconds'] = round(seconds, 2)
            print(f'under cProfile: {seconds:.1f} s')
            print(top_entries(profile, args.top))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
