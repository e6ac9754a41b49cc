"""Robustness evaluation under test-time masking (SPEC section 5, Table 5,
Fig. 5): metric curves over masking ratios, AUILC per metric, reports.

The flow of ``tools/robustness.py``, usable piece by piece:

1. :func:`load_test_set` reads a config's test split once, through the
   config's test pipeline, into stacked tensors ``{m: (N, T, D)}`` plus the
   data samples;
2. :func:`build_model` builds the config's model and loads an mmengine
   checkpoint (``torch.load(weights_only=True)`` with the project's
   allowlist, see ``normtr_plugin.engine.checkpoint_loader``);
3. :func:`evaluate_under_masking` masks the whole test set per (seed, ratio)
   with tensor ops (:func:`~normtr_plugin.datasets.transforms.
   test_time_masking.sample_keep_masks`), runs ``model.test_step`` in
   batches (as mmengine's ``TestLoop`` does: data preprocessor, then
   ``mode='predict'``) and scores with the config's ``test_evaluator``;
4. :func:`write_report` writes ``robustness.json``, ``robustness.md`` and
   one ``robustness_<metric>.png`` per metric, each atomically.

Seeds: each (seed, ratio) draws from ``torch.Generator().manual_seed(seed)``
over the test samples in dataset order, so results do not depend on batch
size, and for one seed the random masker's masks are nested across ratios.
A mask identical to one already evaluated (ratio 0 and ratio 1 give the
same mask for every seed) reuses its metrics instead of re-running.
"""
import hashlib
import math
import os.path as osp
import re
import sys
import time
import warnings
from typing import (Callable, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Sequence, Union)

import numpy as np
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.runner.checkpoint import load_checkpoint

# Registers the maskers even before datasets/transforms/__init__ imports them.
from ..datasets.transforms.test_time_masking import (  # noqa: F401
    MASKERS, RandomMasking, WindowMasking, apply_keep_masks, check_ratio,
    sample_keep_masks)
from ..datasets import multimodal_collate
from ..models.data_samples import batch_data_samples, split_data_samples
from ..registry import DATASETS, METRICS, MODELS, build_in_scope
from ..utils import atomic_write
from .auilc import auilc

__all__ = ['TestSet', 'build_evaluator', 'build_model', 'evaluate_config',
           'evaluate_under_masking', 'load_test_set', 'parse_ratios',
           'parse_seeds', 'write_report']

MASKING_TRANSFORMS = ('RandomMasking', 'WindowMasking')
LOWER_IS_BETTER = re.compile(r'(^|_)(MAE|MSE|RMSE|loss)($|_)', re.I)
Log = Optional[Callable[[str], None]]


class TestSet(NamedTuple):
    """A test split read through its pipeline: ``inputs`` ``{m: (N, T, D)}``
    float tensors (CPU), ``data_samples`` (N ``BaseDataElement``),
    ``metainfo`` (``dataset.metainfo``) and the config's test batch size."""
    inputs: Dict[str, torch.Tensor]
    data_samples: list
    metainfo: dict
    batch_size: int


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

def parse_ratios(spec: Union[str, Sequence[float]]) -> List[float]:
    """Masking ratios from ``'start:stop:step'`` (stop included when on the
    grid: ``'0:1:0.1'`` -> 0.0, 0.1, ..., 1.0), a comma list
    (``'0,0.25,0.5'``) or a sequence of numbers.

    Values are rounded to 10 decimals (no float drift), must lie in [0, 1]
    and be distinct; they are returned sorted.
    """
    if isinstance(spec, str):
        text = spec.strip()
        if ':' in text:
            parts = text.split(':')
            if len(parts) != 3:
                raise ValueError(f"ratios range must be 'start:stop:step', "
                                 f'got {spec!r}')
            try:
                start, stop, step = (float(p) for p in parts)
            except ValueError:
                raise ValueError(f"ratios range must be 'start:stop:step' "
                                 f'numbers, got {spec!r}') from None
            if not all(math.isfinite(v) for v in (start, stop, step)):
                raise ValueError(f'ratios range must be finite, got {spec!r}')
            if step <= 0:
                raise ValueError(f'ratios step must be > 0, got {spec!r}')
            if stop < start:
                raise ValueError(f'ratios stop must be >= start, got '
                                 f'{spec!r}')
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [start + i * step for i in range(count)]
        else:
            try:
                values = [float(p) for p in text.split(',') if p.strip()]
            except ValueError:
                raise ValueError(f"ratios must be 'start:stop:step' or a "
                                 f'comma list of numbers, got {spec!r}') \
                    from None
    else:
        values = [float(v) for v in spec]
    if not values:
        raise ValueError(f'no masking ratios in {spec!r}')
    values = [round(v, 10) + 0.0 for v in values]  # + 0.0: no -0.0
    for v in values:
        check_ratio(v)
    if len(set(values)) != len(values):
        dup = sorted({v for v in values if values.count(v) > 1})
        raise ValueError(f'duplicate masking ratios {dup} in {spec!r}')
    return sorted(values)


