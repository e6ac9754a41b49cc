"""Type-1 / Type-2 erasure (SPEC 3.1): windows, modalities, labels, seeds."""
import pytest
import torch

from normtr_plugin.models import ErasureNoise
from normtr_plugin.models.erasure_noise import CLEAN, TYPE1, TYPE2


@pytest.mark.parametrize('T', [1, 2, 7, 8, 50])
def test_windows_are_contiguous_and_at_most_half_T(T):
    keep, noisy, kind = ErasureNoise(seed=1).sample_masks(4000, 3, T)
    erased = keep == 0
    lengths = erased.sum(-1)
    assert lengths.max() <= T // 2
    # contiguous: at most one 0 -> 1 / 1 -> 0 transition pair
    edges = (erased[..., 1:] != erased[..., :-1]).sum(-1)
    assert edges.max() <= 2
    torch.testing.assert_close(noisy, lengths > 0)
    if T >= 2:  # every allowed length occurs
        assert set(lengths[kind == TYPE1].unique().tolist()) == \
            set(range(T // 2 + 1))


def test_kinds_clean_type1_type2():
    keep, noisy, kind = ErasureNoise(seed=0).sample_masks(6000, 3, 8)
    erased_per_mod = (keep == 0).any(-1)
    assert not erased_per_mod[kind == CLEAN].any()
    assert not noisy[kind == CLEAN].any()
    # Type-2 touches at most one modality, each modality picked sometimes.
    t2 = erased_per_mod[kind == TYPE2]
    assert t2.sum(-1).max() == 1
    assert (t2.sum(0) > 0).all()
    # Type-1 can erase several modalities with different windows.
    t1 = (keep == 0)[kind == TYPE1]
    assert (t1.any(-1).sum(-1) == 3).any()
    assert (t1[:, 0] != t1[:, 1]).any()
    counts = torch.bincount(kind, minlength=3).float() / 6000
    torch.testing.assert_close(counts, torch.full((3,), 1 / 3), atol=0.03,
                               rtol=0)


def test_forward_erases_raw_features_and_reports_labels():
    noise = ErasureNoise(probs=(0, 0, 1), seed=3)
    x = {'a': torch.rand(64, 8, 4) + 1, 'v': torch.rand(64, 8, 2) + 1}
    out, noisy = noise(x)
    for i, m in enumerate(x):
        zeroed = (out[m] == 0).all(-1)
        assert ((out[m] == x[m]) | (out[m] == 0)).all()
        torch.testing.assert_close(noisy[:, i], zeroed.any(-1))
    assert (noisy.sum(-1) <= 1).all()


def test_seeded_and_global_rng_reproducible():
    a = ErasureNoise(seed=7).sample_masks(32, 3, 8)
    b = ErasureNoise(seed=7).sample_masks(32, 3, 8)
    c = ErasureNoise(seed=8).sample_masks(32, 3, 8)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])
    torch.manual_seed(5)
    d = ErasureNoise().sample_masks(32, 3, 8)
    torch.manual_seed(5)
    e = ErasureNoise().sample_masks(32, 3, 8)
    assert torch.equal(d[0], e[0])


@pytest.mark.parametrize('probs,msg', [
    ((0.5, 0.5, 0.5), 'sum to 1'),
    ((0.5, 0.5), '3 non-negative'),
    ((1.5, -0.5, 0.0), '3 non-negative'),
])
def test_bad_probabilities(probs, msg):
    with pytest.raises(ValueError, match=msg):
        ErasureNoise(probs=probs)


def test_bad_sequence_length():
    with pytest.raises(ValueError, match='T must be >= 1, got 0'):
        ErasureNoise().sample_masks(2, 3, 0)
