"""Issue 12: the noise-aware scheme's levers (each a numeric check of the
gradient reaching the NRGF extractor) and its invariance metrics."""
import glob
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement

import normtr_plugin.models.adversarial as adversarial_module
from conftest import ROOT, write_dataset
from normtr_plugin.datasets import multimodal_collate
from normtr_plugin.engine import (GRLLambdaHook, build_runner, dann_lambda,
                                  merge_cfg_options, prepare_config)
from normtr_plugin.evaluation import InvarianceMetric
from normtr_plugin.models import ModalityDiscriminator, NormTR
from normtr_plugin.models.invariance import cosine_statistics
from normtr_plugin.registry import DATASETS, MODELS, build_in_scope

DIMS = dict(audio=5, video=7, text=9)
T, B, D = 6, 4, 16   # D = N/2


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(modalities=DIMS, seq_len=T, embed_dim=2 * D,
               fusion=dict(type='FusionDecoder', depth=1, dropout=0.0),
               noise=dict(type='ErasureNoise', seed=0))
    cfg.update(kwargs)
    return NormTR(**cfg)


def batch(lengths=None):
    torch.manual_seed(1)
    x = {m: torch.randn(B, T, d) for m, d in DIMS.items()}
    samples = BaseDataElement(gt_label=torch.randn(B),
                              metainfo=dict(ids=[str(i) for i in range(B)]))
    if lengths is not None:
        samples.lengths = lengths
    return x, samples


def grads(model, loss_key, identity_grl=False, lengths=None):
    """Parameter gradients of ``losses[loss_key]`` and the gradient that
    reaches the NRGF extractor's output (B, M, T, D)."""
    model.zero_grad()
    model.noise.generator.manual_seed(0)
    seen = {}

    def capture(module, args, out):  # tokens (B, L, D) -> (B, M, T, D)
        out.register_hook(lambda g: seen.__setitem__(
            'nrgf', g.unflatten(1, (len(DIMS), T)).clone()))

    handle = model.nrgf.register_forward_hook(capture)
    original = adversarial_module.grad_reverse
    if identity_grl:
        adversarial_module.grad_reverse = lambda t, lam: t
    try:
        x, samples = batch(lengths)
        model(x, samples, mode='loss')[loss_key].backward()
    finally:
        adversarial_module.grad_reverse = original
        handle.remove()
    params = {n: None if p.grad is None else p.grad.clone()
              for n, p in model.named_parameters()}
    return params, seen.get('nrgf')


def zero(g):
    return g is None or g.abs().sum() == 0


# ------------------------------------------------ lever 1: the reversal

@pytest.mark.parametrize('loss_key', ['loss_adv1', 'loss_adv2'])
@pytest.mark.parametrize('reversal', ['coupled', 'decoupled', 'probe'])
def test_reversal_strength_is_decoupled_from_the_loss_weight(
        loss_key, reversal):
    """F_NR gets -lambda*alpha*g (coupled), -lambda*g (decoupled) or
    nothing (probe), g the gradient of the UNWEIGHTED adversarial loss; the
    discriminator always learns from alpha*g."""
    alpha, lam = 0.1, 0.5
    weights = dict(adv1=0.0, adv2=0.0, er=0.0)
    weights[loss_key[5:]] = alpha
    model = build(loss_weights=weights, grl_lambda=lam, reversal=reversal)
    p_got, n_got = grads(model, loss_key)
    # reference: the unweighted loss, no reversal
    ref = build(loss_weights=dict(weights, **{loss_key[5:]: 1.0}))
    p_ref, n_ref = grads(ref, loss_key, identity_grl=True)
    factor = dict(coupled=-lam * alpha, decoupled=-lam, probe=0.0)[reversal]
    assert n_ref.abs().sum() > 0
    if reversal == 'probe':
        assert n_got is None  # detached: the extractor is not even reached
    else:
        torch.testing.assert_close(n_got, factor * n_ref)
    for name, g in p_got.items():
        # g feeds F_M too, so D1's MF branch also reaches the projection
        if name.startswith('nrgf.') or (name.startswith('projection.') and
                                        loss_key == 'loss_adv2'):
            if reversal == 'probe':
                assert zero(g), name
            else:
                torch.testing.assert_close(g, factor * p_ref[name])
        elif name.startswith(('modality_discriminator.',
                              'noise_discriminator.')) and \
                not zero(p_ref[name]):
            torch.testing.assert_close(g, alpha * p_ref[name])
        elif name.startswith('mf.') and loss_key == 'loss_adv1':
            expected = 0.0 if reversal == 'probe' else alpha
            torch.testing.assert_close(g if g is not None else
                                       torch.zeros_like(p_ref[name]),
                                       expected * p_ref[name])


