"""Figures of the paper's analysis section (Figs. 7-10).

Every plotting function returns a :class:`matplotlib.figure.Figure` drawn
on an Agg canvas, one or two paper columns wide, in colour-blind-safe
colours (:mod:`~normtr_plugin.visualization.figure_style`). Figures are
built without ``pyplot``, so nothing touches the global backend or
pyplot's figure list; :func:`~normtr_plugin.visualization.figure_style.
save_figure` writes one (PNG, PDF or SVG) atomically.

- :func:`plot_attention`: cross-attention maps of one sample without and
  with masked time steps (Fig. 10).
- :func:`plot_tsne`: a t-SNE embedding coloured by one labelling and,
  optionally, marked by another (Figs. 7 and 8).
- :func:`plot_cosine_density`: densities of cosine similarities within the
  NRGFs and between NRGFs and MFs (Fig. 9), from
  :func:`cosine_similarities`.

Features come from :func:`~normtr_plugin.visualization.features.
collect_features`; masked inputs from the masker family
(:mod:`normtr_plugin.structures.maskers`), as in the robustness table; label
forms (score, per-emotion panels, classes) in ``tsne_labels.py``.
"""
import itertools
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from matplotlib.figure import Figure

from ..utils.errors import InputError
from .figure_style import (SEQUENTIAL_CMAP, new_figure, palette,
                           paper_style)

__all__ = [
    'cosine_similarities', 'plot_attention', 'plot_cosine_density',
    'plot_tsne', 'pool_tokens', 'tsne_embedding'
]

ArrayLike = Union[np.ndarray, torch.Tensor]
MARKERS = ('o', '^', 's', 'D', 'v', 'P', 'X', '*')


def _numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.is_floating_point() and x.dtype != torch.float64:
            x = x.float()  # bf16 / fp16 have no numpy dtype
        return x.numpy()
    return np.asarray(x)


# ---------------------------------------------------------------------------
# Attention maps (Fig. 10)
# ---------------------------------------------------------------------------

def _head_mean(attn, layer: int) -> np.ndarray:
    """One (L, L) map: pick ``layer`` from a per-layer list, the first sample
    of a batch, and average over the heads."""
    if isinstance(attn, (list, tuple)):
        attn = attn[layer]
    a = _numpy(attn)
    if a.ndim == 4:  # (B, heads, L, L): the first sample
        a = a[0]
    if a.ndim == 3:  # (heads, L, L)
        a = a.mean(axis=0)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f'attention must be (L, L), (heads, L, L), '
                         f'(B, heads, L, L) or a list of those per layer; '
                         f'got shape {_numpy(attn).shape}')
    return a


