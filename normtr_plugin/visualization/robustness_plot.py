"""Metric-vs-masking-ratio curves (paper Fig. 5), one line per model."""
import numpy as np
from matplotlib.figure import Figure

from ..evaluation.robustness_summary import lower_is_better
from .figure_style import new_figure, palette, paper_style

__all__ = ['arrow', 'fmt', 'plot_robustness']


def arrow(metric: str) -> str:
    """'↓' for lower-is-better metrics, else '↑'."""
    return '↓' if lower_is_better(metric) else '↑'


def fmt(value) -> str:
    """3 decimals; 'n/a' for None / NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return 'n/a'
    return f'{value:.3f}'


@paper_style
def plot_robustness(results: dict, metric: str) -> Figure:
    """Curves of ``metric`` for every model of a robustness report (Fig. 5
    style, one column wide, one axes).

    ``results['models'][name]['summary']`` (``summarise_checkpoints``)
    gives the line (mean over checkpoints of the mean over masking seeds)
    and the band: ± the training spread (std over training seeds) with
    several checkpoints, else ± the masking spread (std over masking
    seeds); the legend names each model and its band. A model's
    constant-predictor reference is a dashed line. The y label says the
    metric's direction (lower-is-better metrics get ↓).
    """
    fig = new_figure(1, aspect=0.95)
    ax = fig.add_subplot(1, 1, 1)
    drawn_refs = []
    for i, (name, entry) in enumerate(results['models'].items()):
        summary = entry['summary']
        if metric not in summary['metrics']:
            continue
        rows = summary['per_ratio']
        x = np.array([row['ratio'] for row in rows])
        mean = np.array([row['mean'][metric] for row in rows], np.float64)
        several = summary['num_checkpoints'] > 1
        band = np.array([(row['train_std'] if several else
                          row['mask_std'])[metric] for row in rows],
                        np.float64)
        a = summary['auilc'].get(metric, {}).get('mean')
        n = summary['num_checkpoints']
        spread = (f'± std over {n} training seeds' if several else
                  '± std over masking seeds')
        colour = palette(i)
        ax.plot(x, mean, marker='o', markersize=3, color=colour,
                label=f'{name} (AUILC {fmt(a)}; band {spread})')
        ax.fill_between(x, mean - band, mean + band, color=colour,
                        alpha=0.25, linewidth=0)
        ref = (entry.get('reference') or {}).get(metric)
        if ref is not None and ref not in drawn_refs:
            drawn_refs.append(ref)
            ax.axhline(ref, color='0.35', linestyle='--', linewidth=1,
                       label='constant predictor' if len(drawn_refs) == 1
                       else f'constant predictor ({name})')
    better = 'lower' if lower_is_better(metric) else 'higher'
    ax.set_xlabel('test-time masking ratio')
    ax.set_ylabel(f'{metric} {arrow(metric)} ({better} is better)')
    ax.set_title(f"{metric} under {results['masker']} masking")
    ax.grid(True, alpha=0.3)
    # below the axes: the curves stay visible
    ax.legend(loc='upper center', bbox_to_anchor=(0.5, -0.2),
              frameon=False)
    return fig
