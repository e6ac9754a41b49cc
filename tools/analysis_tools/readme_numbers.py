"""The README's measured numbers, from fresh runs, in one place.

    python tools/analysis_tools/readme_numbers.py [--only demo mmmo]
        [--mmmo-h5 DIR] [--work-dir DIR]
    python tools/analysis_tools/readme_numbers.py --render-only
    python tools/analysis_tools/readme_numbers.py --check

Runs (from the repository root, ``OMP_NUM_THREADS=1`` in every child):

- ``demo``: ``tools/train.py configs/normtr_demo.py`` (seed 0, the
  default synthetic data), its test metrics per emotion;
- ``mmmo``: ``tools/convert_dataset.py cmu-h5`` of ``--mmmo-h5`` (default
  ``$MMMO_H5``, else ``../shared/data/mmmo``), then ``tools/train.py
  configs/normtr_mmmo.py`` for seeds 0-2 and each model selection.

writes ``docs/numbers.json`` (every run's command and test metrics) and
rewrites the README regions ``<!-- numbers:NAME -->`` ...
``<!-- /numbers:NAME -->`` from it. ``--render-only`` re-renders the README
from ``docs/numbers.json`` without running anything; ``--check`` exits 1
when the README differs from what ``docs/numbers.json`` renders.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from normtr_plugin.utils.atomic import write_json, write_text  # noqa: E402

README = osp.join(ROOT, 'README.md')
NUMBERS = osp.join(ROOT, 'docs', 'numbers.json')
EMOTIONS = ('Neutral', 'Happy', 'Sad', 'Angry')
SEEDS = (0, 1, 2)
# model selection name -> --cfg-options (configs/normtr_mmmo.py: best, no EMA)
SELECTIONS = {
    'best on validation (default)': [],
    'last epoch': ['model_selection.by=last'],
    'EMA (momentum 0.02), last epoch': [
        'model_selection.by=last', 'model_selection.ema=True',
        'model_selection.ema_momentum=0.02'],
    'EMA (momentum 0.02), best on validation': [
        'model_selection.ema=True', 'model_selection.ema_momentum=0.02'],
}
DEFAULT_SELECTION = 'best on validation (default)'
# Reference rows quoted from ../shared/data/README.md (not run here).
MMMO_REFERENCES = [
    ('always the training mean (`../shared/data/README.md`)', '1.36', '-'),
    ('ridge on mean/std-pooled audio + video (same README)', '1.16', '0.39'),
]
REGION = re.compile(r'(<!-- numbers:(?P<name>[\w-]+) -->\n)(?P<body>.*?)'
                    r'(<!-- /numbers:(?P=name) -->)', re.S)


def run(cmd, log_path):
    """Run ``cmd`` from the repository root; returns its wall time (s)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    start = time.time()
    with open(log_path, 'w') as log:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    if code:
        sys.exit(f'readme_numbers.py: error: {" ".join(cmd)} failed '
                 f'({code}); see {log_path}')
    return time.time() - start