def parse_seeds(spec: Union[str, int, Sequence[int]]) -> List[int]:
    """``3`` or ``'3'`` -> [0, 1, 2]; ``'0,5,7'`` or a list -> those seeds."""
    if isinstance(spec, str):
        text = spec.strip()
        try:
            spec = ([int(p) for p in text.split(',') if p.strip()]
                    if ',' in text else int(text))
        except ValueError:
            raise ValueError(f'seeds must be a count (3) or a comma list '
                             f'(0,5,7), got {text!r}') from None
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f'the number of seeds must be >= 1, got {spec}')
        return list(range(int(spec)))
    seeds = [int(s) for s in spec]
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f'seeds must be non-negative ints, got {seeds}')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'duplicate seeds in {seeds}')
    return seeds


# ---------------------------------------------------------------------------
# Data, model, metric
# ---------------------------------------------------------------------------

def _plain_cfg(cfg):
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)


def load_test_set(cfg, batch_size: Optional[int] = None,
                  log: Log = None) -> TestSet:
    """Read the whole test split of ``cfg`` (``test_dataloader.dataset``)
    through its test pipeline and stack it.

    Masking transforms already in the pipeline are dropped (with a
    warning): the robustness evaluation does the masking itself.
    """
    loader_cfg = cfg.get('test_dataloader')
    if not loader_cfg or not loader_cfg.get('dataset'):
        raise KeyError('the config has no test_dataloader.dataset')
    ds_cfg = _plain_cfg(loader_cfg['dataset'])
    pipeline = list(ds_cfg.get('pipeline') or [])
    kept = [t for t in pipeline
            if not (isinstance(t, dict) and t.get('type') in
                    MASKING_TRANSFORMS)]
    if len(kept) != len(pipeline):
        warnings.warn('dropping the masking transform(s) from the test '
                      'pipeline: the robustness evaluation masks by itself')
        ds_cfg['pipeline'] = kept
    dataset = build_in_scope(DATASETS, ds_cfg)
    batch_size = int(batch_size or loader_cfg.get('batch_size') or 64)
    n = len(dataset)
    if n == 0:
        raise ValueError('the test split is empty')
    chunks: Dict[str, List[torch.Tensor]] = {}
    samples = []
    read = getattr(dataset, '__getitems__', None)
    for start in range(0, n, 256):
        idx = list(range(start, min(n, start + 256)))
        items = read(idx) if read else [dataset[i] for i in idx]
        batch = multimodal_collate(items)
        inputs = batch['inputs']
        if not isinstance(inputs, dict):
            raise TypeError('the test pipeline must end with '
                            'PackMultimodalInputs (inputs: {modality: '
                            f'tensor}}), found {type(inputs).__name__}')
        for m, x in inputs.items():
            if x.dim() != 3:
                raise ValueError(f"modality '{m}': expected (B, T, D) after "
                                 f'collation, found {tuple(x.shape)}')
            chunks.setdefault(m, []).append(x)
        samples.extend(split_data_samples(batch['data_samples']))
    inputs = {m: torch.cat(xs) for m, xs in chunks.items()}
    if log:
        shapes = ', '.join(f'{m} {tuple(x.shape[1:])}'
                           for m, x in inputs.items())
        log(f'test split: {n} samples ({shapes})')
    return TestSet(inputs, samples, dict(dataset.metainfo), batch_size)


