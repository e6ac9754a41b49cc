"""The composed model: modes, Eq. 9 weighting and where gradients flow."""
import pytest
import torch
from mmengine.structures import BaseDataElement

import normtr_plugin.models.normtr as normtr_module
from normtr_plugin.models import NormTR

DIMS = dict(audio=5, video=7, text=9)
T, B = 6, 4


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(modalities=DIMS, seq_len=T, embed_dim=32,
               fusion=dict(type='FusionDecoder', depth=1, dropout=0.0),
               noise=dict(type='ErasureNoise', seed=0))
    cfg.update(kwargs)
    return NormTR(**cfg)


def batch(reg=True):
    torch.manual_seed(1)
    x = {m: torch.randn(B, T, d) for m, d in DIMS.items()}
    samples = [BaseDataElement(gt_label=torch.tensor(0.5 * i))
               for i in range(B)]
    return x, samples


def test_modes_and_weighted_losses():
    model = build(loss_weights=dict(adv1=0.01, adv2=0.02, er=1.0))
    x, samples = batch()
    losses = model(x, samples, mode='loss')
    assert {'loss_er', 'loss_adv1', 'loss_adv2', 'acc_d1_mf', 'acc_d1_nrgf',
            'acc_d2'} == set(losses)
    model.noise.generator.manual_seed(0)
    unweighted = build(loss_weights=dict(adv1=1.0, adv2=1.0, er=1.0))
    unweighted.load_state_dict(model.state_dict())
    ref = unweighted(x, samples, mode='loss')
    torch.testing.assert_close(losses['loss_adv1'], 0.01 * ref['loss_adv1'])
    torch.testing.assert_close(losses['loss_adv2'], 0.02 * ref['loss_adv2'])
    torch.testing.assert_close(losses['loss_er'], ref['loss_er'])
    assert model(x, mode='tensor').shape == (B,)
    model.eval()
    out = model(x, samples, mode='predict')
    assert out is samples and out[0].pred_score.shape == ()
    with pytest.raises(ValueError, match="mode must be"):
        model(x, mode='nope')


def test_evaluation_is_clean_and_deterministic():
    model = build().eval()
    x, _ = batch()
    torch.testing.assert_close(model(x), model(x))
    attn = model.cross_attention(x)
    assert attn[0].shape == (B, 8, 3 * T, 3 * T)


def _grads(model, loss_key, reverse):
    model.zero_grad()
    model.noise.generator.manual_seed(0)
    x, samples = batch()
    if not reverse:
        original = normtr_module.grad_reverse
        normtr_module.grad_reverse = lambda t, lam: t
    try:
        model(x, samples, mode='loss')[loss_key].backward()
    finally:
        if not reverse:
            normtr_module.grad_reverse = original
    return {n: None if p.grad is None else p.grad.clone()
            for n, p in model.named_parameters()}


@pytest.mark.parametrize('loss_key,disc', [
    ('loss_adv1', 'modality_discriminator'),
    ('loss_adv2', 'noise_discriminator')])
@pytest.mark.parametrize('lam', [1.0, 0.5])
def test_adversarial_gradients(loss_key, disc, lam):
    weights = dict(adv1=0.0, adv2=0.0, er=0.0)
    weights[loss_key[5:]] = 1.0
    model = build(loss_weights=weights, grl_lambda=lam)
    with_grl = _grads(model, loss_key, reverse=True)
    plain = _grads(model, loss_key, reverse=False)
    nrgf = [n for n in with_grl if n.startswith('nrgf.')]
    assert nrgf
    for n in nrgf:  # reversed (and scaled by lambda) into F_NR
        assert plain[n].abs().sum() > 0
        torch.testing.assert_close(with_grl[n], -lam * plain[n])
    for n in (n for n in with_grl if n.startswith(disc + '.')):
        if n.startswith('modality_discriminator.explainers') or \
                n.startswith(disc + '.classifier'):
            assert with_grl[n].abs().sum() > 0   # D un-reversed
            torch.testing.assert_close(with_grl[n], plain[n])
    for n in (n for n in with_grl if n.startswith('mf.')):
        if loss_key == 'loss_adv1':  # MF gets D1's gradient un-reversed
            assert with_grl[n].abs().sum() > 0
            torch.testing.assert_close(with_grl[n], plain[n])
        else:
            assert with_grl[n] is None or with_grl[n].abs().sum() == 0
    # the emotion head gets nothing from the adversarial losses
    assert all(with_grl[n] is None or with_grl[n].abs().sum() == 0
               for n in with_grl if n.startswith('head.'))


def test_no_noise_aware_scheme():
    model = build(noise=None, loss_weights=dict(adv1=0.0, adv2=0.0, er=1.0))
    x, samples = batch()
    assert set(model(x, samples, mode='loss')) == {'loss_er'}


def test_config_errors():
    with pytest.raises(KeyError, match=r"unknown component type 'NoSuch'.*"
                       r"NRGFExtractor"):
        build(nrgf=dict(type='NoSuch'))
    with pytest.raises(ValueError, match='seq_len T must be >= 1'):
        build(seq_len=0)
    with pytest.raises(ValueError, match='probs must sum to 1'):
        build(noise=dict(type='ErasureNoise', probs=(0.2, 0.2, 0.2)))
    with pytest.raises(ValueError, match='unknown'):
        build(loss_weights=dict(adv3=1.0))
    model = build()
    x, _ = batch()
    x['text'] = torch.randn(B, T + 1, 9)
    with pytest.raises(ValueError, match=r"'text'.*seq_len 6, found 7"):
        model(x)
    x['text'] = torch.randn(B + 1, T, 9)
    with pytest.raises(ValueError, match='share the batch size'):
        model(x)
    x = {m: torch.randn(B, T + 2, d) for m, d in DIMS.items()}
    with pytest.raises(ValueError, match='configured for seq_len 6'):
        model(x)