def test_probe_trains_exactly_like_no_discriminators():
    """Noise-only ablation: probes change nothing else in the model."""
    def train(**kwargs):
        model = build(**kwargs)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        x, samples = batch()
        for _ in range(3):
            losses = model(x, samples, mode='loss')
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model, losses
    probe, losses = train(reversal='probe')
    off, _ = train(modality_discriminator=None, noise_discriminator=None)
    assert {'loss_adv1', 'loss_adv2'} <= set(losses)
    off_params = dict(off.named_parameters())
    assert off_params
    for name, p in off_params.items():
        torch.testing.assert_close(dict(probe.named_parameters())[name], p,
                                   rtol=0, atol=0)
    full, _ = train()  # the real scheme does change the extractor
    assert not torch.equal(full.nrgf.mlp[0].weight, off.nrgf.mlp[0].weight)


# ------------------------------------------------ lever 2: DANN's schedule

def test_dann_lambda_values():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_lambda(1.0, gamma=10) == pytest.approx(0.9999092)
    with pytest.raises(ValueError, match='progress'):
        dann_lambda(1.5)
    with pytest.raises(ValueError, match='gamma'):
        GRLLambdaHook(gamma=0)


@pytest.mark.parametrize('it', [0, 3, 10])
def test_grl_lambda_hook_schedules_the_reversed_gradient(it):
    alpha, lam_max, max_iters = 0.1, 2.0, 20
    weights = dict(adv1=alpha, adv2=0.0, er=0.0)
    model = build(loss_weights=weights, grl_lambda=lam_max)
    runner = SimpleNamespace(model=model, iter=it, max_iters=max_iters,
                             message_hub=MessageHub.get_instance('grl'))
    hook = GRLLambdaHook()
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=it)
    lam = lam_max * (2 / (1 + math.exp(-10 * it / max_iters)) - 1)
    assert model.grl_lambda == pytest.approx(lam)
    assert runner.message_hub.get_scalar('train/grl_lambda').current() == \
        pytest.approx(lam)
    _, got = grads(model, 'loss_adv1')
    ref = build(loss_weights=dict(weights, adv1=1.0))
    _, plain = grads(ref, 'loss_adv1', identity_grl=True)
    torch.testing.assert_close(got, -lam * alpha * plain)
    if it == 0:
        assert got.abs().sum() == 0


# -------------------------------------- lever 3: GRL and explainer placement

def test_grl_after_the_explainer_reverses_the_explainer_too():
    """Before (SPEC 3.2): the explainer helps D1 (+alpha g). After: it
    sits on the extractor's side (-lambda alpha g). F_NR gets the same
    -lambda alpha g either way at equal weights."""
    alpha, lam = 0.1, 0.5
    weights = dict(adv1=alpha, adv2=0.0, er=0.0)
    before = build(loss_weights=weights, grl_lambda=lam)
    after = build(loss_weights=weights, grl_lambda=lam,
                  grl_position='after_explainer')
    p_before, n_before = grads(before, 'loss_adv1')
    p_after, n_after = grads(after, 'loss_adv1')
    torch.testing.assert_close(n_after, n_before)
    explainer = [n for n in p_before if '.explainers.' in n]
    assert explainer
    for n in explainer:
        assert p_before[n].abs().sum() > 0
        torch.testing.assert_close(p_after[n], -lam * p_before[n])
    with pytest.raises(ValueError, match='grl_position must be'):
        build(grl_position='middle')
    with pytest.raises(ValueError, match='reversal must be'):
        build(reversal='half')


