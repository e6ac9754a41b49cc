"""Lengths all the way into the model (issue 19): ``mask_padding``."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from normtr_plugin.models import NormTR
from normtr_plugin.models.fusions._common import pool_per_modality
from normtr_plugin.structures.tokens import masked_mean, token_padding_mask

DIMS = dict(audio=5, video=7, text=9)
T, B = 6, 4
# (fusion, query/memory) pairs: the decoder, the standard Transformer and
# the fusions that pool over time or keep one output per token
FUSIONS = [
    (dict(type='FusionDecoder', depth=2, dropout=0.0), 'nrgf', 'mf'),
    (dict(type='TransformerEncoderFusion', depth=2, dropout=0.0),
     'projected', 'projected'),
    (dict(type='TFNFusion', dropout=0.0), 'nrgf', 'mf'),
    (dict(type='LMFFusion', dropout=0.0), 'nrgf', 'mf'),
    (dict(type='ConcatFusion'), 'nrgf', 'mf'),
]
IDS = ['decoder', 'encoder', 'tfn', 'lmf', 'concat']


def build(mask, fusion, query='nrgf', memory='mf', seq_len=T, **kw):
    torch.manual_seed(0)
    adversarial = query != 'projected'
    cfg = dict(modalities=DIMS, seq_len=seq_len, embed_dim=32,
               fusion=fusion, query=query, memory=memory, noise=None,
               mask_padding=mask,
               modality_discriminator=dict(
                   type='ModalityDiscriminator', pool='mean')
               if adversarial else None,
               noise_discriminator=dict(type='NoiseDiscriminator',
                                        pool='mean') if adversarial else None,
               loss_weights=dict(adv1=0.01, adv2=0.01, er=1.0)
               if adversarial else dict(er=1.0))
    cfg.update(kw)
    return NormTR(**cfg)


def samples(lengths):
    return BaseDataElement(gt_label=torch.arange(len(lengths)) * 0.5,
                           lengths=torch.as_tensor(lengths))


@pytest.mark.parametrize('fusion,query,memory', FUSIONS, ids=IDS)
def test_full_lengths_give_todays_outputs_bit_for_bit(fusion, query, memory):
    """Equal-length data without padding: mask_padding=True equals the
    unmasked model exactly (predictions, logits and the training loss)."""
    masked = build(True, fusion, query, memory)
    old = build(False, fusion, query, memory)
    old.load_state_dict(masked.state_dict())
    torch.manual_seed(1)
    x = {m: torch.randn(B, T, d) for m, d in DIMS.items()}
    full = samples([[T] * 3] * B)
    for model in (masked, old):
        model.eval()
    assert torch.equal(masked(x, full, mode='tensor'), old(x, mode='tensor'))
    assert torch.equal(masked(x, full, mode='tensor'),
                       old(x, full, mode='tensor'))
    pred_new = masked.predict(x, full)
    pred_old = old.predict(x, samples([[T] * 3] * B))
    assert all(torch.equal(a.pred_score, b.pred_score)
               for a, b in zip(pred_new, pred_old))
    masked.train(), old.train()
    loss_new, loss_old = masked.loss(x, full), old.loss(x, full)
    assert loss_new.keys() == loss_old.keys()
    assert all(torch.equal(loss_new[k], loss_old[k]) for k in loss_new)


def test_mixed_batch_keeps_unpadded_samples_exact():
    """Samples without padding keep today's output even when another sample
    of the batch is padded."""
    fusion = FUSIONS[0][0]
    masked, old = build(True, fusion), build(False, fusion)
    old.load_state_dict(masked.state_dict())
    masked.eval(), old.eval()
    torch.manual_seed(1)
    x = {m: torch.randn(B, T, d) for m, d in DIMS.items()}
    lengths = [[T] * 3] * (B - 1) + [[2, T, 3]]
    new = masked(x, samples(lengths), mode='tensor')
    assert torch.equal(new[:-1], old(x, mode='tensor')[:-1])
    assert not torch.allclose(new[-1], old(x, mode='tensor')[-1])


def _shorter_model(model, fusion, query, memory, short):
    """The same weights, built for ``short`` steps: the positional
    embedding keeps each modality's first ``short`` rows."""
    small = build(True, fusion, query, memory, seq_len=short)
    state = model.state_dict()
    keep = torch.cat([torch.arange(m * T, m * T + short)
                      for m in range(len(DIMS))])
    for k, v in small.state_dict().items():
        if k.endswith('pos_embed'):
            state[k] = state[k][:, keep]
    small.load_state_dict(state)
    return small.eval()


@pytest.mark.parametrize('fusion,query,memory', FUSIONS[:2] + FUSIONS[2:4],
                         ids=IDS[:4])
def test_padded_sample_gives_the_unpadded_output(fusion, query, memory):
    """A sample of 4 valid steps padded (with garbage) to T gives what the
    same model gives the 4 steps unpadded (same weights, T = 4)."""
    short = 4
    model = build(True, fusion, query, memory).eval()
    small = _shorter_model(model, fusion, query, memory, short)
    torch.manual_seed(2)
    x = {m: torch.randn(2, short, d) for m, d in DIMS.items()}
    padded = {m: torch.cat([v, 5 * torch.randn(2, T - short, v.shape[2])],
                           dim=1) for m, v in x.items()}
    lengths = samples([[short] * 3] * 2)
    out = model(padded, lengths, mode='tensor')
    torch.testing.assert_close(out, small(x, mode='tensor'),
                               atol=1e-5, rtol=1e-5)
    unmasked = build(False, fusion, query, memory).eval()
    unmasked.load_state_dict(model.state_dict())
    assert not torch.allclose(unmasked(padded, lengths, mode='tensor'), out,
                              atol=1e-3)