@paper_style
def plot_attention(attn_clean, attn_masked, modalities: Sequence[str],
                   seq_len: Union[int, Sequence[int], Dict[str, int]],
                   layer: int = -1,
                   masked_tokens: Optional[ArrayLike] = None,
                   titles: Sequence[str] = ('without masking',
                                            'with masking')
                   ) -> Figure:
    """Cross-attention of one sample without and with masking (Fig. 10).

    Args:
        attn_clean, attn_masked: the model's ``attention`` output (a list
            per layer of (B, heads, M*T, M*T); sample 0 is shown) or one
            layer's (B, heads, L, L) / (heads, L, L) / (L, L) array.
        modalities: modality names in token order (modality-major:
            ``[a_1..a_T, v_1..v_T, t_1..t_T]``).
        seq_len: T, or each modality's T_m (a sequence or the model's
            ``{modality: T_m}`` dict) for unaligned models.
        layer: decoder layer to show when a list is given.
        masked_tokens: optional boolean (M*T,) marking masked tokens; they
            are ticked in red on the second map.

    Rows are NRGF queries, columns MF keys, modality blocks labelled and
    separated. Both maps are the mean over heads and share one colour
    scale (one colour bar, min to max of both maps): 3 axes, two columns
    wide.
    """
    modalities = list(modalities)
    lens = [seq_len] * len(modalities) if isinstance(seq_len, int) else \
        [int(t) for t in (seq_len.values() if isinstance(seq_len, dict)
                          else seq_len)]
    if len(lens) != len(modalities):
        raise InputError(f'seq_len {seq_len} does not give one length per '
                         f'modality {modalities}')
    size = sum(lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    maps = [_head_mean(attn_clean, layer), _head_mean(attn_masked, layer)]
    for a in maps:
        if a.shape != (size, size):
            raise InputError(f'attention map is {a.shape}, expected '
                             f'({size}, {size}) for {len(modalities)} '
                             f'modalities x seq_len {seq_len}')
    vmin = min(float(a.min()) for a in maps)
    vmax = max(float(a.max()) for a in maps)
    if isinstance(attn_clean, (list, tuple)):
        layer = range(len(attn_clean))[layer]  # -1 -> last index
    fig = new_figure(2, aspect=0.5)
    axes = fig.subplots(1, 2)
    fig.suptitle('Cross-attention of the fusion decoder (mean over heads)')
    centres = [start + t / 2 - 0.5 for start, t in zip(starts, lens)]
    for ax, a, title in zip(axes, maps, titles):
        im = ax.imshow(a, cmap=SEQUENTIAL_CMAP, vmin=vmin, vmax=vmax,
                       interpolation='nearest')
        for edge in starts[1:] - 0.5:
            ax.axhline(edge, color='w', lw=1.0)
            ax.axvline(edge, color='w', lw=1.0)
        ax.set_xticks(centres)
        ax.set_xticklabels(modalities)
        ax.set_yticks(centres)
        ax.set_yticklabels(modalities)
        ax.set_xlabel('modality-specific tokens (keys)')
        ax.set_ylabel('noise-resistant tokens (queries)')
        ax.set_title(f'{title} (decoder layer {layer + 1})')
    if masked_tokens is not None:
        idx = np.flatnonzero(_numpy(masked_tokens).astype(bool))
        ax = axes[1]
        ax.scatter(idx, np.full(len(idx), size - 0.5), marker='^',
                   color=palette(5), s=12, clip_on=False, zorder=3)
        ax.scatter(np.full(len(idx), -0.5), idx, marker='>',
                   color=palette(5), s=12, clip_on=False, zorder=3)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        if len(idx):
            ax.set_title(f'{titles[1]} (decoder layer {layer + 1};\n'
                         'marks: masked time steps)')
    fig.colorbar(im, ax=list(axes), fraction=0.03, pad=0.02,
                 label='attention weight')
    return fig


# ---------------------------------------------------------------------------
# t-SNE (Figs. 7 and 8)
# ---------------------------------------------------------------------------

def tsne_embedding(features: ArrayLike, perplexity: float = 30.0,
                   random_state: int = 0) -> np.ndarray:
    """2-D t-SNE of ``features`` (n, d); perplexity clipped below n."""
    x = _numpy(features).astype(np.float64).reshape(len(features), -1)
    n = len(x)
    if n < 3:
        raise InputError(f't-SNE needs at least 3 points, got {n}')
    from sklearn.manifold import TSNE
    perplexity = float(min(perplexity, max(1.0, (n - 1) / 3.0)))
    assert perplexity < n
    init = 'pca' if x.shape[1] >= 2 else 'random'
    return TSNE(n_components=2, perplexity=perplexity, init=init,
                learning_rate='auto',
                random_state=random_state).fit_transform(x)


def _groups(labels) -> Tuple[np.ndarray, List]:
    labels = np.asarray(labels)
    values = list(dict.fromkeys(labels.tolist()))  # first-seen order
    try:
        values = sorted(values)
    except TypeError:
        pass
    return labels, values


@paper_style
def plot_tsne(features: ArrayLike, colour_labels: Sequence, title: str = '',
              marker_labels: Optional[Sequence] = None,
              perplexity: float = 30.0, random_state: int = 0,
              embedding: Optional[np.ndarray] = None) -> Figure:
    """t-SNE scatter of ``features`` (n, d) coloured by ``colour_labels``
    (n,) and, optionally, drawn with one marker per ``marker_labels`` value
    (e.g. NRGF vs MF). Pass ``embedding`` (n, 2) to skip the t-SNE. One
    axes."""
    n = len(features)
    colours, colour_values = _groups(colour_labels)
    if len(colours) != n:
        raise InputError(f'{n} points but {len(colours)} colour labels')
    if marker_labels is None:
        marks, mark_values = np.full(n, ''), ['']
    else:
        marks, mark_values = _groups(marker_labels)
        if len(marks) != n:
            raise InputError(f'{n} points but {len(marks)} marker labels')
    xy = embedding if embedding is not None else tsne_embedding(
        features, perplexity, random_state)
    xy = np.asarray(xy)
    fig = new_figure(1, aspect=0.9)
    ax = fig.subplots()
    for ci, cval in enumerate(colour_values):
        for mi, mval in enumerate(mark_values):
            sel = (colours == cval) & (marks == mval)
            if not sel.any():
                continue
            label = f'{cval} / {mval}' if marker_labels is not None \
                else str(cval)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=12, alpha=0.75,
                       color=palette(ci), marker=MARKERS[mi % len(MARKERS)],
                       label=label, linewidths=0)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel('t-SNE dimension 1')
    ax.set_ylabel('t-SNE dimension 2')
    ax.legend(loc='best', markerscale=1.5, framealpha=0.7)
    return fig


