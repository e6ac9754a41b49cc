"""Metric-vs-masking-ratio curves (paper Fig. 5), one line per model."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..evaluation.robustness_summary import lower_is_better

__all__ = ['arrow', 'fmt', 'plot_robustness']


def arrow(metric: str) -> str:
    """'↓' for lower-is-better metrics, else '↑'."""
    return '↓' if lower_is_better(metric) else '↑'


def fmt(value) -> str:
    """3 decimals; 'n/a' for None / NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return 'n/a'
    return f'{value:.3f}'


def plot_robustness(results: dict, metric: str) -> Figure:
    """Curves of ``metric`` for every model of a robustness report.

    ``results['models'][name]['summary']`` (``summarise_checkpoints``)
    gives the line (mean over checkpoints of the mean over masking seeds)
    and the band: ± the training spread with several checkpoints, else ±
    the masking spread. A model's constant-predictor reference is a dashed
    line. Returns a Figure on an Agg canvas (one axes).
    """
    fig = Figure(figsize=(5.4, 3.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    drawn_refs = []
    for name, entry in results['models'].items():
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
        b = summary['auilc_below_1'].get(metric, {}).get('mean')
        label = (f"{name} (n={summary['num_checkpoints']}; AUILC "
                 f'{fmt(a)}, r<1 {fmt(b)})')
        line, = ax.plot(x, mean, marker='o', markersize=3, label=label)
        ax.fill_between(x, mean - band, mean + band, color=line.get_color(),
                        alpha=0.2, linewidth=0)
        ref = (entry.get('reference') or {}).get(metric)
        if ref is not None and ref not in drawn_refs:
            drawn_refs.append(ref)
            ax.axhline(ref, color='0.35', linestyle='--', linewidth=1,
                       label='constant predictor' if len(drawn_refs) == 1
                       else f'constant predictor ({name})')
    ax.set_xlabel('masking ratio $r_t$')
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} {arrow(metric)} ({results['masker']} masking; "
                 'band: training spread, or masking spread for n=1)',
                 fontsize='small')
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize='x-small')
    fig.tight_layout()
    return fig