def build_model(cfg, checkpoint: str, device: Union[str, torch.device] = 'cpu'
                ) -> torch.nn.Module:
    """``cfg.model`` from the MODELS registry with the checkpoint's weights
    (strict: every key must match), in eval mode on ``device``."""
    from .. import engine  # noqa: F401  (safe local checkpoint loader)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} not found')
    model = build_in_scope(MODELS, _plain_cfg(cfg.model))
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def build_evaluator(evaluator_cfg, dataset_meta: Optional[dict] = None
                    ) -> Evaluator:
    """An mmengine ``Evaluator`` from a config's ``test_evaluator`` (a metric
    config, a list of them, or ``dict(type='Evaluator', metrics=...)``),
    its metrics built in this plugin's scope."""
    cfg = evaluator_cfg
    if isinstance(cfg, BaseMetric):
        cfg = [cfg]
    elif isinstance(cfg, Mapping):
        cfg = _plain_cfg(cfg)
        cfg = cfg['metrics'] if cfg.get('type') == 'Evaluator' else [cfg]
    if isinstance(cfg, Mapping) or isinstance(cfg, BaseMetric):
        cfg = [cfg]
    metrics = [m if isinstance(m, BaseMetric)
               else build_in_scope(METRICS, _plain_cfg(m)) for m in cfg]
    if not metrics:
        raise ValueError('test_evaluator has no metric')
    evaluator = Evaluator(metrics)
    if dataset_meta is not None:
        evaluator.dataset_meta = dataset_meta
    return evaluator


def _mask_digest(masks: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha1()
    for m, keep in masks.items():
        h.update(f'{m}:{tuple(keep.shape)};'.encode())
        h.update(np.packbits(keep.numpy()).tobytes())
    return h.hexdigest()


@torch.inference_mode()
def _evaluate_once(model, test_set: TestSet, evaluator_cfg,
                   masks: Optional[Mapping[str, torch.Tensor]],
                   batch_size: int) -> Dict[str, float]:
    evaluator = build_evaluator(evaluator_cfg, test_set.metainfo)
    n = len(test_set.data_samples)
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        inputs = {m: x[sl] for m, x in test_set.inputs.items()}
        if masks is not None:
            inputs = apply_keep_masks(
                inputs, {m: keep[sl] for m, keep in masks.items()})
        samples = batch_data_samples(test_set.data_samples[sl],
                                     getattr(model, 'modalities', None))
        data = dict(inputs=inputs, data_samples=samples)
        outputs = model.test_step(data)
        evaluator.process(data_samples=outputs, data_batch=data)
    return {k: float(v) for k, v in evaluator.evaluate(n).items()}


def _mean_std(values: Sequence[float]):
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std())


