"""Training throughput: mmengine Runner path vs. a plain PyTorch loop.

Same model (``configs/normtr_mosi.py``, modalities audio=74, video=35,
text=768, T = 50, regression head), Adam lr 1e-4, same seed, at each batch
size of ``--batch`` (default 16 and 128), on ``--device`` (cpu or cuda).

* runner: ``Runner.from_cfg`` of the config as ``NormTRRunner`` prepares it + ``runner.train()`` over a
  synthetic dataset written in the project's format (HF ``DatasetDict``
  saved with ``save_to_disk``) to a temporary folder. No validation or
  test, checkpoint hook off, logger interval huge. Everything the Runner
  does per iteration is timed: data loading (sampler, ``__getitems__``
  with the batch pipeline, ``multimodal_collate``, pinning on a GPU),
  hooks, ``train_step`` (data preprocessor with its non-blocking copy,
  forward, ``parse_losses``, optimizer wrapper) and the param scheduler.
  ``--resident`` keeps the training split on the device
  (``dataset.resident``); ``--compile MODE`` sets the config's
  ``compile=dict(mode=MODE)`` (mmengine compiles ``train_step``).
* plain: ``MODELS.build`` of the same model config, batches pre-stacked
  ON THE DEVICE (``{m: (B, T, N_m)}`` tensor slices plus one batched
  ``BaseDataElement(gt_label=...)`` each), then
  ``model(inputs, data_samples, 'loss')`` / sum of losses /
  ``zero_grad`` / ``backward`` / ``step``; with ``--compile MODE`` that
  step runs under ``torch.compile(mode=MODE)``.

Both are timed over the steady-state iterations only: a timestamp is taken
at the end of every iteration (for the Runner by a lowest-priority
``after_train_iter`` hook), the first ``--warmup`` iterations are dropped.
Runs alternate (plain, runner, plain, runner, ...), or with
``--interleave`` each Runner iteration is followed by one plain step in
the same process (timed apart, left out of the Runner's time), so both see
the same machine state; the median of each is reported: ``ratio`` from samples/s (total time), ``ratio~`` from the
median iteration time (robust to one-off stalls of a shared machine). For the Runner a per-phase breakdown is printed too, from a
highest- and a lowest-priority hook:

    data          end of iter i-1 (last after_train_iter hook) -> first
                  before_train_iter hook of iter i: dataloader ``next``
    before_hooks  first -> last before_train_iter hook
    train_step    last before_train_iter hook -> first after_train_iter hook
    after_hooks   first -> last after_train_iter hook

Epoch boundaries (``after_train_epoch``/``before_train_epoch`` hooks, a new
dataloader iterator) fall into ``data`` of the first iteration of an epoch.

    python benchmarks/runner_throughput.py [--device cuda] [--batch 16 128]
        [--num-samples 1600] [--epochs 1] [--warmup 10] [--repeats 3]
        [--resident] [--compile MODE] [--threads N] [--profile] [--out X]

On CUDA every per-iteration timestamp follows a ``torch.cuda.synchronize``
(the plain loop's and the Runner's alike), so the figures are wall time of
finished steps.
"""
import argparse
import cProfile
import io
import itertools
import os
import os.path as osp
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np
import torch

