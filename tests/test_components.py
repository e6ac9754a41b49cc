"""Each component against SPEC section 2 and 3: shapes, sharing, errors."""
import pytest
import torch

from normtr_plugin.models import (ClassificationHead, FusionDecoder,
                                  GradientReversal, MFExtractor,
                                  ModalityDiscriminator, ModalityProjection,
                                  MultiBinaryHead, MultiLabelHead,
                                  NoiseDiscriminator, NRGFExtractor,
                                  RegressionHead, grad_reverse)

B, T, N = 3, 6, 32
DIMS = dict(audio=5, video=7, text=9)


def inputs(batch=B, steps=T):
    torch.manual_seed(0)
    return {m: torch.randn(batch, steps, d) for m, d in DIMS.items()}


def test_projection_stacks_modalities_in_config_order():
    proj = ModalityProjection(DIMS, N)
    x = inputs()
    out = proj(x)
    assert out.shape == (B, 3, T, N)
    for i, m in enumerate(DIMS):
        torch.testing.assert_close(out[:, i], proj.proj[m](x[m]))


def test_projection_names_the_modality_and_both_dims():
    proj = ModalityProjection(DIMS, N)
    x = inputs()
    x['video'] = torch.randn(B, T, 8)
    with pytest.raises(ValueError, match=r"'video'.*\(B, T, 7\).*8"):
        proj(x)
    del x['video']
    with pytest.raises(ValueError, match=r"\['video'\] are missing"):
        proj(x)


def test_nrgf_is_one_shared_mlp_and_mf_one_mlp_per_modality():
    x = torch.randn(B, 3, T, N)
    nrgf = NRGFExtractor(N)
    out = nrgf(x)
    assert out.shape == (B, 3, T, N // 2)
    # The same weights on every modality: permuting modalities permutes out.
    torch.testing.assert_close(nrgf(x.flip(1)), out.flip(1))
    layers = [m for m in nrgf.mlp if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in layers] == \
        [(N, N), (N, N // 2)]
    assert isinstance(nrgf.mlp[1], torch.nn.LeakyReLU)

    mf = MFExtractor(N, num_modalities=3)
    out = mf(x)
    assert out.shape == (B, 3, T, N // 2)
    assert len(mf.mlps) == 3
    assert not torch.equal(mf.mlps[0][0].weight, mf.mlps[1][0].weight)
    torch.testing.assert_close(out[:, 2], mf.mlps[2](x[:, 2]))
    with pytest.raises(ValueError, match='3 modality MLPs, got 2'):
        mf(x[:, :2])


def test_fusion_decoder_shapes_and_attention_on_request():
    L, D = 3 * T, N // 2
    dec = FusionDecoder(D, num_tokens=L, depth=2, num_heads=8).eval()
    q, mem = torch.randn(B, L, D), torch.randn(B, L, D)
    out = dec(q, mem)
    assert out.shape == (B, L, D)
    assert dec.pos_embed.shape == (1, L, D) and dec.pos_embed.requires_grad
    out2, attn = dec(q, mem, return_attention=True)
    torch.testing.assert_close(out, out2)
    assert len(attn) == 2 and attn[0].shape == (B, 8, L, L)
    torch.testing.assert_close(attn[0].sum(-1), torch.ones(B, 8, L))
    # Query and memory both receive the positional embedding: changing it
    # changes the output.
    with torch.no_grad():
        dec.pos_embed.add_(1.0)
    assert not torch.allclose(dec(q, mem), out)
    with pytest.raises(ValueError, match='FusionDecoder expects'):
        dec(q[:, :-1], mem)


def test_fusion_decoder_memory_matters():
    L, D = 12, 16
    dec = FusionDecoder(D, num_tokens=L, depth=1, num_heads=8).eval()
    q = torch.randn(2, L, D)
    assert not torch.allclose(dec(q, torch.randn(2, L, D)),
                              dec(q, torch.randn(2, L, D)))


def test_gradient_reversal_identity_forward_negated_scaled_backward():
    x = torch.randn(4, 5, requires_grad=True)
    y = GradientReversal(lambda_=2.5)(x)
    torch.testing.assert_close(y, x)
    upstream = torch.randn(4, 5)
    y.backward(upstream)
    torch.testing.assert_close(x.grad, -2.5 * upstream)
    x.grad = None
    (grad_reverse(x) * 3).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((4, 5), -3.0))


@pytest.mark.parametrize('mode,count', [('shared', 1), ('per_modality', 3),
                                        ('none', 0)])
def test_modality_discriminator(mode, count):
    D = 8
    disc = ModalityDiscriminator(D, seq_len=T, num_modalities=3,
                                 explainer=mode)
    assert len(disc.explainers) == count
    assert disc.classifier.in_features == T * D
    assert disc.classifier.out_features == 3
    mf, nr = torch.randn(B, 3, T, D), torch.randn(B, 3, T, D)
    logits_mf, logits_nr = disc(mf, nr)
    assert logits_mf.shape == logits_nr.shape == (B, 3, 3)
    torch.testing.assert_close(logits_mf,
                               disc.classifier(mf.flatten(2)))
    torch.testing.assert_close(logits_nr, disc.classify(disc.explain(nr)))
    if mode == 'none':  # D1 sees the NRGF as it sees the MF
        torch.testing.assert_close(logits_nr, disc.classifier(nr.flatten(2)))
    with pytest.raises(ValueError, match='explainer'):
        ModalityDiscriminator(D, T, 3, explainer='nope')


def test_noise_discriminator_is_one_linear_per_chunk():
    disc = NoiseDiscriminator(8, seq_len=T)
    x = torch.randn(B, 3, T, 8)
    out = disc(x)
    assert out.shape == (B, 3, 2)
    torch.testing.assert_close(out[:, 1], disc.classifier(x[:, 1].flatten(1)))


def test_heads_shapes_losses_and_predictions():
    tokens = torch.randn(B, 10, 16)
    reg = RegressionHead(16)
    out = reg(tokens)
    assert out.shape == (B,)
    torch.testing.assert_close(out, reg.fc(tokens.mean(1)).squeeze(-1))
    target = torch.randn(B)
    torch.testing.assert_close(reg.loss(out, target),
                               ((out - target) ** 2).mean())

    cls = ClassificationHead(16, num_classes=6)
    logits = cls(tokens)
    assert logits.shape == (B, 6)
    pred = cls.predict(logits)
    assert pred['pred_label'].tolist() == logits.argmax(-1).tolist()
    with pytest.raises(ValueError, match=r'0\.\.5, found 0\.\.6'):
        cls.check_target(torch.tensor([0, 6, 1]))

    mb = MultiBinaryHead(16, num_tasks=4)
    logits = mb(tokens)
    assert logits.shape == (B, 4, 2)
    target = torch.randint(0, 2, (B, 4))
    expected = torch.nn.functional.cross_entropy(
        logits.reshape(B * 4, 2), target.reshape(-1))
    torch.testing.assert_close(mb.loss(logits, target), expected)
    assert mb.predict(logits)['pred_score'].shape == (B, 4, 2)

    ml = MultiLabelHead(16, num_labels=6)
    logits = ml(tokens)
    pred = ml.predict(logits)
    assert pred['pred_label'].tolist() == (logits.sigmoid() > .5).long()\
        .tolist()
    with pytest.raises(ValueError, match='multi-label label out of range'):
        ml.check_target(torch.full((B, 6), 2.0))
    with pytest.raises(ValueError, match='binary label out of range'):
        mb.check_target(torch.full((B, 4), -1))
    reg.check_target(torch.full((B,), 7.0))  # regression: any value
