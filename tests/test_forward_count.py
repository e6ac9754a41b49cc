"""Diagnostics only on request (issue 17): the invariance statistics (D1,
D2 and a second, noisy forward pass) run only in an evaluation whose
evaluator lists InvarianceMetric. Counted with forward hooks on the NRGF
extractor (once per forward pass) and on the two discriminators."""
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from conftest import write_dataset
from normtr_plugin.apis import NormTRInferencer
from normtr_plugin.models import NormTR

MODS = dict(audio=5, video=7, text=9)
T, N_TEST, BATCH = 6, 6, 4  # 2 test batches


def model_cfg():
    return dict(type='NormTR', modalities=MODS, seq_len=T, embed_dim=16,
                fusion=dict(type='FusionDecoder', depth=1, num_heads=2))


def count_forwards(model):
    """{'nrgf'|'d1'|'d2': calls}, filled by forward hooks."""
    counts = dict(nrgf=0, d1=0, d2=0)
    for name, module in (('nrgf', model.nrgf),
                         ('d1', model.modality_discriminator),
                         ('d2', model.noise_discriminator)):
        module.register_forward_hook(
            lambda *_, name=name: counts.__setitem__(name, counts[name] + 1))
    return counts


def runner_for(tmp_path, metrics, test_cfg=None):
    data = write_dataset(tmp_path / 'data', MODS,
                         sizes=dict(train=4, test=N_TEST), seq_len=T)
    loader = dict(
        batch_size=BATCH, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='normtr_plugin.multimodal_collate'),
        dataset=dict(type='MultimodalFeatureDataset', data_root=data,
                     split='test', modalities=MODS,
                     pipeline=[dict(type='PackMultimodalInputs')]))
    return Runner(
        model=model_cfg(), work_dir=str(tmp_path / 'work'),
        test_dataloader=loader, test_evaluator=metrics,
        test_cfg=test_cfg or dict(type='TestLoop'),
        default_hooks=dict(
            invariance_request=dict(type='InvarianceRequestHook')),
        default_scope='normtr_plugin', randomness=dict(seed=0))


@pytest.mark.parametrize('with_invariance', [False, True])
def test_evaluation_runs_the_noisy_pass_only_when_asked(tmp_path,
                                                        with_invariance):
    metrics = [dict(type='SentimentMetric')]
    if with_invariance:
        metrics.append(dict(type='InvarianceMetric'))
    runner = runner_for(tmp_path, metrics)
    counts = count_forwards(runner.model)
    results = runner.test()
    batches = -(-N_TEST // BATCH)
    if with_invariance:
        # clean + noisy NRGF pass, D1 and D2 once per batch
        assert counts == dict(nrgf=2 * batches, d1=batches, d2=batches)
        assert 'invariance/d2_acc' in results
    else:
        assert counts == dict(nrgf=batches, d1=0, d2=0)
        assert not any(k.startswith('invariance/') for k in results)
    # switched off again after the run
    assert runner.model.compute_invariance is False


def test_robustness_passes_never_run_the_adversaries(tmp_path):
    runner = runner_for(
        tmp_path, [dict(type='SentimentMetric'),
                   dict(type='InvarianceMetric')],
        test_cfg=dict(type='RobustnessTestLoop', ratios='0,0.5,1', seeds=1))
    counts = count_forwards(runner.model)
    runner.test()
    passes = runner.test_loop.results['evaluations']
    assert passes == 3
    assert counts == dict(nrgf=passes * -(-N_TEST // BATCH), d1=0, d2=0)


def test_inference_runs_one_forward_pass(tmp_path):
    torch.manual_seed(0)
    cfg = model_cfg()
    cfg.pop('type')
    model = NormTR(**cfg).eval()
    counts = count_forwards(model)
    x = {m: torch.randn(5, T, d).numpy() for m, d in MODS.items()}
    preds = NormTRInferencer(model)(x, batch_size=2)['predictions']
    assert len(preds) == 5
    assert counts == dict(nrgf=3, d1=0, d2=0)
    assert 'compute_invariance' not in model.config