def evaluate_under_masking(model: torch.nn.Module, test_set: TestSet,
                           evaluator_cfg, ratios: Sequence[float],
                           seeds: Sequence[int] = (0, 1, 2),
                           masker: str = 'random',
                           batch_size: Optional[int] = None,
                           log: Log = None) -> dict:
    """Metrics of ``model`` on ``test_set`` masked at every (seed, ratio).

    Args:
        model: an mmengine ``BaseModel`` (``test_step`` -> data samples
            with predictions); put in eval mode here.
        test_set: from :func:`load_test_set`.
        evaluator_cfg: the config's ``test_evaluator``.
        ratios: masking ratios (sorted, distinct, in [0, 1]).
        seeds: one masked copy of the test set per seed and ratio.
        masker: 'random' or 'window'.
        batch_size: forward batch (default: the config's test batch size).

    Returns ``dict(num_samples, metrics, per_ratio, auilc, seconds)``:
    ``per_ratio`` is a list (one per ratio) of ``dict(ratio, per_seed=
    {seed: {metric: value}}, mean={...}, std={...})``; ``auilc`` maps each
    metric to ``dict(mean, std, per_seed={seed: value})`` (std with
    ddof=0; empty with fewer than 2 ratios).
    """
    ratios = parse_ratios(list(ratios))
    seeds = parse_seeds(list(seeds))
    if masker not in MASKERS:
        raise ValueError(f'masker must be one of {MASKERS}, got {masker!r}')
    batch_size = int(batch_size or test_set.batch_size)
    model.eval()
    n = len(test_set.data_samples)
    seq_lens = {m: x.shape[1] for m, x in test_set.inputs.items()}
    t0 = time.perf_counter()
    cache: Dict[str, Dict[str, float]] = {}
    results = {r: {} for r in ratios}
    for seed in seeds:
        for r in ratios:
            generator = torch.Generator().manual_seed(seed)
            masks = sample_keep_masks(n, seq_lens, r, masker, generator)
            key = _mask_digest(masks)
            if key not in cache:
                cache[key] = _evaluate_once(model, test_set, evaluator_cfg,
                                            masks, batch_size)
            results[r][seed] = cache[key]
        if log:
            log(f'  seed {seed}: {len(ratios)} ratios done '
                f'({time.perf_counter() - t0:.1f} s)')
    names = list(results[ratios[0]][seeds[0]])
    per_ratio = []
    for r in ratios:
        entry = dict(ratio=r, per_seed={str(s): results[r][s] for s in seeds},
                     mean={}, std={})
        for name in names:
            entry['mean'][name], entry['std'][name] = _mean_std(
                [results[r][s][name] for s in seeds])
        per_ratio.append(entry)
    table = {}
    if len(ratios) >= 2:
        for name in names:
            per_seed = {str(s): auilc(ratios, [results[r][s][name]
                                               for r in ratios])
                        for s in seeds}
            mean, std = _mean_std(list(per_seed.values()))
            table[name] = dict(mean=mean, std=std, per_seed=per_seed)
    return dict(num_samples=n, metrics=names, per_ratio=per_ratio,
                auilc=table, evaluations=len(cache),
                seconds=round(time.perf_counter() - t0, 3))


def _key_metric(cfg, names: Sequence[str]) -> str:
    best = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    best = best.get('save_best') if isinstance(best, Mapping) else None
    if isinstance(best, (list, tuple)):
        best = best[0] if best else None
    return best if isinstance(best, str) and best in names else names[0]


def evaluate_config(config: str, checkpoint: str, ratios: Sequence[float],
                    seeds: Sequence[int] = (0, 1, 2), masker: str = 'random',
                    cfg_options: Optional[dict] = None,
                    batch_size: Optional[int] = None,
                    device: Optional[str] = None,
                    test_sets: Optional[dict] = None,
                    log: Log = None) -> dict:
    """:func:`evaluate_under_masking` for a config file and a checkpoint.

    ``test_sets`` (a dict) caches test splits across calls, keyed by the
    test dataset config. Adds ``config``, ``checkpoint`` and ``key_metric``
    (the checkpoint hook's ``save_best`` when it is one of the metrics).
    """
    from ..engine.cli import load_config
    cfg = load_config(config, cfg_options)
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    key = repr(_plain_cfg(cfg.test_dataloader))
    if test_sets is not None and key in test_sets:
        test_set = test_sets[key]
    else:
        test_set = load_test_set(cfg, log=log)
        if test_sets is not None:
            test_sets[key] = test_set
    model = build_model(cfg, checkpoint, device)
    out = evaluate_under_masking(model, test_set, cfg.test_evaluator, ratios,
                                 seeds, masker, batch_size, log)
    return dict(config=config, checkpoint=checkpoint,
                key_metric=_key_metric(cfg, out['metrics']), **out)


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return f'{value:.3f}'


def _arrow(metric: str) -> str:
    return '↓' if LOWER_IS_BETTER.search(metric) else '↑'


def metric_file_name(metric: str) -> str:
    """``robustness_<metric>.png`` with unsafe characters replaced."""
    return 'robustness_' + re.sub(r'[^A-Za-z0-9._-]+', '_', metric) + '.png'


def _all_metrics(models: Mapping[str, dict]) -> List[str]:
    names: List[str] = []
    for entry in models.values():
        names += [m for m in entry['metrics'] if m not in names]
    return names


