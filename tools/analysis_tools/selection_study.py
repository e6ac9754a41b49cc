"""Issue 19, item 2: which model selection rule on a small set.

    python tools/analysis_tools/selection_study.py make MMMO_DIR --out DIR
        [--val-size 36] [--seed 0] [--overwrite]
    python tools/analysis_tools/selection_study.py run --three-class DIR
        --mmmo MMMO_DIR --work-dir DIR [--seeds 0 1 2] [--parts ...]

``make``: a 3-class set from a converted MMMO folder
(``tools/convert_dataset.py cmu-h5``). The 1-5 opinion scores of train +
validation pooled are binned at their tertiles (class 0: score <= e1,
1: e1 < score <= e2, 2: score > e2; the edges are recorded), a seeded,
class-stratified sample of ``--val-size`` pooled clips becomes the
validation split (MMMO has no speaker/video column: the ids are plain
indices, so the split cannot be group-disjoint), the rest trains; the test
split is kept, binned with the same edges. Written with the project's
``FeatureDatasetWriter``; ``three_class.json`` beside the splits records
the edges, class counts and the majority-class rate on test.

``run``: ``tools/train.py`` (``nice -n 10``, ``OMP_NUM_THREADS=1``) for
every seed and rule, test metrics collected; a run whose work folder
already has ``test_metrics.json`` is skipped, so the study resumes
(``--collect-only`` tabulates the finished runs and trains nothing).
Parts: ``three_class`` (configs/normtr_mmmo_3class.py; rules
best-on-validation, last epoch, cv with 5 folds) and ``mmmo``
(configs/normtr_mmmo.py; best-on-validation and cv with 5 folds). Writes
``WORK/selection_study.json`` and ``WORK/selection_study.md``.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

CLASS_NAMES = ('low', 'mid', 'high')
INFO_FILE = 'three_class.json'
CV = ['model_selection.by=cv', 'model_selection.folds=5']
# part -> (config, {rule: --cfg-options}, metrics reported)
PARTS = {
    'three_class': ('configs/normtr_mmmo_3class.py', {
        'best on validation': ['model_selection.by=best'],
        'last epoch': ['model_selection.by=last'],
        'cv (5 folds)': CV}, ('Acc-3', 'F1')),
    'mmmo': ('configs/normtr_mmmo.py', {
        'best on validation': ['model_selection.by=best'],
        'cv (5 folds)': CV}, ('MAE', 'Corr')),
}


# ---------------------------------------------------------------- make
def tertile_edges(scores) -> list:
    """The two tertile edges of ``scores``."""
    return [float(e) for e in np.quantile(np.asarray(scores, np.float64),
                                          [1 / 3, 2 / 3])]


def bin_scores(scores, edges) -> np.ndarray:
    """Class per score: 0 (<= e1), 1 (<= e2), 2 (above)."""
    return np.searchsorted(np.asarray(edges), np.asarray(scores, np.float64),
                           side='left').astype(np.int64)


def make(src: str, out: str, val_size: int = 36, seed: int = 0,
         overwrite: bool = False) -> dict:
    """Write the 3-class set (see the module doc); returns its record."""
    import datasets as hf
    from sklearn.model_selection import train_test_split

    from normtr_plugin.datasets.feature_format import (FeatureDatasetWriter,
                                                       load_feature_stats)
    from normtr_plugin.utils.errors import InputError, MissingFileError
    if not osp.isfile(osp.join(src, 'dataset_dict.json')):
        raise MissingFileError(f'{src}: not a converted dataset folder (no '
                               'dataset_dict.json); convert MMMO with '
                               'tools/convert_dataset.py cmu-h5 first')
    data = hf.load_from_disk(src)
    missing = {'train', 'validation', 'test'} - set(data)
    if missing:
        raise InputError(f'{src}: needs splits train, validation and test; '
                         f'missing {sorted(missing)}')
    modalities = {k: f.shape[1] for k, f in data['train'].features.items()
                  if isinstance(f, hf.Array2D)}
    for split in ('validation', 'test'):
        lost = set(modalities) - set(data[split].features)
        if lost:
            raise InputError(f"{src}: split '{split}' lacks modality "
                             f'{sorted(lost)} that train has')
    pool = hf.concatenate_datasets([
        data[s].select_columns(['id', *modalities, 'label'])
        for s in ('train', 'validation')])
    scores = np.asarray(pool['label'], np.float64)
    if len(pool) <= val_size + 3:
        raise InputError(f'{src}: {len(pool)} train + validation samples, '
                         f'too few for a {val_size}-sample validation split')
    edges = tertile_edges(scores)
    classes = bin_scores(scores, edges)
    if len(set(classes.tolist())) < 3:
        raise InputError(f'{src}: the tertile edges {edges} leave a class '
                         'empty (too few distinct scores)')
    train_idx, val_idx = train_test_split(
        np.arange(len(pool)), test_size=val_size, stratify=classes,
        random_state=seed)
    test_classes = bin_scores(data['test']['label'], edges)
    splits = {'train': (pool, np.sort(train_idx), classes),
              'validation': (pool, np.sort(val_idx), classes),
              'test': (data['test'], np.arange(len(data['test'])),
                       test_classes)}
    counts = {s: np.bincount(c[i], minlength=3).tolist()
              for s, (_, i, c) in splits.items()}
    majority = int(np.argmax(counts['train']))
    info = dict(source=src, edges=edges,
                rule='class 0: score <= e1; 1: e1 < score <= e2; 2: above',
                classes=list(CLASS_NAMES), counts=counts, seed=seed,
                val_size=val_size, majority_class=majority,
                majority_rate_test=100.0 * counts['test'][majority]
                / sum(counts['test']))
    labels = {'label': hf.ClassLabel(names=list(CLASS_NAMES))}
    with FeatureDatasetWriter(out, modalities, labels,
                              overwrite=overwrite) as writer:
        stats = load_feature_stats(src) or {}
        writer.padding = stats.get('padding')
        for name, (table, idx, cls) in splits.items():
            sub = table.select(idx.tolist())
            batch = {'id': sub['id'], 'label': cls[idx].tolist(),
                     **{m: [np.asarray(x, np.float32) for x in sub[m]]
                        for m in modalities}}
            writer.write_split(name, [batch], modalities=list(modalities))
        with open(osp.join(writer.tmp, INFO_FILE), 'w') as f:
            json.dump(info, f, indent=1)
        writer.finish(_card(info))
    return info


def _card(info: dict) -> str:
    return ('# MMMO, 3 classes (tools/analysis_tools/selection_study.py '
            'make)\n\nOpinion scores binned at the tertiles of train + '
            f'validation: edges {info["edges"]} ({info["rule"]}). Class '
            f'counts per split: {info["counts"]}. Majority class on test: '
            f'{info["majority_rate_test"]:.1f}%.\n')


# ---------------------------------------------------------------- run
def train_once(config, work, options, log=print, collect_only=False):
    """``tools/train.py`` unless ``work/test_metrics.json`` exists; the
    test metrics, the tested checkpoint's name and the wall time (None
    for an unfinished run with ``collect_only``)."""
    from normtr_plugin.engine import read_metrics
    path = osp.join(work, 'test_metrics.json')
    if not osp.isfile(path) and collect_only:
        return None
    if not osp.isfile(path):
        os.makedirs(work, exist_ok=True)
        cmd = ['nice', '-n', '10', sys.executable, 'tools/train.py', config,
               '--work-dir', work, '--overwrite', '--cfg-options', *options]
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
        start = time.time()
        with open(osp.join(work, 'run.log'), 'w') as f:
            code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=f,
                                   stderr=subprocess.STDOUT)
        if code:
            raise RuntimeError(f'{" ".join(cmd)} failed ({code}); see '
                               f'{work}/run.log')
        with open(osp.join(work, 'seconds.txt'), 'w') as f:
            f.write(f'{time.time() - start:.1f}\n')
        log(f'done {work} ({time.time() - start:.0f} s)')
    metrics, ckpt = read_metrics(path)
    secs = osp.join(work, 'seconds.txt')
    epoch = re.search(r'epoch_(\d+)', osp.basename(ckpt or ''))
    return dict(metrics={k: v for k, v in metrics.items()
                         if not k.startswith('invariance/')},
                checkpoint=osp.basename(ckpt) if ckpt else None,
                epoch=int(epoch.group(1)) if epoch else None,
                seconds=float(open(secs).read()) if osp.isfile(secs)
                else None)


def run(args) -> dict:
    """Every seed, part and rule (see the module doc); the result, also
    written to ``WORK/selection_study.json`` and ``.md`` after each run."""
    roots = dict(three_class=args.three_class, mmmo=args.mmmo)
    result = dict(seeds=list(args.seeds), parts={})
    info_file = osp.join(args.three_class or '', INFO_FILE)
    if args.three_class and osp.isfile(info_file):
        with open(info_file) as f:
            result['three_class'] = json.load(f)
    # seed-major order: every rule has the same seeds when stopped early
    for seed in args.seeds:
        for part in args.parts:
            config, rules, _ = PARTS[part]
            for i, (rule, options) in enumerate(rules.items()):
                work = osp.join(args.work_dir, part, f'rule{i}',
                                f'seed{seed}')
                one = train_once(config, work, [
                    f'data_root={roots[part]}', f'randomness.seed={seed}',
                    *options], collect_only=args.collect_only)
                if one is None:
                    continue
                result['parts'].setdefault(part, {}).setdefault(
                    rule, {})[str(seed)] = dict(
                    command='python tools/train.py ' + config + ' --work-dir'
                    f' $WORK_DIR/{part}/rule{i}/seed{seed} --cfg-options '
                    + ' '.join([f'data_root=$DATA_{part.upper()}',
                                f'randomness.seed={seed}', *options]),
                    **one)
                _write(args.work_dir, result)
    return result


def _write(work_dir, result) -> None:
    from normtr_plugin.utils.atomic import write_json, write_text
    write_json(osp.join(work_dir, 'selection_study.json'), result, indent=1)
    write_text(osp.join(work_dir, 'selection_study.md'), render(result))


def _cell(values) -> str:
    if not values:
        return '-'
    v = np.asarray(values, np.float64)
    sd = f' ± {v.std(ddof=1):.3g}' if len(v) > 1 else ''
    return f'{v.mean():.3f}{sd}' if abs(v.mean()) < 10 else \
        f'{v.mean():.1f}{sd}'


def render(result) -> str:
    """The markdown tables: test metrics as mean ± sample std over the
    finished seeds; for cv, the chosen epoch's metric over the folds
    (mean ± sample std) of each seed."""
    lines = []
    for part, rules in result['parts'].items():
        keys = PARTS[part][2]
        lines += [f'**{part}** ({PARTS[part][0]})', '',
                  '| rule | seeds | ' + ' | '.join(f'test {k}' for k in keys)
                  + ' | per seed | selected epoch | CV ' + keys[0]
                  + ' (folds, per seed) |',
                  '|---|---|' + '---|' * (len(keys) + 3)]
        for rule, runs in rules.items():
            seeds = sorted(runs, key=int)
            per = ', '.join(f'{runs[s]["metrics"][keys[0]]:.3g}'
                            for s in seeds)
            epochs = ', '.join(str(runs[s]['metrics'].get('cv_epoch')
                                   or runs[s]['epoch'] or 'last')
                               for s in seeds)
            spread = ', '.join(
                f'{m[f"cv_{keys[0]}_mean"]:.3g} ± '
                f'{m[f"cv_{keys[0]}_std"]:.2g}' for m in
                (runs[s]['metrics'] for s in seeds)
                if f'cv_{keys[0]}_mean' in m) or '-'
            lines.append(f'| {rule} | {len(seeds)} | ' + ' | '.join(
                _cell([runs[s]['metrics'][k] for s in seeds])
                for k in keys) + f' | {per} | {epochs} | {spread} |')
        if part == 'three_class' and 'three_class' in result:
            info = result['three_class']
            lines.append(f'| always the majority class (train) | - | '
                         f'{info["majority_rate_test"]:.1f} | - | - | - | - |')
        lines.append('')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='step', required=True)
    mk = sub.add_parser('make', help='write the 3-class set')
    mk.add_argument('src', help='a converted MMMO folder')
    mk.add_argument('--out', required=True)
    mk.add_argument('--val-size', type=int, default=36)
    mk.add_argument('--seed', type=int, default=0)
    mk.add_argument('--overwrite', action='store_true')
    rn = sub.add_parser('run', help='train every seed and rule')
    rn.add_argument('--three-class', help='the folder make wrote')
    rn.add_argument('--mmmo', help='the converted MMMO folder')
    rn.add_argument('--work-dir', required=True)
    rn.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    rn.add_argument('--parts', nargs='+', choices=list(PARTS),
                    default=list(PARTS))
    rn.add_argument('--collect-only', action='store_true',
                    help='train nothing: tabulate the finished runs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.step == 'make':
        info = make(args.src, args.out, args.val_size, args.seed,
                    args.overwrite)
        print(json.dumps(info))
        return
    from normtr_plugin.utils.errors import InputError
    for part, root in (('three_class', args.three_class),
                       ('mmmo', args.mmmo)):
        if part in args.parts and not root:
            raise InputError(f'part {part} needs --{part.replace("_", "-")}')
    print(render(run(args)))


if __name__ == '__main__':
    from normtr_plugin.utils.errors import run_tool
    run_tool(main)