def train(config, work_dir, options, work_root):
    """``tools/train.py`` once; returns the command (paths relative to the
    repository, or to ``$WORK_DIR`` = ``--work-dir`` outside it), wall time
    and test metrics (``test_metrics.json``)."""
    os.makedirs(work_dir, exist_ok=True)
    cmd = ['tools/train.py', config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options', *options]
    # fresh runs: an earlier run in work_dir is replaced (--overwrite does
    # not change the result, so the recorded command leaves it out)
    secs = run([sys.executable, *cmd, '--overwrite'],
               osp.join(work_dir, 'run.log'))
    from normtr_plugin.engine import read_metrics
    metrics, _ = read_metrics(osp.join(work_dir, 'test_metrics.json'))
    return dict(command=recorded(cmd, work_root), seconds=round(secs, 1),
                metrics={k: v for k, v in metrics.items()
                         if not k.startswith('invariance/')})


def recorded(cmd, work_root) -> str:
    """``cmd`` as recorded: paths relative to the repository, or to
    ``$WORK_DIR`` (``work_root``) outside it; no local paths."""
    return 'python ' + ' '.join(cmd).replace(ROOT + os.sep, '').replace(
        osp.abspath(work_root), '$WORK_DIR')


def slug(name: str) -> str:
    """A folder name for a row name (``w/o noise-aware`` -> ``wo_noise_aware``)."""
    return re.sub(r'[^0-9a-z]+', '_', name.lower().replace('/', '')).strip('_')


def default_mmmo_h5() -> str:
    return os.environ.get('MMMO_H5', osp.join(ROOT, '..', 'shared', 'data',
                                              'mmmo'))


def mmmo_data(args) -> str:
    """The converted MMMO folder in the work dir (converted once)."""
    data = osp.join(args.work_dir, 'data', 'mmmo')
    if not osp.isdir(data):
        os.makedirs(args.work_dir, exist_ok=True)
        run([sys.executable, 'tools/convert_dataset.py', 'cmu-h5',
             args.mmmo_h5, '--out', data, '--no-progress'],
            osp.join(args.work_dir, 'convert_mmmo.log'))
    return data


def measure_demo(args):
    return train('configs/normtr_demo.py',
                 osp.join(args.work_dir, 'demo'), [], args.work_dir)


def measure_mmmo(args):
    data = mmmo_data(args)
    runs = {}
    for i, (name, options) in enumerate(SELECTIONS.items()):
        runs[name] = [train('configs/normtr_mmmo.py', osp.join(
            args.work_dir, 'mmmo', f'sel{i}', f'seed{seed}'),
            [f'data_root={data}', f'randomness.seed={seed}', *options],
            args.work_dir)
            for seed in SEEDS]
    return runs


def render_demo(demo):
    m = demo['metrics']
    rows = ['| emotion | Acc-2 | F1 |', '|---|---|---|']
    rows += [f"| {e} | {m[f'Acc-2_{e}']:.2f} | {m[f'F1_{e}']:.2f} |"
             for e in EMOTIONS]
    rows.append(f"| **mean** | **{m['Acc-2_mean']:.2f}** | "
                f"**{m['F1_mean']:.2f}** |")
    return '\n'.join(rows) + '\n'


def render_mmmo(mmmo):
    rows = ['| model | MAE | Corr |', '|---|---|---|']
    rows += [f'| {name} | {mae} | {corr} |'
             for name, mae, corr in MMMO_REFERENCES]
    for seed, one in zip(SEEDS, mmmo[DEFAULT_SELECTION]):
        m = one['metrics']
        corr = '-' if m['Corr'] is None else f"{m['Corr']:.3f}"
        rows.append(f"| NORM-TR, seed {seed} | {m['MAE']:.3f} | {corr} |")
    return '\n'.join(rows) + '\n'


def _mean_std(values):
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return mean, std


def render_mmmo_selection(mmmo):
    rows = ['| selection | ' + ' | '.join(f'seed {s}' for s in SEEDS) +
            ' | mean ± std |', '|---|' + '---|' * (len(SEEDS) + 1)]
    for name in SELECTIONS:
        maes = [one['metrics']['MAE'] for one in mmmo[name]]
        mean, std = _mean_std(maes)
        cells = [f'{v:.3f}' for v in maes] + [f'{mean:.3f} ± {std:.3f}']
        if name == DEFAULT_SELECTION:
            cells[-1] = f'**{cells[-1]}**'
        rows.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows) + '\n'


def _cell(values, fmt='.3f'):
    mean, std = _mean_std(values)
    return f'{mean:{fmt}} ± {std:{fmt}}'


def render_comparison(comparison):
    """Issue 19's tuned comparison (``real_data_comparison.py``)."""
    variants = comparison.get('variants', comparison)
    auilc = all('auilc' in r for v in variants.values() for r in v['runs'])
    head = ['model', 'CV MAE (best trial)', 'test MAE', 'test Corr']
    if auilc:
        head += ['AUILC MAE random', 'AUILC MAE window']
    rows = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for name, v in variants.items():
        runs = v['runs']
        cells = [name, f"{v['tune']['best']['MAE']:.3f}",
                 _cell([r['metrics']['MAE'] for r in runs]),
                 _cell([r['metrics']['Corr'] or 0.0 for r in runs])]
        if auilc:
            cells += [_cell([r['auilc'][m]['MAE'] for r in runs])
                      for m in ('random', 'window')]
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows) + '\n'


