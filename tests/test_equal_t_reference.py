"""Equal-T numbers are those of the implementation before issue 10.

``tests/fixtures/equal_t_reference.json`` was written by running this file as a
script (``python tests/test_equal_t_reference.py``) on the code before the
unequal-length refactor. The test rebuilds the same model, fills every
parameter from a fixed generator (by name, so construction order does not
matter) and compares the outputs and the parameter names and shapes
(checkpoints and published weights must still load).
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.structures import BaseDataElement

from normtr_plugin.models import NormTR

REFERENCE = osp.join(osp.dirname(__file__), 'fixtures',
                     'equal_t_reference.json')
DIMS = dict(audio=5, video=7, text=9)
T, B = 3, 2


def reference_case():
    model = NormTR(DIMS, seq_len=T, embed_dim=16,
                   fusion=dict(type='FusionDecoder', depth=2, dropout=0.0),
                   noise=dict(type='ErasureNoise', probs=(1.0, 0.0, 0.0)))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, p in sorted(model.state_dict(keep_vars=True).items()):
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    g = torch.Generator().manual_seed(1)
    x = {m: torch.randn(B, T, d, generator=g) for m, d in DIMS.items()}
    labels = torch.tensor([0.5, -1.25])
    return model, x, labels


def compute(model, x, data_samples):
    model.train()
    losses = model(x, data_samples, mode='loss')
    model.eval()
    with torch.no_grad():
        feats = model.extract_features(x, return_attention=True)
        out = dict(tensor=model(x), projected=feats['projected'],
                   nrgf=feats['nrgf'], mf=feats['mf'], fused=feats['fused'],
                   attention0=feats['attention'][0])
    out.update({k: v.detach() for k, v in losses.items()})
    return out


@pytest.mark.parametrize('form', ['list', 'batched'])
def test_equal_t_matches_the_implementation_before_issue_10(form):
    with open(REFERENCE) as f:
        reference = json.load(f)
    model, x, labels = reference_case()
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == \
        reference['params']
    samples = BaseDataElement(gt_label=labels) if form == 'batched' else \
        [BaseDataElement(gt_label=v) for v in labels]
    out = compute(model, x, samples)
    assert set(out) == set(reference['outputs'])
    for key, expected in reference['outputs'].items():
        expected = torch.tensor(expected['values']).reshape(
            expected['shape'])
        torch.testing.assert_close(out[key].float(), expected, rtol=1e-5,
                                   atol=1e-6, msg=key)


if __name__ == '__main__':
    model, x, labels = reference_case()
    samples = [BaseDataElement(gt_label=v) for v in labels]
    out = compute(model, x, samples)
    data = dict(
        params=[[k, list(v.shape)] for k, v in model.state_dict().items()],
        outputs={k: dict(shape=list(v.shape), values=v.flatten().tolist())
                 for k, v in out.items()})
    with open(REFERENCE, 'w') as f:
        json.dump(data, f)
    print('wrote', REFERENCE, sorted(out))