@pytest.mark.parametrize('fusion,query,memory', FUSIONS, ids=IDS)
def test_padded_steps_get_no_gradient(fusion, query, memory):
    model = build(True, fusion, query, memory).train()
    torch.manual_seed(3)
    x = {m: torch.randn(B, T, d, requires_grad=True)
         for m, d in DIMS.items()}
    lengths = torch.tensor([[T, T, T], [2, 3, 4], [1, T, 5], [4, 4, 4]])
    losses = model.loss(x, samples(lengths))
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for j, (m, v) in enumerate(x.items()):
        pad = torch.arange(T)[None] >= lengths[:, j:j + 1]
        assert v.grad[pad].abs().max() == 0, m
        assert v.grad[~pad].abs().sum() > 0, m


def test_the_switch_is_saved_in_the_config():
    on = build(True, FUSIONS[0][0])
    off = build(False, FUSIONS[0][0])
    assert on.config['mask_padding'] is True
    assert off.config['mask_padding'] is False
    # the measured default (docs/datasets.md, "Padding in the model")
    assert NormTR(modalities=DIMS, seq_len=T).config['mask_padding'] is False


def test_token_padding_mask_and_pooling():
    lengths = torch.tensor([[2, 3], [0, 0], [1, 0]])
    mask = token_padding_mask(lengths, [3, 4])
    assert mask.tolist() == [
        [False, False, True, False, False, False, True],
        [False] * 7,  # nothing valid: attend to everything, never to none
        [False, True, True, True, True, True, True]]
    x = torch.arange(3 * 7, dtype=torch.float).reshape(3, 7, 1)
    assert masked_mean(x, mask)[:, 0].tolist() == pytest.approx([
        (0 + 1 + 3 + 4 + 5) / 5, x[1].mean().item(), 14.0])
    assert torch.equal(masked_mean(x, None), x.mean(dim=1))
    pooled = pool_per_modality(x, 2, [3, 4], mask)
    assert pooled[0, :, 0].tolist() == [0.5, 4.0]
    assert pooled[2, :, 0].tolist() == [14.0, 0.0]  # no valid video step


def test_synthetic_task_with_variable_lengths(tmp_path):
    from normtr_plugin.datasets.synthetic import (InputError,
                                                  make_synthetic_iemocap)
    import datasets as hf
    root = make_synthetic_iemocap(
        str(tmp_path / 'var'), min_len=3,
        sizes=dict(train=40, validation=8, test=8))
    train = hf.load_from_disk(root)['train']
    lens = {m: np.array([len(v) for v in train[m]]) for m in
            ('audio', 'video', 'text')}
    for v in lens.values():
        assert v.min() >= 3 and v.max() <= 8 and len(set(v)) > 1
    with pytest.raises(InputError, match='min_len'):
        make_synthetic_iemocap(str(tmp_path / 'bad'), min_len=9)


def test_cross_attention_gives_padding_no_weight():
    model = build(True, FUSIONS[0][0]).eval()
    torch.manual_seed(4)
    x = {m: torch.randn(2, T, d) for m, d in DIMS.items()}
    lengths = torch.tensor([[T, T, T], [2, T, 3]])
    weights = model.cross_attention(x, lengths)[0]
    pad = token_padding_mask(lengths, [T] * 3)
    assert weights.shape == (2, 8, 3 * T, 3 * T)
    assert weights[1][..., pad[1]].abs().max() == 0
    assert weights[1][..., ~pad[1]].sum(-1).allclose(torch.tensor(1.0))
    # the unpadded sample: the same weights (to rounding: with a mask in
    # the batch, PyTorch's no-grad attention takes another kernel)
    torch.testing.assert_close(weights[0], model.cross_attention(x)[0][0])


def test_measurement_script_runs_and_writes_the_table(tmp_path):
    """benchmarks/padding_mask.py (docs/datasets.md), one tiny seed on a
    variable-length demo: both settings trained, JSON and table written,
    a second call trains nothing."""
    import json
    import os
    import subprocess
    import sys
    from conftest import ROOT
    from normtr_plugin.datasets.synthetic import make_synthetic_iemocap
    data = make_synthetic_iemocap(str(tmp_path / 'demo'), min_len=2,
                                  sizes=dict(train=64, validation=16,
                                             test=16))
    cmd = [sys.executable, 'benchmarks/padding_mask.py', '--demo', data,
           '--seeds', '0', '--work-dir', str(tmp_path / 'work'), '--out',
           str(tmp_path / 'out'), '--cfg-options', 'train_cfg.max_epochs=1',
           'model.embed_dim=32']
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / 'out.json').read_text())
    assert set(result['demo']) == {'True', 'False'}
    for entry in result['demo'].values():
        acc = entry['runs']['0']['Acc-2_mean']
        assert 0 <= acc <= 100 and entry['summary']['Acc-2_mean'][
            'mean'] == acc
    assert '| True |' in (tmp_path / 'out.md').read_text()
    stamp = os.path.getmtime(tmp_path / 'work' / 'demo' / 'mask1' / 'seed0'
                             / 'test_metrics.json')
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert os.path.getmtime(tmp_path / 'work' / 'demo' / 'mask1' / 'seed0'
                            / 'test_metrics.json') == stamp
    bad = subprocess.run([sys.executable, 'benchmarks/padding_mask.py',
                          '--work-dir', str(tmp_path), '--out',
                          str(tmp_path / 'x')], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ('padding_mask.py: error: give --mmmo '
                                  'and/or --demo')