def render_tuned_params(comparison):
    """The best parameters each variant's study found."""
    rows = []
    for name, v in comparison['variants'].items():
        t = v['tune']
        params = ', '.join(f'`{k}`={val}' for k, val in t['best'].items()
                           if k not in ('trial', 'state', 'MAE', 'epoch'))
        rows.append(f"- **{name}** ({t['best']['trial']} of {t['trials']}, "
                    f"{t['pruned']} pruned, {t['seconds'] / 60:.0f} min): "
                    f"{params}")
    return '\n'.join(rows) + '\n'


# README region -> (entry of numbers.json, renderer)
REGIONS = {'demo': ('demo', render_demo), 'mmmo': ('mmmo', render_mmmo),
           'mmmo_selection': ('mmmo', render_mmmo_selection),
           'mmmo_comparison': ('comparison', render_comparison),
           'mmmo_tuned_params': ('comparison', render_tuned_params)}
#: the files whose numbers regions are rendered from docs/numbers.json
RENDERED = (README, osp.join(ROOT, 'docs', 'real_data.md'))
MEASURE = {'demo': measure_demo, 'mmmo': measure_mmmo}


def render(text: str, numbers: dict) -> str:
    """``text`` with every numbers region re-rendered from ``numbers``."""
    def fill(match):
        name = match['name']
        if name not in REGIONS:
            raise KeyError(f'README region numbers:{name} has no renderer; '
                           f'known: {sorted(REGIONS)}')
        entry, renderer = REGIONS[name]
        if entry not in numbers:
            raise KeyError(f'{NUMBERS} has no {entry!r} entry for README '
                           f'region numbers:{name}')
        return match.group(1) + renderer(numbers[entry]['runs']) + \
            match.group(4)
    return REGION.sub(fill, text)


def render_file(path: str, numbers: dict, check: bool = False) -> bool:
    """Re-render ``path``'s regions; with ``check`` only tell whether it
    already agrees. Returns whether it agrees (or now does)."""
    if not osp.isfile(path):
        return True
    with open(path) as f:
        text = f.read()
    rendered = render(text, numbers)
    if rendered == text:
        return True
    if not check:
        write_text(path, rendered)
    return not check


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='+', choices=sorted(MEASURE),
                        default=sorted(MEASURE), help='runs to redo')
    parser.add_argument('--mmmo-h5', default=default_mmmo_h5(),
                        help='the MMMO CMU-SDK HDF5 folder')
    parser.add_argument('--work-dir', default=osp.join(
        ROOT, 'work_dirs', 'readme_numbers'))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--render-only', action='store_true',
                      help='re-render README.md from docs/numbers.json')
    mode.add_argument('--check', action='store_true',
                      help='exit 1 if README.md differs from the rendering')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with open(NUMBERS) as f:
        numbers = json.load(f)
    if not (args.render_only or args.check):
        for name in args.only:
            print(f'measuring {name} ...', flush=True)
            numbers[name] = dict(
                date=time.strftime('%Y-%m-%d', time.gmtime()),
                runs=MEASURE[name](args))
        write_json(NUMBERS, numbers, indent=1)
    agree = [render_file(path, numbers, check=args.check)
             for path in RENDERED]
    names = ', '.join(osp.relpath(p, ROOT) for p in RENDERED)
    if args.check:
        if not all(agree):
            sys.exit(f'readme_numbers.py: {names} differ from '
                     'docs/numbers.json; run with --render-only')
        print(f'{names} agree with docs/numbers.json')
        return
    print(f'{names} rendered from {osp.relpath(NUMBERS, ROOT)}')

if __name__ == '__main__':
    from normtr_plugin.utils.errors import run_tool
    run_tool(main)
