"""The robustness report: ``robustness.json``, ``robustness.md`` and one
``robustness_<metric>.png`` per metric, each written atomically.

``results`` (what ``tools/robustness.py`` collects)::

    dict(command, masker, ratios, seeds, cfg_options,
         models={name: dict(config, key_metric, num_samples, metrics,
                            checkpoints=[dict(checkpoint, per_ratio, auilc,
                                              auilc_below_1, ...)],
                            summary=summarise_checkpoints(...),
                            reference={metric: value} or None,
                            reference_auilc={...})})

Each checkpoint's numbers carry the masking spread (``std`` over masking
seeds); ``summary`` carries the training spread (``train_std`` over
checkpoints) and the pooled masking spread (``mask_std``), never mixed.
"""
import math
import os.path as osp
import re
from typing import Dict, Iterable, List, Mapping, Optional

from ..utils import write_json, write_text
from .figure_style import save_figure
from .robustness_plot import arrow, fmt, plot_robustness
from ..utils.errors import InputError

__all__ = ['metric_file_name', 'render_markdown', 'task_metrics',
           'write_report']

#: Prefix of the invariance diagnostics (``InvarianceMetric``).
DIAGNOSTIC_PREFIX = 'invariance/'


#: What :func:`write_report` writes into its folder (names and globs).
REPORT_FILES = ('robustness.json', 'robustness.md', 'robustness_*.png')


def metric_file_name(metric: str) -> str:
    """``robustness_<metric>.png`` with unsafe characters replaced."""
    return 'robustness_' + re.sub(r'[^A-Za-z0-9._-]+', '_', metric) + '.png'


def task_metrics(names: Iterable[str]) -> List[str]:
    """The task metrics among ``names``: all but the invariance
    diagnostics (``invariance/...``)."""
    return [m for m in names if not m.startswith(DIAGNOSTIC_PREFIX)]


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _all_metrics(models: Mapping[str, dict]) -> List[str]:
    names: List[str] = []
    for entry in models.values():
        names += [m for m in entry['metrics'] if m not in names]
    return names


def _cell(stats: Optional[dict], several: bool) -> str:
    """``mean ± train_std [masking ± mask_std]`` (n >= 2) or
    ``mean [masking ± mask_std]`` (one checkpoint)."""
    if stats is None:
        return '-'
    text = fmt(stats['mean'])
    if several:
        text += f" ± {fmt(stats['train_std'])}"
    return text + f" [± {fmt(stats['mask_std'])}]"


def _references(models: Mapping[str, dict]) -> Dict[str, dict]:
    """One reference row per distinct reference (usually one)."""
    rows: Dict[str, dict] = {}
    for name, entry in models.items():
        ref = entry.get('reference')
        if not ref:
            continue
        if any(r['metrics'] == ref for r in rows.values()):
            continue
        rows[name] = dict(metrics=ref, areas=entry.get('reference_auilc'))
    if len(rows) == 1:
        only = next(iter(rows.values()))
        return {'constant predictor': only}
    return {f'constant predictor ({n})': r for n, r in rows.items()}


def _auilc_table(models, refs, metrics, key, ratios_text) -> List[str]:
    lines = ['| model | checkpoints | ' + ' | '.join(
        f'{m} {arrow(m)}' for m in metrics) + ' |',
        '|---|---:|' + '---:|' * len(metrics)]
    for name, entry in models.items():
        summary = entry['summary']
        several = summary['num_checkpoints'] > 1
        cells = [_cell(summary[key].get(m), several) for m in metrics]
        lines.append(f"| {name} | {summary['num_checkpoints']} | "
                     + ' | '.join(cells) + ' |')
    for label, ref in refs.items():
        areas = (ref['areas'] or {}).get(key) or {}
        lines.append(f'| {label} | - | ' + ' | '.join(
            fmt(areas.get(m)) for m in metrics) + ' |')
    return [f'## AUILC over {ratios_text}', ''] + lines + ['']


