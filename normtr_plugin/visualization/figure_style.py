"""Figure sizes, colours and saving for papers.

- Sizes: :data:`ONE_COLUMN` (3.5 in) and :data:`TWO_COLUMN` (7.16 in)
  wide, the column widths of common two-column journal / conference
  templates (IEEE, Springer, CVF); :func:`new_figure` makes a figure of
  one or two columns on an Agg canvas (no ``pyplot``: nothing touches the
  global backend).
- Colours: the Okabe-Ito palette (:data:`OKABE_ITO`, safe for colour-blind
  readers) for categories, ``cividis`` (perceptually uniform,
  colour-blind safe) for continuous values and maps.
- :func:`save_figure` writes PNG (with ``dpi``), PDF or SVG, from the
  path's extension, atomically.
"""
import functools
import os.path as osp
from typing import Tuple

import matplotlib as mpl

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..utils import atomic_write
from ..utils.errors import InputError

__all__ = ['FORMATS', 'OKABE_ITO', 'ONE_COLUMN', 'SEQUENTIAL_CMAP',
           'TWO_COLUMN', 'new_figure', 'palette', 'paper_style',
           'save_figure']

#: Okabe & Ito (2008), black last: orange, sky blue, bluish green, yellow,
#: blue, vermillion, reddish purple, black.
OKABE_ITO: Tuple[str, ...] = ('#E69F00', '#56B4E9', '#009E73', '#F0E442',
                              '#0072B2', '#D55E00', '#CC79A7', '#000000')
SEQUENTIAL_CMAP = 'cividis'
ONE_COLUMN = 3.5   # inches
TWO_COLUMN = 7.16  # inches
FORMATS = ('png', 'pdf', 'svg')
STYLE = {'font.size': 8, 'axes.titlesize': 8, 'axes.labelsize': 8,
         'figure.titlesize': 9,
         'legend.fontsize': 7, 'xtick.labelsize': 7, 'ytick.labelsize': 7}


def palette(i: int) -> str:
    """The ``i``-th Okabe-Ito colour (cycling)."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def paper_style(draw):
    """Decorator: ``draw`` runs with the paper's font sizes (8 pt text,
    7 pt ticks and legends), so every text it creates has them."""
    @functools.wraps(draw)
    def wrapped(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapped


def new_figure(columns: int = 1, aspect: float = 0.8) -> Figure:
    """A figure ``columns`` (1 or 2) columns wide, ``aspect`` = height /
    width, laid out by matplotlib's constrained layout."""
    if columns not in (1, 2):
        raise InputError(f'columns must be 1 or 2, got {columns}')
    width = ONE_COLUMN if columns == 1 else TWO_COLUMN
    fig = Figure(figsize=(width, width * aspect), layout='constrained')
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str, dpi: int = 300) -> str:
    """Save ``fig`` atomically as PNG (``dpi``), PDF or SVG, by ``path``'s
    extension; a reader never sees a half-written file."""
    fmt = osp.splitext(path)[1].lstrip('.').lower()
    if fmt not in FORMATS:
        raise InputError(f'{path}: figure format must be one of {FORMATS}, '
                         f'found {fmt!r}')
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=dpi)
    return path