def pool_tokens(features: ArrayLike) -> np.ndarray:
    """(B, M, T, D) -> (B, M, D): the mean over time steps."""
    f = _numpy(features)
    if f.ndim != 4:
        raise InputError(f'expected (B, M, T, D), got {f.shape}')
    return f.mean(axis=2)


# ---------------------------------------------------------------------------
# Cosine similarity densities (Fig. 9)
# ---------------------------------------------------------------------------

def cosine_similarities(nrgf: ArrayLike, mf: ArrayLike,
                        eps: float = 1e-12) -> Dict[str, np.ndarray]:
    """Cosine similarities behind Fig. 9, per time step.

    Args:
        nrgf, mf: (B, M, T, D).

    Returns:
        ``within_nrgf``: cos(nrgf[b, i, t], nrgf[b, j, t]) for every sample
        b, modality pair i < j (``itertools.combinations`` order) and step
        t, flattened in (b, pair, t) order: B * M(M-1)/2 * T values.
        ``nrgf_mf``: cos(nrgf[b, m, t], mf[b, m, t]), flattened in
        (b, m, t) order: B * M * T values. A zero vector has similarity 0.
    """
    n, f = (_numpy(nrgf).astype(np.float64), _numpy(mf).astype(np.float64))
    if n.ndim != 4 or n.shape != f.shape:
        raise InputError(f'nrgf and mf must both be (B, M, T, D); got '
                         f'{n.shape} and {f.shape}')
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), eps)
    f = f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), eps)
    pairs = list(itertools.combinations(range(n.shape[1]), 2))
    if pairs:
        within = np.stack([(n[:, i] * n[:, j]).sum(-1) for i, j in pairs],
                          axis=1)  # (B, P, T)
    else:
        within = np.zeros((n.shape[0], 0, n.shape[2]))
    return dict(within_nrgf=within.reshape(-1),
                nrgf_mf=(n * f).sum(-1).reshape(-1))


@paper_style
def plot_cosine_density(nrgf: ArrayLike, mf: ArrayLike, bins: int = 50,
                        title: str = 'Cosine similarity distributions'
                        ) -> Figure:
    """Densities (``np.histogram(density=True)`` on [-1, 1]) of the
    similarities from :func:`cosine_similarities`: within NRGF and
    NRGF-MF (Fig. 9). One axes."""
    sims = cosine_similarities(nrgf, mf)
    edges = np.linspace(-1.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = new_figure(1, aspect=0.75)
    ax = fig.subplots()
    for (key, label), colour in zip(
            (('within_nrgf', 'between modalities (noise-resistant)'),
             ('nrgf_mf', 'noise-resistant vs. modality-specific')),
            (palette(4), palette(0))):
        values = np.clip(sims[key], -1.0, 1.0)
        if not len(values):
            continue
        density, _ = np.histogram(values, bins=edges, density=True)
        ax.plot(centres, density, color=colour,
                label=f'{label}: mean {values.mean():.2f}')
        ax.fill_between(centres, density, color=colour, alpha=0.25)
    ax.set_xlim(-1, 1)
    ax.set_xlabel('cosine similarity')
    ax.set_ylabel('density')
    ax.set_title(title)
    ax.legend(loc='best')
    return fig