# synthetic local data only: never wait on Hub retries
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'normtr_mosi.py')
MODALITIES = dict(audio=74, video=35, text=768)
SEQ_LEN = 50
LR = 1e-4
SEED = 0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--batch', type=int, nargs='+', default=[16, 128],
                   help='batch sizes to sweep')
    p.add_argument('--resident', action='store_true',
                   help='Runner path: keep the training split on the device')
    p.add_argument('--compile', metavar='MODE',
                   help="torch.compile mode for both paths, e.g. "
                   "'default', 'reduce-overhead', 'max-autotune'")
    p.add_argument('--num-samples', type=int, default=1600,
                   help='training samples in the synthetic dataset')
    p.add_argument('--epochs', type=int, default=1,
                   help='Runner epochs; the plain loop runs as many '
                   'iterations (epochs * ceil(num_samples / batch))')
    p.add_argument('--warmup', type=int, default=10,
                   help='iterations excluded from the timing')
    p.add_argument('--repeats', type=int, default=3,
                   help='alternating (plain, runner) pairs; medians reported')
    p.add_argument('--interleave', action='store_true',
                   help='one plain step after every Runner iteration, in '
                   'the same process, instead of alternating whole runs: '
                   'both see the same machine state (a shared machine)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch.set_num_threads (default: all cores)')
    p.add_argument('--profile', action='store_true',
                   help='also run the Runner path once under cProfile and '
                   'print the top functions')
    p.add_argument('--profile-top', type=int, default=30)
    p.add_argument('--out', help='write the results as JSON here')
    p.add_argument('--keep-data', help='write the dataset here and keep it '
                   '(default: a temporary folder, removed at the end)')
    args = p.parse_args()
    for batch in args.batch:
        iters = args.epochs * (args.num_samples // batch)
        if args.warmup < 1 or args.warmup >= iters - 1:
            p.error(f'--warmup must be in [1, {iters - 2}] for {iters} '
                    f'iters at batch {batch}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: no GPU visible')
    return args


# ---------------------------------------------------------------- data
def make_arrays(num_samples: int, seed: int = SEED) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {m: rng.standard_normal((num_samples, SEQ_LEN, d),
                                     dtype=np.float32)
              for m, d in MODALITIES.items()}
    arrays['label'] = rng.uniform(-3, 3, num_samples).astype(np.float32)
    return arrays


def write_dataset(arrays: Dict[str, np.ndarray], out_dir: str) -> None:
    """The project's format: DatasetDict(train=...) saved with save_to_disk."""
    import datasets as hf
    n = len(arrays['label'])
    features = hf.Features({
        'id': hf.Value('string'),
        **{m: hf.Array2D((None, d), 'float32')
           for m, d in MODALITIES.items()},
        'label': hf.Value('float32'),
    })
    columns = dict(id=[f'bench_{i:06d}' for i in range(n)],
                   **{m: arrays[m] for m in MODALITIES},
                   label=arrays['label'])
    hf.DatasetDict(train=hf.Dataset.from_dict(
        columns, features=features)).save_to_disk(out_dir)


# -------------------------------------------------------------- runner
def build_cfg(data_root: str, work_dir: str, epochs: int, name: str,
              batch: int, resident: str = None, compile_mode: str = None):
    from mmengine.config import Config
    from normtr_plugin.engine import merge_cfg_options, prepare_config
    options = dict(data_root=data_root)
    if resident:
        options['train_dataloader.dataset.resident'] = resident
    cfg = merge_cfg_options(Config.fromfile(CONFIG), options)
    cfg.work_dir = work_dir
    prepare_config(cfg)
    cfg.model.modalities = dict(MODALITIES)
    cfg.model.seq_len = SEQ_LEN
    cfg.train_dataloader.dataset.modalities = dict(MODALITIES)
    cfg.train_dataloader.batch_size = batch
    cfg.train_dataloader.drop_last = True  # every step the same shape
    if compile_mode:
        cfg.compile = dict(mode=compile_mode)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=10**9)
    for key in ('val_cfg', 'val_dataloader', 'val_evaluator', 'test_cfg',
                'test_dataloader', 'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 10**9
    cfg.optim_wrapper.optimizer.lr = LR
    cfg.randomness = dict(seed=SEED, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.experiment_name = name
    return cfg


def make_timing_hooks(record: Dict[str, List[float]], sync, between=None):
    from mmengine.hooks import Hook

    class First(Hook):  # HIGHEST: runs before every other hook
        priority = 'HIGHEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            record['before_first'].append(time.perf_counter())

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            sync()
            record['after_first'].append(time.perf_counter())

    class Last(Hook):  # LOWEST: runs after every other hook
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            record['before_last'].append(time.perf_counter())

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            record['after_last'].append(time.perf_counter())
            if between is not None:  # --interleave: one plain step here
                between()
            record['resume'].append(time.perf_counter())

        def before_train(self, runner):
            record['start'].append(time.perf_counter())

    return First(), Last()


def run_runner(data_root: str, epochs: int, warmup: int, threads: int,
               tag: str, batch: int, device: str, resident: bool = False,
               compile_mode: str = None, profile: bool = False,
               between=None) -> dict:
    """``between``: a plain step run (and left out of the Runner's time)
    after every Runner iteration (``--interleave``)."""
    from mmengine.runner import Runner
    record = {k: [] for k in ('start', 'before_first', 'before_last',
                              'after_first', 'after_last', 'resume')}
    work_dir = tempfile.mkdtemp(prefix='normtr-bench-work-')
    try:
        cfg = build_cfg(data_root, work_dir, epochs,
                        f'bench_{tag}_{os.getpid()}_{time.time_ns()}',
                        batch, device if resident else None, compile_mode)
        runner = Runner.from_cfg(cfg)
        torch.set_num_threads(threads)  # in case anything changed it
        first, last = make_timing_hooks(record, synchronizer(device),
                                        between)
        runner.register_hook(first)
        runner.register_hook(last)
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        runner.train()
        if prof:
            prof.disable()
        n_threads = torch.get_num_threads()
        del runner
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    # iteration i runs from the end of iteration i-1 (after any
    # interleaved plain step) to its last after_train_iter hook
    a_last = np.array(record['after_last'])
    resume = np.array(record['resume'])
    out = summarize_durations(a_last[warmup:] - resume[warmup - 1:-1], batch)
    out['threads'] = n_threads
    # Per-phase medians (ms) over the steady-state iterations.
    b_first = np.array(record['before_first'])
    b_last = np.array(record['before_last'])
    a_first = np.array(record['after_first'])
    s = slice(warmup, None)
    phases = dict(
        data=b_first[s] - resume[warmup - 1:-1],
        before_hooks=b_last[s] - b_first[s],
        train_step=a_first[s] - b_last[s],
        after_hooks=a_last[s] - a_first[s])
    out['phases_ms'] = {k: dict(median=1e3 * float(np.median(v)),
                                mean=1e3 * float(np.mean(v)))
                        for k, v in phases.items()}
    out['per_iter_ms'] = {k: [round(1e3 * x, 3) for x in v]
                          for k, v in phases.items()}
    if prof:
        out['profile'] = prof
    return out


# --------------------------------------------------------------- plain
def build_batches(arrays: Dict[str, np.ndarray], batch: int, device: str):
    """Whole batches, already on the device, in the model's batch form."""
    from mmengine.structures import BaseDataElement
    n = len(arrays['label'])
    tensors = {m: torch.from_numpy(arrays[m]).to(device) for m in MODALITIES}
    labels = torch.from_numpy(arrays['label']).to(device)
    lengths = torch.full((n, len(MODALITIES)), SEQ_LEN, device=device)
    batches = []
    for start in range(0, n - batch + 1, batch):
        sl = slice(start, start + batch)
        sample = BaseDataElement(gt_label=labels[sl], lengths=lengths[sl])
        sample.set_field([f'bench_{i:06d}' for i in range(start, sl.stop)],
                         'ids', field_type='metainfo')
        batches.append(({m: t[sl] for m, t in tensors.items()}, sample))
    return batches


def build_plain_model():
    from mmengine.logging import MMLogger
    from mmengine.runner import set_random_seed
    from mmengine.config import Config
    from normtr_plugin.registry import MODELS, build_in_scope
    model_cfg = Config.fromfile(CONFIG).model.copy()
    model_cfg.modalities = dict(MODALITIES)
    model_cfg.seq_len = SEQ_LEN
    set_random_seed(SEED)
    model = build_in_scope(MODELS, model_cfg)  # MODELS.build, plugin scope
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights reports every parameter
    try:
        model.init_weights()  # as Runner.train() does
    finally:
        logger.setLevel(level)
    return model


def plain_step(device: str, compile_mode: str = None):
    """The plain loop's training step on a freshly built model."""
    model = build_plain_model().to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step(inputs, data_samples):
        losses = model(inputs, data_samples, 'loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    return torch.compile(step, mode=compile_mode) if compile_mode else step


def interleaved_step(batches, device: str, compile_mode: str = None):
    """(``between`` for :func:`run_runner`, the plain durations): one
    plain step over the next batch per call, timed by itself."""
    step, sync = plain_step(device, compile_mode), synchronizer(device)
    durations, order = [], itertools.cycle(batches)

    def between():
        inputs, data_samples = next(order)
        start = time.perf_counter()
        step(inputs, data_samples)
        sync()
        durations.append(time.perf_counter() - start)

    return between, durations


def run_plain(batches, epochs: int, warmup: int, threads: int, batch: int,
              device: str, compile_mode: str = None,
              max_iters: int = None) -> dict:
    torch.set_num_threads(threads)
    step = plain_step(device, compile_mode)
    sync = synchronizer(device)
    stamps = []
    todo = [b for _ in range(epochs) for b in batches][:max_iters]
    for inputs, data_samples in todo:
        step(inputs, data_samples)
        sync()
        stamps.append(time.perf_counter())
    out = summarize(stamps, warmup, batch)
    out['threads'] = torch.get_num_threads()
    out['per_iter_ms'] = [round(1e3 * x, 3)
                          for x in np.diff(stamps[warmup - 1:])]
    return out


# ------------------------------------------------------------- helpers
def synchronizer(device: str):
    return torch.cuda.synchronize if device == 'cuda' else (lambda: None)


def summarize(stamps: List[float], warmup: int, batch: int) -> dict:
    return summarize_durations(np.diff(np.asarray(stamps[warmup - 1:])),
                               batch)


def summarize_durations(per_iter, batch: int) -> dict:
    n, elapsed = len(per_iter), float(np.sum(per_iter))
    return dict(iters=n, seconds=elapsed,
                ms_per_iter=1e3 * elapsed / n,
                ms_per_iter_median=1e3 * float(np.median(per_iter)),
                samples_per_s=n * batch / elapsed)


def print_profile(prof: cProfile.Profile, top: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    buf.write('\n== cProfile of runner.train(), by cumulative time ==\n')
    stats.sort_stats('cumulative').print_stats(top)
    buf.write('\n== by own (tot) time ==\n')
    stats.sort_stats('tottime').print_stats(top)
    text = buf.getvalue()
    print(text)
    return text


def write_json(path: str, payload: dict) -> None:
    """The project's one atomic writer (``normtr_plugin.utils``)."""
    from normtr_plugin.utils import write_json as atomic_write_json
    atomic_write_json(path, payload)


def measure(args, data_root, arrays, batch, threads) -> dict:
    """Alternating (plain, runner) pairs at one batch size; medians."""
    batches = build_batches(arrays, batch, args.device)
    # Untimed primer: the first training run in a fresh process is slower
    # (allocator, page faults, compilation) beyond the warm-up iters.
    run_plain(batches, args.epochs, 1, threads, batch, args.device,
              args.compile, max_iters=2 * args.warmup + 2)
    plain, runner = [], []
    for rep in range(args.repeats):
        if args.interleave:
            between, durations = interleaved_step(batches, args.device,
                                                  args.compile)
            r = run_runner(data_root, args.epochs, args.warmup, threads,
                           f'{batch}_{rep}', batch, args.device,
                           args.resident, args.compile, between=between)
            p = summarize_durations(np.asarray(durations[args.warmup:]),
                                    batch)
            plain.append(p)
            runner.append(r)
            print(f'  batch {batch} rep {rep} interleaved: plain '
                  f'{p["ms_per_iter"]:8.2f} runner {r["ms_per_iter"]:8.2f} '
                  'ms/iter', flush=True)
            continue
        r = run_plain(batches, args.epochs, args.warmup, threads, batch,
                      args.device, args.compile)
        plain.append(r)
        print(f'  batch {batch} rep {rep} plain : {r["samples_per_s"]:9.1f} '
              f'samples/s {r["ms_per_iter"]:8.2f} ms/iter', flush=True)
        r = run_runner(data_root, args.epochs, args.warmup, threads,
                       f'{batch}_{rep}', batch, args.device, args.resident,
                       args.compile)
        runner.append(r)
        print(f'  batch {batch} rep {rep} runner: {r["samples_per_s"]:9.1f} '
              f'samples/s {r["ms_per_iter"]:8.2f} ms/iter', flush=True)
    profile_text = None
    if args.profile:
        r = run_runner(data_root, args.epochs, args.warmup, threads,
                       'profile', batch, args.device, args.resident,
                       args.compile, profile=True)
        profile_text = print_profile(r.pop('profile'), args.profile_top)

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    phases = {k: statistics.median(r['phases_ms'][k]['mean'] for r in runner)
              for k in runner[0]['phases_ms']}
    out = dict(batch=batch, plain=plain, runner=runner, profile=profile_text,
               plain_samples_per_s=med(plain, 'samples_per_s'),
               runner_samples_per_s=med(runner, 'samples_per_s'),
               plain_ms_per_iter=med(plain, 'ms_per_iter'),
               runner_ms_per_iter=med(runner, 'ms_per_iter'),
               ratios_per_pair=[r['samples_per_s'] / p['samples_per_s']
                                for p, r in zip(plain, runner)],
               runner_phases_ms=phases)
    out['ratio'] = out['runner_samples_per_s'] / out['plain_samples_per_s']
    # robust to one-off stalls (GC, a neighbour's burst): median iteration
    out['ratio_median_iter'] = (med(plain, 'ms_per_iter_median')
                                / med(runner, 'ms_per_iter_median'))
    return out


def main():
    args = parse_args()
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    import normtr_plugin  # noqa: F401

    t0 = time.perf_counter()
    arrays = make_arrays(args.num_samples)
    data_parent = None
    if args.keep_data:
        data_root = args.keep_data
        if not osp.isdir(data_root):
            write_dataset(arrays, data_root)
    else:
        data_parent = tempfile.mkdtemp(prefix='normtr-bench-data-')
        data_root = osp.join(data_parent, 'mosi_shape')
        write_dataset(arrays, data_root)
    print(f'dataset: {args.num_samples} samples, T={SEQ_LEN}, dims '
          f'{MODALITIES}, written in {time.perf_counter() - t0:.1f}s; '
          f'device {args.device}, batches {args.batch}, compile '
          f'{args.compile}, resident {args.resident}, {threads} threads '
          f'(torch {torch.__version__})', flush=True)
    try:
        results = [measure(args, data_root, arrays, batch, threads)
                   for batch in args.batch]
    finally:
        if data_parent:
            shutil.rmtree(data_parent, ignore_errors=True)

    print()
    print(f'{"batch":>5s} {"plain/s":>10s} {"runner/s":>10s} {"ratio":>6s} '
          f'{"ratio~":>6s} {"plain ms":>9s} {"runner ms":>9s}  '
          'runner phases (ms)')
    for r in results:
        print(f'{r["batch"]:5d} {r["plain_samples_per_s"]:10.1f} '
              f'{r["runner_samples_per_s"]:10.1f} {r["ratio"]:6.3f} '
              f'{r["ratio_median_iter"]:6.3f} '
              f'{r["plain_ms_per_iter"]:9.2f} {r["runner_ms_per_iter"]:9.2f}'
              '  ' + ', '.join(f'{k} {v:.2f}'
                               for k, v in r['runner_phases_ms'].items()))
    if args.out:
        write_json(args.out, dict(
            config=dict(vars(args), threads=threads, seq_len=SEQ_LEN,
                        modalities=MODALITIES, torch=torch.__version__,
                        python=sys.version.split()[0],
                        gpu=torch.cuda.get_device_name()
                        if args.device == 'cuda' else None),
            results=results))
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