def test_per_modality_explainer_routes_each_chunk_through_its_own():
    """Per-modality explainers that copy the shared one give the shared
    gradient; changing explainer k changes only chunk k's gradient."""
    weights = dict(adv1=1.0, adv2=0.0, er=0.0)
    shared = build(loss_weights=weights)
    per = build(loss_weights=weights, modality_discriminator=dict(
        type='ModalityDiscriminator', explainer='per_modality'))
    per.load_state_dict({**shared.state_dict(), **{
        f'modality_discriminator.explainers.{k}.{rest}': v
        for k in range(3)
        for rest, v in shared.modality_discriminator.explainers[0]
        .state_dict().items()}})
    _, n_shared = grads(shared, 'loss_adv1')
    _, n_per = grads(per, 'loss_adv1')
    torch.testing.assert_close(n_per, n_shared)
    with torch.no_grad():
        per.modality_discriminator.explainers[1][0].weight.mul_(-2.0)
    _, n_changed = grads(per, 'loss_adv1')
    torch.testing.assert_close(n_changed[:, [0, 2]], n_shared[:, [0, 2]])
    assert not torch.allclose(n_changed[:, 1], n_shared[:, 1])


# -------------------------------------------- lever 4: what D1 sees

@pytest.mark.parametrize('pool', ['chunk', 'mean'])
def test_what_d1_sees_sets_the_gradient_per_token(pool):
    """No explainer, so D1 is one Linear: the gradient reaching token t of
    chunk m is -lambda alpha/(2BM) (softmax - onehot) W, reshaped per
    token (chunk) or shared equally by the valid tokens (mean; padding
    gets none)."""
    alpha, lam, M = 0.2, 0.5, 3
    lengths = torch.tensor([[T, T, T], [4, T, 2], [T, 3, T], [1, 1, T]])
    model = build(loss_weights=dict(adv1=alpha, adv2=0.0, er=0.0),
                  grl_lambda=lam, modality_discriminator=dict(
                      type='ModalityDiscriminator', explainer='none',
                      pool=pool))
    _, got = grads(model, 'loss_adv1', lengths=lengths)
    x, samples = batch(lengths)
    model.noise.generator.manual_seed(0)
    noisy, _ = model.noise(x, lengths=lengths)
    with torch.no_grad():
        nrgf = model.extract_features(noisy)['nrgf']        # (B, M, T, D)
    d1 = model.modality_discriminator.classifier
    valid = (torch.arange(T) < lengths[..., None]).float()  # (B, M, T)
    if pool == 'chunk':
        vectors = nrgf.flatten(2)
    else:
        vectors = (nrgf * valid[..., None]).sum(2) / \
            lengths[..., None].float()
    probs = F.softmax(d1(vectors), -1)
    dlogits = (probs - torch.eye(M)[None]) / (2 * B * M)     # (B, M, M)
    dvec = dlogits @ d1.weight                               # (B, M, width)
    if pool == 'chunk':
        expected = dvec.unflatten(2, (T, D))
    else:
        expected = dvec[:, :, None] * (valid / lengths[..., None])[..., None]
        assert got[3, 0, 1:].abs().sum() == 0  # padding: no gradient
    torch.testing.assert_close(got, -lam * alpha * expected)


# ------------------------------------------------ the invariance metrics

def metric_of(stats_list):
    metric = InvarianceMetric()
    metric.process({}, [{'invariance': s} for s in stats_list])
    return metric.compute_metrics(metric.results)


def per_sample(stats):
    n = next(iter(stats.values())).shape[0]
    return [{k: v[i] for k, v in stats.items()} for i in range(n)]


def test_identical_nrgfs_give_cosine_one_and_d1_at_chance():
    model = build().eval()
    x, _ = batch()
    feats = model.extract_features(x)
    torch.manual_seed(2)
    same = torch.randn(B, 1, T, D).expand(B, 3, T, D).contiguous()
    stats = model.invariance_statistics(x, dict(feats, nrgf=same))
    result = metric_of(per_sample(stats))
    assert result['cos_within_nrgf'] == pytest.approx(1.0)
    # D1 sees the same chunk three times: it names one modality, right once
    assert result['d1_nrgf_acc'] == pytest.approx(100 / 3)
    assert result['d1_chance'] == pytest.approx(100 / 3)
    assert set(result) == {'d1_nrgf_acc', 'd1_mf_acc', 'd1_chance', 'd2_acc',
                           'd2_majority', 'cos_within_nrgf', 'cos_nrgf_mf'}


