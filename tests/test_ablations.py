"""Alternative fusions, the ablation configs (SPEC section 6, paper Tables 6
to 9 and 12) and the composition examples (docs/composition.md)."""
import glob
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, write_dataset
from normtr_plugin.datasets import multimodal_collate
from normtr_plugin.models import FusionDecoder
# Importing the package registers the fusions in MODELS.
from normtr_plugin.models.fusions import (ConcatFusion, GRUFusion, LMFFusion,
                                          LSTMFusion, TFNFusion,
                                          TransformerEncoderFusion)
from normtr_plugin.registry import DATASETS, MODELS, build_in_scope

ABLATIONS = sorted(glob.glob(
    osp.join(ROOT, 'configs', 'ablations', '*', '*.py')))
COMPOSE = osp.join(ROOT, 'configs', 'compose_tfn_noise_aware.py')
FAMILIES = ('mosi', 'mosei', 'iemocap', 'rml', 'mmmo', 'demo')
COMMON = {'wo_nrgf', 'wo_mf', 'wo_fusion_transformer', 'wo_noise_aware',
          'noise_only', 'standard_transformer', 'qkv_swapped', 'fusion_lstm',
          'fusion_gru', 'fusion_tfn', 'fusion_lmf'}
FUSION_OF = dict(fusion_lstm=LSTMFusion, fusion_gru=GRUFusion,
                 fusion_tfn=TFNFusion, fusion_lmf=LMFFusion,
                 wo_fusion_transformer=ConcatFusion,
                 standard_transformer=TransformerEncoderFusion,
                 qkv_swapped=FusionDecoder)

# ---------------------------------------------------------------- fusions

D, T = 16, 4
# (class, options, tokens out (None: L), out_dim)
FUSIONS = [
    (ConcatFusion, {}, None, 2 * D),
    (LSTMFusion, {}, None, D),
    (LSTMFusion, dict(hidden_dim=12, bidirectional=True), None, 12),
    (GRUFusion, {}, None, D),
    (GRUFusion, dict(hidden_dim=10), None, 10),
    (TFNFusion, {}, 1, D),
    (TFNFusion, dict(d=3, out_dim=6), 1, 6),
    (LMFFusion, {}, 1, D),
    (LMFFusion, dict(rank=2, out_dim=5), 1, 5),
    (TransformerEncoderFusion, dict(depth=1), None, D),
]


@pytest.mark.parametrize('M', [2, 3])
@pytest.mark.parametrize(
    'cls,options,tokens,out_dim', FUSIONS,
    ids=[f'{c.__name__}{"-" if o else ""}'
         f'{"-".join(f"{k}={v}" for k, v in o.items())}'
         for c, o, _, _ in FUSIONS])
def test_fusion_shapes_and_gradients(cls, options, tokens, out_dim, M):
    torch.manual_seed(0)
    L = M * T
    fusion = MODELS.build(dict(type=cls.__name__, embed_dim=D, num_tokens=L,
                               num_modalities=M, **options))
    assert isinstance(fusion, cls) and fusion.out_dim == out_dim
    query = torch.randn(3, L, D, requires_grad=True)
    memory = torch.randn(3, L, D, requires_grad=True)
    out = fusion(query, memory)
    assert out.shape == (3, tokens or L, out_dim)
    out.square().sum().backward()
    assert query.grad.abs().sum() > 0
    if cls is TransformerEncoderFusion:  # the baseline ignores the memory
        assert memory.grad is None
    else:
        assert memory.grad.abs().sum() > 0
    assert all(p.grad is not None for p in fusion.parameters())


def test_tfn_tensor_size_and_guard():
    assert TFNFusion(D, num_modalities=2, d=4).tensor_size == 25
    assert TFNFusion(D, num_modalities=3, d=4).tensor_size == 125
    with pytest.raises(ValueError, match=r'\(d \+ 1\)\^M .* 4782969'):
        TFNFusion(D, num_modalities=7, d=8)
    with pytest.raises(ValueError, match='num_modalities'):
        TFNFusion(D, num_tokens=12)