def render_markdown(results: dict, metrics: List[str], key_metric: str,
                    images: Mapping[str, str]) -> str:
    """The Markdown report (see the module docstring)."""
    models = results['models']
    seeds, ratios = results.get('seeds', []), results['ratios']
    refs = _references(models)
    below = [r for r in ratios if r < 1]
    lines = [
        '# Robustness under test-time masking', '',
        f"Masker `{results['masker']}`, ratios "
        f"{', '.join(f'{r:g}' for r in ratios)}; masking seeds "
        f"{', '.join(map(str, seeds))}.", '',
        'Each cell: mean ± **training spread** (std over the checkpoints, '
        "i.e. training seeds, ddof=1, of each checkpoint's mean over the "
        'masking seeds) [± **masking spread**: std over masking seeds '
        'within a checkpoint, ddof=0, pooled over checkpoints]. A model '
        'with one checkpoint has no training spread. The constant '
        "predictor ignores its inputs (the head's prediction from the "
        'training labels alone: majority class or training mean).', '']
    if results.get('command'):
        lines += [f"Command: `{results['command']}`", '']
    lines += _auilc_table(models, refs, metrics, 'auilc',
                          f'the full grid (r = {ratios[0]:g}..'
                          f'{ratios[-1]:g}; paper Eq. 10)')
    if len(below) >= 2:
        lines += _auilc_table(models, refs, metrics, 'auilc_below_1',
                              f'r < 1 (r = {below[0]:g}..{below[-1]:g}; '
                              'the fully masked point left out)')
    names = list(models) + list(refs)
    lines += [f'## {key_metric} {arrow(key_metric)} vs. masking ratio', '',
              '| ratio | ' + ' | '.join(names) + ' |',
              '|---:|' + '---:|' * len(names)]
    for i, r in enumerate(ratios):
        cells = []
        for entry in models.values():
            summary = entry['summary']
            row = summary['per_ratio'][i]
            cells.append('-' if key_metric not in row['mean'] else _cell(
                dict(mean=row['mean'][key_metric],
                     train_std=row['train_std'][key_metric],
                     mask_std=row['mask_std'][key_metric]),
                summary['num_checkpoints'] > 1))
        cells += [fmt(ref['metrics'].get(key_metric))
                  for ref in refs.values()]
        lines.append(f'| {r:g} | ' + ' | '.join(cells) + ' |')
    if images:
        lines += ['', '## Curves', '']
        lines += [f'![{m}]({f})' for m, f in images.items()]
    return '\n'.join(lines) + '\n'


def write_report(results: dict, out_dir: str,
                 metrics: Optional[Iterable[str]] = None,
                 key_metric: Optional[str] = None,
                 plot: bool = True,
                 invariance: bool = False) -> Dict[str, str]:
    """Write ``robustness.json``, ``robustness.md`` and the curves.

    ``metrics`` restricts the Markdown tables and the plots (default: the
    task metrics, :func:`task_metrics`, or every metric with
    ``invariance``; the JSON keeps every metric);
    ``key_metric`` picks the per-ratio table's metric (default: the first
    model's ``key_metric``, else its first metric). Non-finite numbers are
    written as ``null`` in the JSON. Returns ``{what: path}``.
    """
    models = results.get('models') or {}
    if not models:
        raise InputError('write_report: results has no models')
    paths = dict(json=osp.join(out_dir, 'robustness.json'),
                 markdown=osp.join(out_dir, 'robustness.md'))
    # The JSON first: a wrong metric name below must not lose the results.
    write_json(paths['json'], _finite_or_none(dict(results)))
    names = _all_metrics(models)
    if not metrics:
        metrics = names if invariance else task_metrics(names) or names
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in names]
    if unknown:
        raise InputError(f'unknown metric(s) {unknown}; the models report '
                         f'{names} (robustness.json is written)')
    first = next(iter(models.values()))
    key_metric = key_metric or first.get('key_metric') or metrics[0]
    if key_metric not in names:
        raise InputError(f'key metric {key_metric!r} not among {names} '
                         '(robustness.json is written)')
    images = {}
    if plot:
        for m in metrics:
            images[m] = metric_file_name(m)
            paths[f'png:{m}'] = osp.join(out_dir, images[m])
            save_figure(plot_robustness(results, m), paths[f'png:{m}'])
    write_text(paths['markdown'],
               render_markdown(results, metrics, key_metric, images))
    return paths
