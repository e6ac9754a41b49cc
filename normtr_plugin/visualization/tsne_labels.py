"""t-SNE of the fused features coloured by the label, per label form.

- :func:`plot_tsne_score`: a continuous score (regression) as a colour
  scale with a colour bar;
- :func:`plot_tsne_panels`: several binary labels (multi-binary /
  multi-label emotions, ``(n, K)``), one panel per label, present vs.
  absent;
- class labels (one name per sample) use :func:`~normtr_plugin.
  visualization.plots.plot_tsne`.

:func:`plot_tsne_by_label` picks the form from the labels' shape and
dtype. Each takes the features (n, d), or a precomputed ``embedding``
(n, 2) to skip the t-SNE.
"""
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..utils.errors import InputError
from .figure_style import SEQUENTIAL_CMAP, new_figure, palette, paper_style
from .plots import plot_tsne, tsne_embedding

__all__ = ['plot_tsne_by_label', 'plot_tsne_panels', 'plot_tsne_score']


def _embed(features, embedding) -> np.ndarray:
    xy = tsne_embedding(features) if embedding is None else embedding
    return np.asarray(xy)


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


@paper_style
def plot_tsne_score(features, scores: Sequence[float], title: str,
                    score_name: str = 'label score',
                    embedding: Optional[np.ndarray] = None) -> Figure:
    """t-SNE coloured by a continuous ``scores`` (n,), with a colour bar
    named ``score_name``. One column wide; 2 axes (map, colour bar)."""
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(scores) != len(features):
        raise InputError(f'{len(features)} points but {len(scores)} scores')
    xy = _embed(features, embedding)
    fig = new_figure(1, aspect=0.85)
    ax = fig.subplots()
    points = ax.scatter(xy[:, 0], xy[:, 1], c=scores, cmap=SEQUENTIAL_CMAP,
                        s=10, linewidths=0)
    fig.colorbar(points, ax=ax, label=score_name)
    ax.set_title(title)
    ax.set_xlabel('t-SNE dimension 1')
    ax.set_ylabel('t-SNE dimension 2')
    _blank(ax)
    return fig


@paper_style
def plot_tsne_panels(features, labels, names: Sequence[str], title: str,
                     embedding: Optional[np.ndarray] = None) -> Figure:
    """One t-SNE panel per binary label: ``labels`` (n, K) 0/1, ``names``
    its K names. The same embedding in every panel; present in
    vermillion, absent in sky blue. Two columns wide; K axes."""
    y = np.asarray(labels).reshape(len(labels), -1) > 0.5
    if y.shape[1] != len(names):
        raise InputError(f'labels have {y.shape[1]} columns but '
                         f'{len(names)} names {list(names)}')
    xy = _embed(features, embedding)
    cols = min(len(names), 4)
    rows = -(-len(names) // cols)
    fig = new_figure(2, aspect=0.3 * rows + 0.05)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for k, (ax, name) in enumerate(zip(axes, names)):
        for present, colour, label in ((False, palette(1), 'absent'),
                                       (True, palette(5), 'present')):
            sel = y[:, k] == present
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=colour,
                       linewidths=0, label=f'{label} ({int(sel.sum())})')
        ax.set_title(str(name))
        ax.legend(loc='best', markerscale=1.5, framealpha=0.7)
        _blank(ax)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def plot_tsne_by_label(features, labels, names: Sequence[str],
                       class_names: Sequence[str], title: str,
                       embedding: Optional[np.ndarray] = None) -> Figure:
    """The form for ``labels``: floats (n,) or (n, 1) -> a colour scale;
    (n, K > 1) -> one panel per label (``names``); integers (n,) -> one
    colour per class (``class_names[i]``)."""
    y = np.asarray(labels)
    flat = y.reshape(len(y), -1)
    if flat.shape[1] > 1:
        return plot_tsne_panels(features, flat, names, title, embedding)
    if np.issubdtype(y.dtype, np.floating):
        return plot_tsne_score(features, flat[:, 0], title,
                               score_name='true score',
                               embedding=embedding)
    groups = [str(class_names[int(i)]) for i in flat[:, 0]]
    return plot_tsne(features, groups, title, embedding=embedding)