def test_tfn_is_an_outer_product_with_ones():
    """With d = 1 and M = 2 the fused tensor is [z1 z2, z1, z2, 1]."""
    fusion = TFNFusion(2, num_tokens=2, num_modalities=2, d=1, dropout=0.0)
    captured = {}
    fusion.out.register_forward_hook(
        lambda mod, args, out: captured.update(x=args[0]))
    q, m = torch.randn(1, 2, 2), torch.randn(1, 2, 2)
    fusion(q, m)
    pooled = torch.cat([q, m], -1)  # T = 1: pooling is the identity
    z = [proj(pooled[:, i])[0, 0] for i, proj in
         enumerate(fusion.modality_proj)]
    expected = torch.stack([z[0] * z[1], z[0], z[1], torch.tensor(1.)])
    torch.testing.assert_close(captured['x'][0], expected)


def test_fusions_check_their_inputs():
    with pytest.raises(ValueError, match='expects query and memory'):
        ConcatFusion(D, num_tokens=8)(torch.randn(2, 8, D),
                                      torch.randn(2, 6, D))
    with pytest.raises(ValueError, match='multiple of num_modalities'):
        LMFFusion(D, num_tokens=7, num_modalities=3)
    with pytest.raises(ValueError, match='even hidden_dim'):
        GRUFusion(D, hidden_dim=7, bidirectional=True)
    with pytest.raises(ValueError, match='divisible'):
        TransformerEncoderFusion(12, num_tokens=8, num_heads=8)


# ---------------------------------------------------------------- configs


def test_every_family_has_its_ablations():
    for family in FAMILIES:
        names = {osp.splitext(osp.basename(p))[0] for p in ABLATIONS
                 if osp.basename(osp.dirname(p)) == family}
        mods = ('audio', 'video') if family in ('rml', 'mmmo') else \
            ('audio', 'video', 'text')
        expected = COMMON | {f'only_{m}' for m in mods}
        if len(mods) == 3:
            expected |= {f'wo_{m}' for m in mods}
        assert names == expected, family
    for path in ABLATIONS:  # a one-line comment names the paper's row
        with open(path) as f:
            assert f.readline().startswith('# ')


@pytest.fixture(scope='module')
def family_data(tmp_path_factory):
    """Per family: a tiny dataset with all its modalities + its main config
    (MOSEI: its own sizes, audio 74 / video 35 / text 768, T = 50).
    """
    cache = {}

    def get(family):
        if family not in cache:
            main = Config.fromfile(
                osp.join(ROOT, 'configs', f'normtr_{family}.py'))
            ds = main.train_dataloader.dataset
            root = write_dataset(
                tmp_path_factory.mktemp(family) / 'data',
                dict(main.modalities),
                task=ds.task, label_columns=ds.label_columns,
                seq_len=main.seq_len + 3,
                sizes=dict(train=4, validation=2, test=2))
            cache[family] = root, main
        return cache[family]

    return get


