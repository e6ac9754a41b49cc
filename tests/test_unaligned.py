"""Unaligned data (a different T_m per modality, padded): the components,
NormTR, the plain-PyTorch example of docs/composition.md and the shipped
configs/normtr_mosi_unaligned.py train on it."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.structures import BaseDataElement

from normtr_plugin.models import (MFExtractor, ModalityDiscriminator,
                                  ModalityProjection, NoiseDiscriminator,
                                  NormTR)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES = dict(audio=(12, 5), video=(9, 7), text=(5, 9))  # T_m, N_m
SEQ = {m: t for m, (t, _) in SHAPES.items()}
DIMS = {m: n for m, (_, n) in SHAPES.items()}
B = 8


def _example():
    path = osp.join(ROOT, 'docs', 'examples', 'unaligned_model.py')
    spec = importlib.util.spec_from_file_location('unaligned_model', path)
    module = importlib.util.module_from_spec(spec)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ under docs/
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return module


def fixture(batch=B, seed=0):
    return _example().unaligned_batch(
        SHAPES, batch, torch.Generator().manual_seed(seed))


def test_projection_and_mf_token_layout():
    x, _, _ = fixture()
    proj = ModalityProjection(DIMS, 16)
    tokens = proj.tokens(x)
    assert tokens.shape == (B, 26, 16)
    torch.testing.assert_close(tokens[:, 12:21], proj.proj['video'](
        x['video']))
    with pytest.raises(ValueError, match=r'needs one T.*\.tokens'):
        proj(x)
    mf = MFExtractor(16, num_modalities=3)
    out = mf(tokens, list(SEQ.values()))
    assert out.shape == (B, 26, 8)
    torch.testing.assert_close(out[:, 21:], mf.mlps[2](tokens[:, 21:]))
    with pytest.raises(ValueError, match='seq_lens'):
        mf(tokens)


def test_mean_pool_discriminators_see_only_valid_tokens():
    _, lengths, _ = fixture()
    torch.manual_seed(0)
    d1 = ModalityDiscriminator(8, SEQ, num_modalities=3, pool='mean',
                               explainer='per_modality')
    d2 = NoiseDiscriminator(8, SEQ, pool='mean')
    assert d1.classifier.in_features == d2.classifier.in_features == 8
    feats = torch.randn(B, 26, 8)
    valid = torch.cat([torch.arange(t)[None] < lengths[:, i:i + 1]
                       for i, t in enumerate(SEQ.values())], dim=1)
    changed = torch.where(valid[..., None], feats, torch.randn(B, 26, 8))
    torch.testing.assert_close(d2(changed, lengths), d2(feats, lengths))
    for a, b in zip(d1(changed, changed, lengths), d1(feats, feats, lengths)):
        torch.testing.assert_close(a, b)
    # The mean over audio's valid tokens, through D2's single Linear.
    n = lengths[0, 0]
    expected = d2.classifier(feats[0, :n].mean(0))
    torch.testing.assert_close(d2(feats, lengths)[0, 0], expected)
    # Equal T, stacked input: 'mean' without lengths = mean over all steps.
    stacked = torch.randn(B, 3, 4, 8)
    torch.testing.assert_close(
        NoiseDiscriminator(8, 4, pool='mean')(stacked).shape, (B, 3, 2))
    with pytest.raises(ValueError, match=r"pool='chunk'.*same T.*audio"
                       r".*pool='mean'"):
        NoiseDiscriminator(8, SEQ)
    with pytest.raises(ValueError, match=r"pool='chunk'.*pool='mean'"):
        ModalityDiscriminator(8, SEQ, num_modalities=3)
    with pytest.raises(ValueError, match="pool must be 'chunk' or 'mean'"):
        NoiseDiscriminator(8, 4, pool='max')


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(modalities=DIMS, seq_len=SEQ, embed_dim=32,
               fusion=dict(type='FusionDecoder', depth=1, dropout=0.0),
               modality_discriminator=dict(type='ModalityDiscriminator',
                                           pool='mean'),
               noise_discriminator=dict(type='NoiseDiscriminator',
                                        pool='mean'),
               noise=dict(type='ErasureNoise', seed=0),
               loss_weights=dict(adv1=0.1, adv2=0.1, er=1.0))
    cfg.update(kwargs)
    return NormTR(**cfg)


def test_normtr_trains_on_unaligned_data():
    model = build()
    assert model.seq_len == SEQ and model.fusion.pos_embed.shape[1] == 26
    x, lengths, target = fixture(batch=16)
    ds = BaseDataElement(gt_label=target, lengths=lengths,
                         metainfo=dict(ids=[str(i) for i in range(16)]))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def clean_loss():
        model.eval()
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(model(x), target))

    start = clean_loss()
    for step in range(15):
        model.train()
        optimizer.zero_grad()
        losses = model(x, ds, mode='loss')
        assert {'loss_er', 'loss_adv1', 'loss_adv2'} <= set(losses)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        if step == 0:  # gradients reach every component, all finite
            for name, p in model.named_parameters():
                assert p.grad is not None and torch.isfinite(p.grad).all(), \
                    name
            for part in ('projection.', 'nrgf.', 'mf.', 'fusion.', 'head.',
                         'modality_discriminator.', 'noise_discriminator.'):
                assert any(p.grad.abs().sum() > 0 for n, p in
                           model.named_parameters() if n.startswith(part))
        optimizer.step()
    assert clean_loss() < start
    feats = model.eval().extract_features(x, return_attention=True)
    assert feats['nrgf'].shape == (16, 26, 16)
    assert feats['attention'][0].shape == (16, 8, 26, 26)
    preds = model(x, ds, mode='predict')
    assert len(preds) == 16 and preds[3].metainfo['id'] == '3'


@pytest.mark.parametrize('fusion', ['TFNFusion', 'LMFFusion'])
def test_per_modality_fusions_split_by_each_length(fusion):
    model = build(fusion=dict(type=fusion))
    assert model.fusion.seq_lens == (12, 9, 5)
    x, _, _ = fixture()
    out = model(x)
    assert out.shape == (B,) and torch.isfinite(out).all()
    # audio's pooled features come from audio's 12 tokens only
    feats = model.extract_features(x)
    from normtr_plugin.models.fusions._common import pool_per_modality
    pooled = pool_per_modality(feats['nrgf'], 3, (12, 9, 5))
    torch.testing.assert_close(pooled[:, 0], feats['nrgf'][:, :12].mean(1))


def test_plain_pytorch_unaligned_example_trains():
    example = _example()
    torch.manual_seed(0)
    model = example.UnalignedModel(SHAPES, noise_seed=0)
    x, lengths, target = fixture(batch=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def clean_loss():
        model.eval()
        with torch.no_grad():
            return model.compute_losses(x, lengths, target)['loss_er'].item()

    start = clean_loss()
    for _ in range(15):
        model.train()
        optimizer.zero_grad()
        losses = model.compute_losses(x, lengths, target)
        assert all(torch.isfinite(v) for v in losses.values())
        sum(losses.values()).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all()
                   for p in model.parameters())
        optimizer.step()
    assert clean_loss() < start


def test_shipped_unaligned_config_trains_and_logs_early(tmp_path):
    """configs/normtr_mosi_unaligned.py with no hand edits (only smaller
    T_m and sizes given as --cfg-options, for speed): the per-modality
    seq_len reaches every transform and the model, and a log line comes
    within the first iterations."""
    import re

    import numpy as np
    from mmengine.config import Config
    from mmengine.hooks import Hook

    from conftest import label_features
    from normtr_plugin.datasets import feature_schema, save_feature_dataset
    from normtr_plugin.engine import build_runner, merge_cfg_options

    dims = dict(audio=5, video=20, text=768)  # MOSI's
    T = dict(audio=12, video=9, text=5)
    rng = np.random.default_rng(0)
    splits = {split: dict(
        id=[f'{split}_{i}' for i in range(n)],
        label=rng.uniform(-3, 3, n).astype(np.float32),
        **{m: rng.standard_normal((n, T[m] + 2, d)).astype(np.float32)
           for m, d in dims.items()})
        for split, n in dict(train=16, validation=4, test=4).items()}
    root = save_feature_dataset(splits, str(tmp_path / 'mosi_unaligned'),
                                feature_schema(dims, label_features(
                                    'regression', ['label'])))
    shapes = []

    class Shapes(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            shapes.append({m: tuple(x.shape) for m, x in
                           data_batch['inputs'].items()})

    cfg = merge_cfg_options(
        Config.fromfile(osp.join(ROOT, 'configs',
                                 'normtr_mosi_unaligned.py')),
        {'data_root': root, **{f'seq_len.{m}': t for m, t in T.items()},
         'train_cfg.max_epochs': 1, 'model.embed_dim': 32,
         'train_dataloader.batch_size': 2})
    cfg.work_dir = str(tmp_path / 'wd')
    runner = build_runner(cfg)
    assert runner.model.seq_lens == T
    runner.register_hook(Shapes())
    runner.train()
    assert len(shapes) == 8
    assert shapes[0] == {m: (2, T[m], d) for m, d in dims.items()}
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert re.search(r'Epoch\(train\)\s*\[1\]\[\s*5/8\]', log)