def test_distinct_features_give_d1_right_and_cosines_zero():
    """Orthogonal hand-built features, and a D1 that reads them off."""
    M = 3
    d1 = ModalityDiscriminator(D, T, M, explainer='none', pool='mean')
    with torch.no_grad():
        d1.classifier.weight.zero_()
        d1.classifier.bias.zero_()
        d1.classifier.weight[:, :M] = torch.eye(M)
    nrgf = torch.zeros(B, M, T, D)
    mf = torch.zeros(B, M, T, D)
    for m in range(M):
        nrgf[:, m, :, m] = 1.0          # modality m on axis m
        mf[:, m, :, M + m] = 1.0        # orthogonal to every NRGF
    logits_mf, logits_nr = d1(nrgf, nrgf)
    assert (logits_nr.argmax(-1) == torch.arange(M)).all()
    stats = cosine_statistics(nrgf, mf, (T,) * M)
    torch.testing.assert_close(stats['cos_within_nrgf'], torch.zeros(B))
    torch.testing.assert_close(stats['cos_nrgf_mf'], torch.zeros(B))


def test_cosines_count_valid_steps_only():
    nrgf = torch.ones(2, 2, T, D)
    nrgf[:, 1, 3:] = -1.0   # opposite after step 3 ...
    lengths = torch.tensor([[T, 3], [T, T]])  # ... padding for sample 0
    stats = cosine_statistics(nrgf, nrgf.clone(), (T, T), lengths)
    torch.testing.assert_close(stats['cos_within_nrgf'],
                               torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(stats['cos_nrgf_mf'], torch.ones(2))
    # unequal T_m: the modalities' mean NRGFs over valid steps
    tokens = torch.cat([torch.ones(2, 4, D), -torch.ones(2, 2, D)], 1)
    stats = cosine_statistics(tokens, None, (4, 2))
    torch.testing.assert_close(stats['cos_within_nrgf'], -torch.ones(2))


def test_metric_aggregates_d2_against_its_majority_rate():
    stats = [dict(d2_correct=torch.tensor([1., 1.]),
                  d2_noisy=torch.tensor([1., 0.])),
             dict(d2_correct=torch.tensor([0., 1.]),
                  d2_noisy=torch.tensor([0., 0.]))]
    result = metric_of(stats)
    assert result == dict(d2_acc=75.0, d2_majority=75.0)
    empty = InvarianceMetric()
    empty.process({}, [{'pred_score': torch.tensor(0.)}])
    assert empty.compute_metrics(empty.results) == {}


def test_predict_attaches_deterministic_stats_and_keeps_rng_alone():
    model = build(noise=dict(type='ErasureNoise', seed=3)).eval()
    x, samples = batch(torch.tensor([[T, T, T], [2, T, 4], [T, 1, T],
                                     [T, T, 5]]))
    # off by default (only an evaluator with InvarianceMetric asks)
    assert 'invariance' not in model(x, samples.clone(), mode='predict')[0]
    assert 'compute_invariance' not in model.config
    model.compute_invariance = True
    rng, noise_state = torch.get_rng_state(), \
        model.noise.generator.get_state()
    first = model(x, samples, mode='predict')
    second = model(x, samples.clone(), mode='predict')
    assert torch.equal(rng, torch.get_rng_state())
    assert torch.equal(noise_state, model.noise.generator.get_state())
    assert set(first[0].invariance) == {
        'cos_within_nrgf', 'cos_nrgf_mf', 'd1_mf_correct', 'd1_nrgf_correct',
        'd2_correct', 'd2_noisy'}
    for a, b in zip(first, second):
        for k, v in a.invariance.items():
            torch.testing.assert_close(v, b.invariance[k])
    assert first[0].invariance['d1_nrgf_correct'].shape == (3,)
    model.eval_invariance = None
    assert 'invariance' not in model(x, samples.clone(), mode='predict')[0]
    with pytest.raises(ValueError, match='eval_invariance takes'):
        build(eval_invariance=dict(seed=1))


@pytest.mark.parametrize('loss_key,disc', [('loss_adv1', 'modality'),
                                           ('loss_adv2', 'noise')])
def test_confusion_trains_the_extractor_towards_an_unsure_discriminator(
        loss_key, disc):
    """F_NR gets lambda dC/dF, C the cross-entropy of D's prediction to the
    uniform distribution; D learns alpha L on detached NRGFs only."""
    alpha, lam = 0.1, 0.5
    weights = dict(adv1=0.0, adv2=0.0, er=0.0)
    weights[loss_key[5:]] = alpha
    model = build(loss_weights=weights, grl_lambda=lam, reversal='confusion')
    conf_key = 'loss_conf' + loss_key[-1]
    losses = model(*batch(), mode='loss')
    assert set(losses) >= {loss_key, conf_key}
    p_conf, n_conf = grads(model, conf_key)
    # reference: C by hand on the same (noisy) NRGFs
    x, samples = batch()
    model.noise.generator.manual_seed(0)
    noisy, labels = model.noise(x)
    nrgf = model.extract_features(noisy)['nrgf'].detach().requires_grad_()
    module = getattr(model, f'{disc}_discriminator')
    if disc == 'modality':
        logits = module(model.extract_features(noisy)['mf'], nrgf)[1]
    else:
        logits = module(nrgf)
    C = -F.log_softmax(logits, -1).mean()
    C.backward()
    torch.testing.assert_close(n_conf, lam * nrgf.grad)
    assert all(zero(g) for n, g in p_conf.items()
               if n.startswith(f'{disc}_discriminator.'))
    # the discriminator's own loss: alpha * plain gradient, F_NR untouched
    p_adv, n_adv = grads(model, loss_key)
    ref = build(loss_weights=dict(weights, **{loss_key[5:]: 1.0}),
                reversal='probe')
    p_ref, _ = grads(ref, loss_key)
    assert n_adv is None
    for n, g in p_adv.items():
        if n.startswith(f'{disc}_discriminator.') and not zero(p_ref[n]):
            torch.testing.assert_close(g, alpha * p_ref[n])
    with pytest.raises(ValueError, match='confusion.*before_explainer'):
        build(reversal='confusion', grl_position='after_explainer')


# ------------------------------------------------ the experiment's configs

NOISE_AWARE = sorted(glob.glob(
    osp.join(ROOT, 'configs', 'noise_aware', '*', '*.py')))
# variant -> (reversal, hook, discriminator lr_mult, noise)
VARIANTS = dict(paper=('coupled', False, None, True),
                noise_only=('probe', False, None, True),
                neither=('probe', False, None, False),
                decoupled_dann=('decoupled', True, None, True),
                decoupled_dann_dlr10=('decoupled', True, 10.0, True),
                confusion_dlr10=('confusion', False, 10.0, True))


def tiny_data(tmp_path, family, sizes=None):
    main = Config.fromfile(osp.join(ROOT, 'configs', f'normtr_{family}.py'))
    ds = main.train_dataloader.dataset
    return write_dataset(tmp_path / 'data', dict(main.modalities),
                         task=ds.task, label_columns=ds.label_columns,
                         seq_len=main.seq_len + 3,
                         sizes=sizes or dict(train=4, validation=2, test=2))


def test_every_family_has_the_variants():
    for family in ('mmmo', 'demo'):
        names = {osp.splitext(osp.basename(p))[0] for p in NOISE_AWARE
                 if osp.basename(osp.dirname(p)) == family}
        assert names == set(VARIANTS), family


@pytest.mark.parametrize('path', NOISE_AWARE, ids=lambda p: osp.relpath(
    p, osp.join(ROOT, 'configs')))
def test_variant_config_builds_and_trains(path, tmp_path):
    family = osp.basename(osp.dirname(path))
    name = osp.splitext(osp.basename(path))[0]
    cfg = merge_cfg_options(Config.fromfile(path),
                            dict(data_root=tiny_data(tmp_path, family)))
    prepare_config(cfg)
    reversal, hook, lr_mult, noise = VARIANTS[name]
    assert cfg.model.reversal == reversal
    assert bool(cfg.custom_hooks) == hook
    custom = (cfg.optim_wrapper.get('paramwise_cfg') or {}).get(
        'custom_keys', {})
    assert custom.get('modality_discriminator', {}).get('lr_mult') == \
        lr_mult
    model = build_in_scope(MODELS, cfg.model)
    assert (model.noise is not None) == noise
    assert model.modality_discriminator.explainer_mode == 'shared'
    assert model.modality_discriminator.pool == 'chunk'
    train = build_in_scope(DATASETS, cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    data = model.data_preprocessor(
        multimodal_collate(train.__getitems__([0, 1, 2, 3])), True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = model.nrgf.mlp[0].weight.detach().clone()
    model.train()
    for _ in range(3):
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss), losses
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    expected = {'loss_er', 'loss_adv1'} | ({'loss_adv2'} if noise else set())
    if reversal == 'confusion':
        expected |= {'loss_conf1', 'loss_conf2'}
    assert {k for k in losses if 'loss' in k} == expected
    assert not torch.equal(before, model.nrgf.mlp[0].weight)


def test_runner_schedules_lambda_and_reports_invariance(tmp_path):
    """Through mmengine's Runner: the hook sets lambda from the iteration,
    the discriminators get 10x the lr, and validation and test report the
    invariance metrics next to the task metric."""
    path = osp.join(ROOT, 'configs', 'noise_aware', 'demo',
                    'decoupled_dann_dlr10.py')
    root = tiny_data(tmp_path, 'demo',
                     dict(train=96, validation=8, test=8))
    cfg = merge_cfg_options(Config.fromfile(path), {
        'data_root': root, 'train_cfg.max_epochs': 2,
        'default_hooks.logger.interval': 1})
    cfg.work_dir = str(tmp_path / 'wd')
    runner = build_runner(cfg)
    runner.train()
    iters = 2 * -(-96 // cfg.train_dataloader.batch_size)  # 2 epochs
    assert runner.max_iters == iters
    # set before the last iteration
    assert runner.model.grl_lambda == pytest.approx(
        dann_lambda((iters - 1) / iters))
    groups = runner.optim_wrapper.optimizer.param_groups
    param_lr = {id(p): g['lr'] for g in groups for p in g['params']}
    d1 = param_lr[id(runner.model.modality_discriminator.classifier.weight)]
    nr = param_lr[id(runner.model.nrgf.mlp[0].weight)]
    assert d1 == pytest.approx(10 * nr)
    hub = runner.message_hub
    assert 'val/invariance/d1_nrgf_acc' in hub.log_scalars
    metrics = runner.test()
    assert {'Acc-2_mean', 'invariance/d1_nrgf_acc', 'invariance/d1_mf_acc',
            'invariance/d2_acc', 'invariance/d2_majority',
            'invariance/cos_within_nrgf', 'invariance/cos_nrgf_mf'} <= \
        set(metrics)
    assert metrics['invariance/d1_chance'] == pytest.approx(100 / 3)


@pytest.mark.parametrize('levers', [
    dict(reversal='decoupled'), dict(reversal='probe'),
    dict(reversal='confusion'), dict(grl_position='after_explainer')],
    ids=lambda d: '-'.join(map(str, d.values())))
def test_levers_keep_the_train_step_free_of_host_syncs(levers):
    model = build(noise=dict(type='ErasureNoise'), **levers)
    x, samples = batch(torch.tensor([[T, 3, 2]] * B))

    def step(x, samples):
        losses = model.loss(x, samples)
        return sum(v for k, v in losses.items() if 'loss' in k)

    torch._dynamo.reset()
    explained = torch._dynamo.explain(step)(x, samples)
    torch._dynamo.reset()
    assert explained.graph_break_count == 0, explained.break_reasons


def test_unequal_lengths_get_invariance_statistics():
    lens = dict(audio=7, video=5, text=3)
    model = build(seq_len=lens, modality_discriminator=dict(
        type='ModalityDiscriminator', pool='mean'),
        noise_discriminator=dict(type='NoiseDiscriminator', pool='mean'))
    model.eval()
    model.compute_invariance = True
    x = {m: torch.randn(B, lens[m], d) for m, d in DIMS.items()}
    samples = BaseDataElement(gt_label=torch.randn(B),
                              lengths=torch.tensor([[7, 5, 3]] * B))
    out = model(x, samples, mode='predict')
    result = metric_of([s.invariance for s in out])
    assert set(result) >= {'d1_nrgf_acc', 'd2_acc', 'cos_within_nrgf',
                           'cos_nrgf_mf'}
    assert -1.0 <= result['cos_within_nrgf'] <= 1.0


def test_eval_noise_per_sample_does_not_depend_on_the_batch():
    """D2's evaluation noise is a hash of (noise_seed, sample id): a sample
    gets the same erasure alone or in any batch, so one process and
    several give the same invariance metrics."""
    from normtr_plugin.models.invariance import eval_noise
    model = build().eval()
    x, samples = batch()
    ids = samples.metainfo['ids']
    full, noisy = eval_noise(model, x, None, ids)
    for i in (3, 1):
        alone, noisy_i = eval_noise(model, {m: v[i:i + 1] for m, v in
                                            x.items()}, None, [ids[i]])
        assert torch.equal(noisy_i[0], noisy[i])
        for m in DIMS:
            torch.testing.assert_close(alone[m][0], full[m][i])
    assert noisy.any()  # some sample was erased