def _check_structure(name, model, main):
    """What each ablation must remove, keep or replace."""
    N = main.model.embed_dim
    d1, d2 = model.modality_discriminator, model.noise_discriminator
    full = list(main.modalities)
    if name in FUSION_OF:
        assert isinstance(model.fusion, FUSION_OF[name])
    if name == 'wo_nrgf':
        assert model.nrgf is None and model.mf is not None
        assert d1 is None and d2 is None
        assert model.query == model.memory == 'mf'
    elif name == 'wo_mf':
        assert model.mf is None and d1 is None and d2 is not None
        assert model.query == model.memory == 'nrgf'
    elif name == 'wo_fusion_transformer':
        assert model.head.fc.in_features == N  # 2 x N/2
    elif name == 'wo_noise_aware':
        assert model.noise is None and d1 is None and d2 is None
        assert model.loss_weights == dict(adv1=0.0, adv2=0.0, er=1.0)
    elif name == 'noise_only':  # issue 12: erasure on, probes only
        assert model.noise is not None and d1 is not None and d2 is not None
        assert model.reversal == 'probe'
        assert model.loss_weights == main.model.loss_weights
    elif name == 'standard_transformer':
        assert model.nrgf is None and model.mf is None
        assert model.noise is None and d1 is None and d2 is None
        assert model.query == model.memory == 'projected'
        assert model.head.fc.in_features == N
        assert len(model.fusion.encoder.layers) == main.model.fusion.depth
    elif name == 'qkv_swapped':
        assert model.query == 'mf' and model.memory == 'nrgf'
    elif name.startswith('fusion_') or name == 'compose_tfn_noise_aware':
        assert model.noise is not None and d1 is not None and d2 is not None
        assert model.query == 'nrgf' and model.memory == 'mf'
        if name == 'compose_tfn_noise_aware':
            assert isinstance(model.fusion, TFNFusion)
    elif name.startswith('wo_'):
        dropped = name[3:]
        assert list(model.modalities) == [m for m in full if m != dropped]
        assert d1 is not None
    elif name.startswith('only_'):
        assert list(model.modalities) == [name[5:]]
        assert d1 is None and d2 is not None
    else:
        raise AssertionError(f'no structure check for {name}')


@pytest.mark.parametrize(
    'path', ABLATIONS + [COMPOSE],
    ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_config_builds_and_trains(path, family_data):
    family = osp.basename(osp.dirname(path))
    family = family if family in FAMILIES else 'demo'  # the compose config
    name = osp.splitext(osp.basename(path))[0]
    root, main = family_data(family)
    cfg = Config.fromfile(path)  # plain mmengine: nothing propagated
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root  # tiny generated data
    model = build_in_scope(MODELS, cfg.model)
    _check_structure(name, model, main)
    train = build_in_scope(DATASETS, cfg.train_dataloader.dataset)
    test = build_in_scope(DATASETS, cfg.test_dataloader.dataset)
    assert list(model.modalities) == list(cfg.modalities) == \
        list(train.modalities) == list(test.modalities)

    torch.manual_seed(0)
    data = model.data_preprocessor(
        multimodal_collate(train.__getitems__([0, 1, 2, 3])), True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    model.train()
    for _ in range(3):
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss), losses
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    expected = {'loss_er'}
    if model.modality_discriminator is not None:
        expected.add('loss_adv1')
    if model.noise_discriminator is not None:
        expected.add('loss_adv2')
    assert {k for k in losses if 'loss' in k} == expected
    changed = {k for k, p in model.named_parameters()
               if not torch.equal(before[k], p)}
    assert any(k.startswith('head.') for k in changed)
    fusion_params = {f'fusion.{k}' for k, _ in
                     model.fusion.named_parameters()}
    assert not fusion_params or fusion_params & changed

    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(
            multimodal_collate(test.__getitems__([0, 1]))), mode='predict')
    assert len(out) == 2 and 'pred_score' in out[0]


# ------------------------------------------------------ plain-PyTorch example


def _import_example():
    path = osp.join(ROOT, 'docs', 'examples', 'own_fusion_model.py')
    spec = importlib.util.spec_from_file_location('own_fusion_model', path)
    module = importlib.util.module_from_spec(spec)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ under docs/
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return module


def test_plain_pytorch_example_trains():
    example = _import_example()
    torch.manual_seed(0)
    modalities, seq_len = dict(audio=5, video=7, text=9), 4
    model = example.OwnFusionModel(modalities, seq_len, embed_dim=32,
                                   noise_seed=0)
    assert isinstance(model.fusion, TFNFusion)
    inputs, target = example.random_batch(modalities, seq_len, 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def clean_loss():
        model.eval()
        with torch.no_grad():
            return model.compute_losses(inputs, target)['loss_er'].item()

    start = clean_loss()
    history = [model.train_step(inputs, target, optimizer)
               for _ in range(25)]
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all()
               for h in history)
    assert {'loss_er', 'loss_adv1', 'loss_adv2', 'loss'} <= set(history[0])
    assert history[0]['loss'] != history[-1]['loss']
    assert clean_loss() < start