def _markdown(results: dict, metrics: List[str], key_metric: str,
              images: Mapping[str, str]) -> str:
    models = results['models']
    seeds = results.get('seeds', [])
    lines = ['# Robustness under test-time masking', '',
             f"Masker `{results['masker']}`, ratios "
             f"{', '.join(f'{r:g}' for r in results['ratios'])}, "
             f'{len(seeds)} seed(s) ({", ".join(map(str, seeds))}); '
             'mean ± std over seeds (std with ddof=0).', '']
    if results.get('command'):
        lines += [f"Command: `{results['command']}`", '']
    lines += ['## AUILC (paper Eq. 10)', '',
              '| model | ' + ' | '.join(f'{m} {_arrow(m)}' for m in metrics)
              + ' |', '|---|' + '---:|' * len(metrics)]
    for name, entry in models.items():
        cells = []
        for m in metrics:
            a = entry.get('auilc', {}).get(m)
            cells.append('-' if a is None else
                         f"{_fmt(a['mean'])} ± {_fmt(a['std'])}")
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines += ['', f'## {key_metric} {_arrow(key_metric)} vs. masking ratio',
              '', '| ratio | ' + ' | '.join(models) + ' |',
              '|---:|' + '---:|' * len(models)]
    for i, r in enumerate(results['ratios']):
        cells = []
        for entry in models.values():
            row = entry['per_ratio'][i]
            cells.append('-' if key_metric not in row['mean'] else
                         f"{_fmt(row['mean'][key_metric])} ± "
                         f"{_fmt(row['std'][key_metric])}")
        lines.append(f'| {r:g} | ' + ' | '.join(cells) + ' |')
    if images:
        lines += ['', '## Curves', '']
        lines += [f'![{m}]({f})' for m, f in images.items()]
    return '\n'.join(lines) + '\n'


def _plot(results: dict, metric: str, path: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.0, 3.6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, entry in results['models'].items():
        if metric not in entry['metrics']:
            continue
        x = np.array([row['ratio'] for row in entry['per_ratio']])
        mean = np.array([row['mean'][metric] for row in entry['per_ratio']],
                        dtype=np.float64)
        std = np.array([row['std'][metric] for row in entry['per_ratio']],
                       dtype=np.float64)
        a = entry.get('auilc', {}).get(metric)
        label = name if a is None else f"{name} (AUILC {_fmt(a['mean'])})"
        line, = ax.plot(x, mean, marker='o', markersize=3, label=label)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(),
                        alpha=0.2, linewidth=0)
    ax.set_xlabel('masking ratio $r_t$')
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} {_arrow(metric)} ({results['masker']} masking)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize='small')
    fig.tight_layout()
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png')


def write_report(results: dict, out_dir: str,
                 metrics: Optional[Iterable[str]] = None,
                 key_metric: Optional[str] = None,
                 plot: bool = True) -> Dict[str, str]:
    """Write ``robustness.json``, ``robustness.md`` and the curves.

    ``results``: ``dict(masker, ratios, seeds, command, models={name:
    evaluate_config(...) or evaluate_under_masking(...) output})``.
    ``metrics`` restricts the Markdown table and the plots (default: all);
    ``key_metric`` picks the per-ratio table's metric (default: the first
    model's ``key_metric``, else its first metric). Non-finite numbers are
    written as ``null`` in the JSON. Returns ``{what: path}``.
    """
    models = results.get('models') or {}
    if not models:
        raise ValueError('write_report: results has no models')
    from ..engine.cli import write_json
    paths = dict(json=osp.join(out_dir, 'robustness.json'),
                 markdown=osp.join(out_dir, 'robustness.md'))
    # The JSON first: a wrong metric name below must not lose the results.
    write_json(paths['json'], _finite_or_none(dict(results)))
    names = _all_metrics(models)
    metrics = list(metrics) if metrics else names
    unknown = [m for m in metrics if m not in names]
    if unknown:
        raise ValueError(f'unknown metric(s) {unknown}; the models report '
                         f'{names} (robustness.json is written)')
    first = next(iter(models.values()))
    key_metric = key_metric or first.get('key_metric') or metrics[0]
    if key_metric not in names:
        raise ValueError(f'key metric {key_metric!r} not among {names} '
                         '(robustness.json is written)')
    images = {}
    if plot:
        for m in metrics:
            images[m] = metric_file_name(m)
            paths[f'png:{m}'] = osp.join(out_dir, images[m])
            _plot(results, m, paths[f'png:{m}'])
    text = _markdown(results, metrics, key_metric, images)
    with atomic_write(paths['markdown']) as f:
        f.write(text)
    return paths


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
