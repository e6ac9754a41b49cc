"""Figures of the paper's analysis (Figs. 7-10): attention maps, t-SNE of
NRGFs / MFs and cosine-similarity densities. Needs matplotlib."""
from .plots import (collect_features, cosine_similarities, label_groups,
                    make_masker, mask_time_steps, plot_attention,
                    plot_cosine_density, plot_tsne, pool_tokens, save_figure,
                    tsne_embedding)

__all__ = [
    'collect_features', 'cosine_similarities', 'label_groups',
    'make_masker', 'mask_time_steps', 'plot_attention',
    'plot_cosine_density', 'plot_tsne', 'pool_tokens', 'save_figure',
    'tsne_embedding'
]
