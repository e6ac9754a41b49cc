"""The composed model: modes, Eq. 9 weighting and where gradients flow."""
import pytest
import torch
from mmengine.structures import BaseDataElement

import normtr_plugin.models.adversarial as adversarial_module
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
        original = adversarial_module.grad_reverse
        adversarial_module.grad_reverse = lambda t, lam: t
    try:
        model(x, samples, mode='loss')[loss_key].backward()
    finally:
        if not reverse:
            adversarial_module.grad_reverse = original
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


# --- batched data samples, label checks, config, compile (issue 10) -------

def batched(labels, lengths=None):
    ds = BaseDataElement(gt_label=labels,
                         metainfo=dict(ids=[f's{i}' for i in range(B)]))
    if lengths is not None:
        ds.lengths = lengths
    return ds


@pytest.mark.parametrize('with_lengths', [False, True])
def test_batched_data_samples_give_the_list_forms_loss(with_lengths):
    model = build()
    x, samples = batch()
    lengths = torch.tensor([[6, 6, 6], [3, 6, 1], [0, 2, 6], [6, 5, 4]])
    if with_lengths:
        for s, n in zip(samples, lengths):
            s.lengths = n
    model.noise.manual_seed(0)
    from_list = model(x, samples, mode='loss')
    model.noise.manual_seed(0)
    labels = torch.stack([s.gt_label for s in samples])
    from_batch = model(x, batched(labels, lengths if with_lengths else None),
                       mode='loss')
    assert set(from_list) == set(from_batch)
    for k in from_list:
        torch.testing.assert_close(from_batch[k], from_list[k])


def test_lengths_are_shape_checked_and_steer_the_noise():
    model = build(noise=dict(type='ErasureNoise', probs=(0, 1, 0), seed=0))
    x, samples = batch()
    labels = torch.stack([s.gt_label for s in samples])
    with pytest.raises(ValueError, match=r'lengths must be \(B, M\) = '
                       r"\(4, 3\).*\['audio', 'video', 'text'\].*\(4, 2\)"):
        model(x, batched(labels, torch.ones(B, 2, dtype=torch.long)),
              mode='loss')
    # No valid step anywhere: nothing can be erased, D2's labels all clean.
    seen = {}
    model.noise.register_forward_hook(
        lambda mod, args, out: seen.update(noisy=out[1]))
    model(x, batched(labels, torch.zeros(B, 3, dtype=torch.long)),
          mode='loss')
    assert not seen['noisy'].any()


def test_predict_returns_one_sample_per_input():
    model = build().eval()
    x, _ = batch()
    labels = torch.arange(B, dtype=torch.float32)
    ds = batched(labels, torch.full((B, 3), T))
    out = model(x, ds, mode='predict')
    assert isinstance(out, list) and len(out) == B
    assert [s.metainfo['id'] for s in out] == [f's{i}' for i in range(B)]
    for i, s in enumerate(out):
        assert s.gt_label == labels[i] and s.pred_score.shape == ()
        assert s.lengths.tolist() == [T] * 3
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]),
                               model(x))
    bare = model(x, mode='predict')
    assert len(bare) == B and all('gt_label' not in s for s in bare)


def test_label_range_is_checked_in_predict_not_in_the_train_step():
    model = build(head=dict(type='ClassificationHead', num_classes=3))
    x, _ = batch()
    bad = batched(torch.tensor([0, 1, 3, 2]))
    with pytest.raises(ValueError, match=r'class label out of range.*'
                       r'0\.\.2, found 0\.\.3'):
        model.eval()(x, bad, mode='predict')
    good = batched(torch.tensor([0, 1, 2, 2]))
    model.train()(x, good, mode='loss')  # no host-side label check here


def test_config_is_every_init_argument():
    import inspect
    model = build()
    params = inspect.signature(NormTR.__init__).parameters
    assert list(model.config) == ['type'] + [
        p for p in params if p not in ('self', 'init_cfg')]
    assert model.config['seq_len'] == T
    assert model.config['noise'] == dict(type='ErasureNoise', seed=0)

    class Sub(NormTR):
        def __init__(self, modalities, seq_len, extra=3, **kwargs):
            super().__init__(modalities, seq_len, **kwargs)

    sub = Sub(DIMS, dict(audio=T, video=T, text=T), embed_dim=32, extra=5)
    assert sub.config == dict(type='Sub', modalities=DIMS,
                              seq_len=dict(audio=T, video=T, text=T),
                              extra=5, embed_dim=32)
    assert sub.seq_len == T


def test_seq_len_errors_name_the_modality():
    with pytest.raises(ValueError, match=r"missing \['text'\]"):
        build(seq_len=dict(audio=6, video=6))
    with pytest.raises(ValueError, match="'video' must be >= 1, got 0"):
        build(seq_len=dict(audio=6, video=0, text=6))
    with pytest.raises(ValueError, match=r"modality_discriminator.*"
                       r"different lengths.*pool='mean'"):
        build(seq_len=dict(audio=6, video=4, text=6))
    with pytest.raises(ValueError, match=r"noise_discriminator.*pool='mean'"):
        build(seq_len=dict(audio=6, video=4, text=6),
              modality_discriminator=dict(type='ModalityDiscriminator',
                                          pool='mean'))


def _train_step(model):
    def step(x, ds):
        return model.loss(x, ds)['loss_er']
    return step


@pytest.mark.parametrize('seq_len,pool', [
    (T, 'chunk'), (dict(audio=7, video=5, text=3), 'mean')])
def test_train_step_has_no_host_sync_and_compiles_whole(seq_len, pool):
    """Dynamo breaks the graph at every ``.item()``, ``int(tensor)`` or
    branch on a tensor value, so zero breaks means none in our step."""
    model = build(seq_len=seq_len, noise=dict(type='ErasureNoise'),
                  modality_discriminator=dict(type='ModalityDiscriminator',
                                              pool=pool),
                  noise_discriminator=dict(type='NoiseDiscriminator',
                                           pool=pool))
    x = {m: torch.randn(B, model.seq_lens[m], d) for m, d in DIMS.items()}
    ds = batched(torch.randn(B), torch.tensor([[2, 1, 1]] * B))
    torch._dynamo.reset()
    explained = torch._dynamo.explain(_train_step(model))(x, ds)
    assert explained.graph_break_count == 0, explained.break_reasons
    torch._dynamo.reset()
    step = torch.compile(_train_step(model), backend='aot_eager')
    losses = [step(x, ds) for _ in range(3)]
    assert all(torch.isfinite(v) for v in losses)
    # Same weights and inputs, no dropout: only the noise changes the loss.
    assert len({float(v.detach()) for v in losses}) == 3
    model.noise = None
    assert len({float(model.loss(x, ds)["loss_er"].detach())
                for _ in range(2)}) == 1
