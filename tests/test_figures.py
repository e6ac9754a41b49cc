"""Paper figures: every kind opened from its file and checked for size and
format (PNG size and dpi, PDF header, SVG root), the colour-blind-safe
palette, t-SNE by label form (colour bar, one panel per emotion), the
robustness curves (task metrics by default, arrows by direction) and
index.html of tools/visualize.py --kinds all."""
import importlib.util
import json
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from normtr_plugin.evaluation import summarise_checkpoints, summarise_masking
from normtr_plugin.visualization import (OKABE_ITO, plot_attention,
                                         plot_cosine_density,
                                         plot_robustness, plot_tsne,
                                         plot_tsne_by_label, save_figure,
                                         write_report)
from normtr_plugin.visualization.figure_style import ONE_COLUMN, TWO_COLUMN

RNG = np.random.default_rng(0)
XY = RNG.standard_normal((40, 2))  # a fixed embedding: no t-SNE run
FEATS = RNG.standard_normal((40, 6))


def check_files(fig, stem, dpi=200, width_in=None):
    """Save ``fig`` as PNG, PDF and SVG; check each file."""
    png = save_figure(fig, f'{stem}.png', dpi=dpi)
    with Image.open(png) as im:
        assert im.format == 'PNG'
        assert im.info['dpi'] == pytest.approx((dpi, dpi), abs=0.5)
        w, h = im.size
    width_in = width_in or fig.get_figwidth()
    assert w == round(width_in * dpi) and h == round(fig.get_figheight()
                                                     * dpi)
    with open(save_figure(fig, f'{stem}.pdf'), 'rb') as f:
        assert f.read(5) == b'%PDF-'
    root = ET.parse(save_figure(fig, f'{stem}.svg')).getroot()
    assert root.tag == '{http://www.w3.org/2000/svg}svg'
    assert float(root.get('width').rstrip('pt')) == pytest.approx(
        width_in * 72, rel=1e-3)
    return w, h


def texts(fig):
    return [t.get_text() for t in fig.findobj(
        match=lambda a: hasattr(a, 'get_text'))]


def test_attention_two_columns(tmp_path):
    attn = RNG.random((2, 12, 12))
    fig = plot_attention(attn, attn * 0.5, ['audio', 'video', 'text'], 4,
                         masked_tokens=np.arange(12) % 3 == 0)
    assert fig.get_figwidth() == TWO_COLUMN
    w, _ = check_files(fig, str(tmp_path / 'attention'))
    assert w == round(TWO_COLUMN * 200)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ['audio', 'video', 'text']
    assert fig.axes[0].get_ylabel() == 'noise-resistant tokens (queries)'


def test_tsne_categories_use_okabe_ito(tmp_path):
    fig = plot_tsne(FEATS, np.repeat(['a', 'b', 'c', 'd'], 10), 'by class',
                    embedding=XY)
    assert fig.get_figwidth() == ONE_COLUMN
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3))
               for c in fig.axes[0].collections}
    from matplotlib.colors import to_rgb
    assert colours == {tuple(np.round(to_rgb(c), 3)) for c in OKABE_ITO[:4]}
    check_files(fig, str(tmp_path / 'tsne_class'))


def test_tsne_regression_has_a_colour_bar(tmp_path):
    scores = np.linspace(-3, 3, 40).astype(np.float32)
    fig = plot_tsne_by_label(FEATS, scores, ['score'], ['score'], 'reg',
                             embedding=XY)
    assert len(fig.axes) == 2  # map + colour bar
    assert fig.axes[1].get_ylabel() == 'true score'
    points = fig.axes[0].collections[0]
    np.testing.assert_allclose(points.get_array(), scores)
    check_files(fig, str(tmp_path / 'tsne_regression'))


