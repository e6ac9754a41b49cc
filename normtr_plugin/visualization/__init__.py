"""Figures and reports: the paper's analysis figures (Figs. 7-10: attention
maps, t-SNE of NRGFs / MFs and by label, cosine-similarity densities) in
paper sizes and formats (``figure_style``), and the robustness report
(curves of Fig. 5, AUILC tables). Needs matplotlib. The demo page built
on these figures is ``normtr_plugin.apis.demo_page``."""
from .features import collect_features
from .figure_style import FORMATS, OKABE_ITO, new_figure, save_figure
from .plots import (cosine_similarities, plot_attention, plot_cosine_density,
                    plot_tsne, pool_tokens, tsne_embedding)
from .tsne_labels import (plot_tsne_by_label, plot_tsne_panels,
                          plot_tsne_score)
from .robustness_plot import plot_robustness
from .robustness_report import metric_file_name, render_markdown, write_report

__all__ = [
    'FORMATS', 'OKABE_ITO', 'collect_features', 'cosine_similarities',
    'metric_file_name', 'new_figure', 'plot_tsne_by_label',
    'plot_tsne_panels', 'plot_tsne_score',
    'plot_attention', 'plot_cosine_density', 'plot_robustness', 'plot_tsne',
    'pool_tokens', 'render_markdown', 'save_figure', 'tsne_embedding',
    'write_report'
]
