"""normtr_plugin.visualization and tools/visualize.py."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from torch.utils.data import DataLoader

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap, multimodal_collate
from normtr_plugin.structures.maskers import WindowMasker, build_masker
from normtr_plugin.visualization import (collect_features,
                                         cosine_similarities, plot_attention,
                                         plot_cosine_density, plot_tsne,
                                         save_figure)


def mask_time_steps(inputs, ratio, seed):
    """The figures mask with the masker family (window: round(r T) steps).
    Returns the masked inputs and the erased steps."""
    ids = [f's{i}' for i in range(len(next(iter(inputs.values()))))]
    out, keep = WindowMasker(ratio, seed)(inputs, ids)
    return out, {m: ~k for m, k in keep.items()}


def batches(dataset, batch_size=64):
    return DataLoader(dataset, batch_size=batch_size,
                      collate_fn=multimodal_collate)


PNG = b'\x89PNG\r\n\x1a\n'
MODALITIES = ['audio', 'video', 'text']


def test_cosine_similarities_by_hand():
    # B=1, M=3, T=1, D=2
    nrgf = np.array([[[[1.0, 0.0]], [[0.0, 2.0]], [[3.0, 3.0]]]])
    mf = np.array([[[[2.0, 0.0]], [[0.0, -1.0]], [[0.0, 0.0]]]])
    sims = cosine_similarities(nrgf, mf)
    r = 1 / np.sqrt(2)
    # pairs (0,1), (0,2), (1,2)
    np.testing.assert_allclose(sims['within_nrgf'], [0.0, r, r])
    # same modality: parallel, opposite, zero MF vector
    np.testing.assert_allclose(sims['nrgf_mf'], [1.0, -1.0, 0.0])


def test_cosine_similarities_order_and_counts():
    rng = np.random.default_rng(0)
    B, M, T, D = 2, 3, 4, 5
    nrgf = torch.from_numpy(rng.standard_normal((B, M, T, D)))
    mf = torch.from_numpy(rng.standard_normal((B, M, T, D)))
    sims = cosine_similarities(nrgf, mf)
    assert sims['within_nrgf'].shape == (B * 3 * T,)
    assert sims['nrgf_mf'].shape == (B * M * T,)

    def cos(a, b):
        a, b = a.numpy(), b.numpy()
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    within = [cos(nrgf[b, i, t], nrgf[b, j, t]) for b in range(B)
              for i, j in [(0, 1), (0, 2), (1, 2)] for t in range(T)]
    cross = [cos(nrgf[b, m, t], mf[b, m, t]) for b in range(B)
             for m in range(M) for t in range(T)]
    np.testing.assert_allclose(sims['within_nrgf'], within, rtol=1e-10)
    np.testing.assert_allclose(sims['nrgf_mf'], cross, rtol=1e-10)
    with pytest.raises(ValueError):
        cosine_similarities(nrgf, mf[:, :2])


def test_cosine_density_figure():
    rng = np.random.default_rng(1)
    nrgf = rng.standard_normal((4, 3, 6, 8))
    fig = plot_cosine_density(nrgf, nrgf + 0.1 * rng.standard_normal(
        nrgf.shape))
    assert len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    # a density: integrates to 1 over [-1, 1]
    for line in lines:
        x, y = line.get_data()
        assert np.isclose((y * (x[1] - x[0])).sum(), 1.0)


def test_attention_plot_shows_head_mean():
    T, L = 4, 12
    g = torch.Generator().manual_seed(0)
    layers = [torch.rand(2, 8, L, L, generator=g).softmax(-1)
              for _ in range(2)]
    masked = [torch.rand(2, 8, L, L, generator=g).softmax(-1)
              for _ in range(2)]
    tokens = np.zeros(L, bool)
    tokens[[1, 5]] = True
    fig = plot_attention(layers, masked, MODALITIES, T, layer=-1,
                         masked_tokens=tokens)
    assert len(fig.axes) == 3  # two maps and the shared colour bar
    left, right = fig.axes[0].images[0], fig.axes[1].images[0]
    np.testing.assert_allclose(np.asarray(left.get_array()),
                               layers[-1][0].mean(0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(right.get_array()),
                               masked[-1][0].mean(0).numpy(), rtol=1e-6)
    assert left.get_clim() == right.get_clim()  # one colour scale
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == \
        MODALITIES
    fig0 = plot_attention(layers, masked, MODALITIES, T, layer=0)
    np.testing.assert_allclose(np.asarray(fig0.axes[0].images[0].get_array()),
                               layers[0][0].mean(0).numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        plot_attention(layers, masked, MODALITIES, T + 1)


def test_tsne_plot_and_save(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((12, 6))
    colours = np.array(['audio', 'video', 'text'] * 4)
    kinds = np.repeat(['NRGF', 'MF'], 6)
    fig = plot_tsne(feats, colours, 'title', marker_labels=kinds)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == 'title'
    assert len(fig.axes[0].collections) == 6  # 3 modalities x 2 kinds
    plain = plot_tsne(feats, colours, 'plain')  # colours only
    assert len(plain.axes[0].collections) == 3
    assert sorted(t.get_text() for t in
                  plain.axes[0].get_legend().get_texts()) == [
        'audio', 'text', 'video']
    path = save_figure(fig, str(tmp_path / 'sub' / 'x.png'))
    with open(path, 'rb') as f:
        assert f.read(8) == PNG
    assert os.listdir(tmp_path / 'sub') == ['x.png']  # no temp file left


def test_mask_time_steps():
    inputs = dict(a=torch.ones(3, 10, 2), v=torch.ones(3, 10, 4))
    out, masks = mask_time_steps(inputs, 0.3, seed=0)
    for m in inputs:
        assert (masks[m].sum(1) == 3).all()
        zero = (out[m] == 0).all(-1)
        assert torch.equal(zero, masks[m])
    assert (inputs['a'] == 1).all()  # not in place
    again, _ = mask_time_steps(inputs, 0.3, seed=0)
    assert all(torch.equal(out[m], again[m]) for m in inputs)


class _Dataset:
    """Packed batches of one (two modalities, T = 4), as
    MultimodalFeatureDataset.__getitem__ gives them."""

    def __init__(self, n=5, T=4):
        g = torch.Generator().manual_seed(0)
        self.items = []
        from mmengine.structures import BaseDataElement
        for i in range(n):
            sample = BaseDataElement(metainfo=dict(ids=[f's{i}']))
            sample.gt_label = torch.tensor([[i % 2, 1]])
            sample.lengths = torch.tensor([[T, T]])
            self.items.append(dict(
                inputs=dict(audio=torch.randn(1, T, 5, generator=g),
                            text=torch.randn(1, T, 7, generator=g)),
                data_samples=sample))

    def __len__(self):
        return len(self.items)

    def __getitems__(self, indices):
        return [self.items[i] for i in indices]


def test_collect_features_batches_and_restores_mode():
    from normtr_plugin.models import NormTR
    model = NormTR(dict(audio=5, text=7), seq_len=4, embed_dim=16,
                   head=dict(type='MultiBinaryHead', num_tasks=2),
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2))
    model.train()
    nrgf, mf, labels, ids = collect_features(model, batches(_Dataset(), 3),
                                             4)
    assert model.training
    assert nrgf.shape == mf.shape == (4, 2, 4, 8)
    assert ids == ['s0', 's1', 's2', 's3']
    np.testing.assert_array_equal(labels, [[0, 1], [1, 1], [0, 1], [1, 1]])
    # eval mode: deterministic; a masker changes the features
    again = collect_features(model, batches(_Dataset()), 4)
    assert torch.allclose(again[0], nrgf, atol=1e-6)
    masked = collect_features(model, batches(_Dataset()), 4,
                              masker=build_masker('random', 0.5, seed=0))
    assert not torch.allclose(masked[0], nrgf)


def _run(args):
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, timeout=300, env=env)
    if proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


def test_visualize_tool_end_to_end(tmp_path):
    data = make_synthetic_iemocap(str(tmp_path / 'data'), seed=0, sizes=dict(
        train=64, validation=32, test=32))
    work = tmp_path / 'work'
    _run(['tools/train.py', 'configs/normtr_demo.py', '--work-dir',
          str(work), '--no-test', '--cfg-options', f'data_root={data}',
          'train_cfg.max_epochs=1'])
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    out = tmp_path / 'figs'
    proc = _run(['tools/visualize.py', 'configs/normtr_demo.py', str(ckpt),
                 '--out', str(out), '--max-samples', '24',
                 '--sample-index', '3', '--kinds', 'all', '--format', 'png',
                 'svg', '--dpi', '100', '--cfg-options',
                 f'data_root={data}'])
    stems = ['attention', 'tsne_nrgf_mf_modality', 'tsne_label',
             'cosine_density']
    names = [f'{s}.{fmt}' for s in stems for fmt in ('png', 'svg')]
    # no temp files left; no robustness curves without --robustness
    assert sorted(os.listdir(out)) == sorted(names + ['index.html'])
    for stem in stems:
        path = out / f'{stem}.png'
        assert str(path) in proc.stdout
        with open(path, 'rb') as f:
            assert f.read(8) == PNG
        assert osp.getsize(path) > 10_000
        assert (out / f'{stem}.svg').read_text().lstrip().startswith('<?xml')
    index = (out / 'index.html').read_text()
    assert all(f'src="{s}.png"' in index for s in stems)