def test_tsne_multi_binary_one_panel_per_emotion(tmp_path):
    names = ['happy', 'sad', 'angry', 'neutral']
    labels = RNG.integers(0, 2, (40, 4))
    fig = plot_tsne_by_label(FEATS, labels, names, names, 'emotions',
                             embedding=XY)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == names
    for k, ax in enumerate(axes):
        absent, present = ax.collections
        assert len(present.get_offsets()) == labels[:, k].sum()
        assert len(absent.get_offsets()) == 40 - labels[:, k].sum()
    assert fig.get_figwidth() == TWO_COLUMN
    check_files(fig, str(tmp_path / 'tsne_panels'))
    # classes: one colour per class name
    fig = plot_tsne_by_label(FEATS, np.arange(40) % 3, None,
                             ['neg', 'neu', 'pos'], 'cls', embedding=XY)
    assert len(fig.axes[0].collections) == 3


def test_cosine_density_files(tmp_path):
    nrgf, mf = RNG.standard_normal((2, 5, 3, 4, 8))
    fig = plot_cosine_density(nrgf, mf)
    assert fig.axes[0].get_xlabel() == 'cosine similarity'
    check_files(fig, str(tmp_path / 'cosine'))


def fake_results():
    ratios, seeds = [0.0, 0.5, 1.0], [0, 1]
    runs = []
    for k in range(2):
        per_run = {(s, r): {'MAE': 0.8 + r + 0.01 * (s + k),
                            'Acc-2': 80 - 30 * r - s - k,
                            'invariance/d1_chance': 50.0}
                   for s in seeds for r in ratios}
        runs.append(summarise_masking(per_run, ratios, seeds))
    summary = summarise_checkpoints(runs)
    entry = dict(config='c.py', key_metric='MAE', num_samples=10,
                 metrics=summary['metrics'], checkpoints=runs,
                 summary=summary, reference=None)
    return dict(command='x', masker='random', ratios=ratios, seeds=seeds,
                cfg_options={}, models={'NORM-TR': entry})


def test_robustness_curves_task_metrics_and_arrows(tmp_path):
    results = fake_results()
    fig = plot_robustness(results, 'MAE')
    ax = fig.axes[0]
    assert ax.get_ylabel() == 'MAE ↓ (lower is better)'
    assert plot_robustness(results, 'Acc-2').axes[0].get_ylabel() == \
        'Acc-2 ↑ (higher is better)'
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith('NORM-TR (AUILC')
    assert '± std over 2 training seeds' in legend[0]
    check_files(fig, str(tmp_path / 'robustness'))
    paths = write_report(results, str(tmp_path / 'report'))
    pngs = sorted(k for k in paths if k.startswith('png:'))
    assert pngs == ['png:Acc-2', 'png:MAE']  # no invariance diagnostics
    paths = write_report(results, str(tmp_path / 'all'), invariance=True)
    assert 'png:invariance/d1_chance' in paths
    with open(paths['json']) as f:
        assert 'invariance/d1_chance' in json.load(f)['models']['NORM-TR'][
            'metrics']


def test_bad_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match='png'):
        save_figure(plot_cosine_density(*RNG.standard_normal(
            (2, 2, 2, 3, 4))), str(tmp_path / 'x.jpg'))


def test_visualize_robustness_kind_and_index(tmp_path):
    """tools/visualize.py --kinds robustness from a robustness.json, every
    format, and index.html with a caption per figure."""
    spec = importlib.util.spec_from_file_location(
        'visualize_tool', osp.join(ROOT, 'tools', 'visualize.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    report = tmp_path / 'robustness.json'
    report.write_text(json.dumps(fake_results()))
    figs = tool.draw_robustness(str(report), invariance=False)
    assert sorted(figs) == ['robustness_Acc-2', 'robustness_MAE']
    assert len(tool.draw_robustness(str(report), True)) == 3
    index = tool.write_index(str(tmp_path), list(figs), 'svg')
    page = open(index).read()
    for name in figs:
        assert f'src="{name}.svg"' in page
    assert page.count('<figcaption>') == 2 and 'paper Fig. 5' in page
