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


# --- unequal lengths, valid steps, device, compile (issue 10) -------------

UNALIGNED = dict(audio=(12, 4), video=(9, 3), text=(5, 2))  # T_m, N_m


def unaligned_batch(batch=3000, seed=0):
    """Non-zero features with zero padding after each sample's length."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.stack([torch.randint(0, T + 1, (batch,), generator=g)
                           for T, _ in UNALIGNED.values()], dim=1)
    x = {}
    for i, (m, (T, N)) in enumerate(UNALIGNED.items()):
        valid = torch.arange(T)[None] < lengths[:, i:i + 1]
        x[m] = (torch.rand(batch, T, N, generator=g) + 1) * valid[..., None]
    return x, lengths


@pytest.mark.parametrize('probs,kind', [((0, 1, 0), TYPE1),
                                        ((0, 0, 1), TYPE2)])
def test_windows_lie_inside_each_modalitys_valid_steps(probs, kind):
    x, lengths = unaligned_batch()
    out, noisy = ErasureNoise(probs=probs, seed=0)(x, lengths)
    assert noisy.shape == lengths.shape and noisy.dtype == torch.bool
    for i, (m, (T, _)) in enumerate(UNALIGNED.items()):
        L = lengths[:, i]
        valid = torch.arange(T)[None] < L[:, None]
        erased = (out[m] == 0).all(-1) & valid   # padding is 0 anyway
        assert out[m].shape == x[m].shape
        assert ((out[m] == x[m]) | (out[m] == 0)).all()
        assert torch.equal(out[m][~valid], x[m][~valid])  # padding as is
        size = erased.sum(-1)
        assert (size <= L // 2).all()
        edges = (erased[:, 1:] != erased[:, :-1]).sum(-1)
        assert edges.max() <= 2                      # one window
        assert torch.equal(noisy[:, i], size > 0)   # padding never counts
        assert not noisy[L < 2, i].any()
        full = L == T                                # every size occurs
        expected = set(range(T // 2 + 1)) if kind == TYPE1 else \
            set(range(1, T // 2 + 1))
        assert expected <= set(size[full].unique().tolist())
        # start uniform over [0, L - size]: the window touches both ends
        ends = torch.where(erased, torch.arange(T) + 1, 0).amax(-1)
        assert ((ends == L) & (size > 0) & (size < L)).any()
        assert (erased[:, 0] & (size < L)).any()
    if kind == TYPE2:
        assert (noisy.sum(-1) <= 1).all()
        assert noisy.any(0).all()                    # every modality chosen


def test_lengths_default_to_all_steps_and_are_checked():
    x, _ = unaligned_batch(batch=500)
    x = {m: v + 1 for m, v in x.items()}             # no padding
    out, noisy = ErasureNoise(probs=(0, 1, 0), seed=1)(x)
    erased = (out['audio'] == 0).all(-1).sum(-1)
    assert erased.max() == 12 // 2
    with pytest.raises(ValueError, match=r'lengths must be \(B, M\) = '
                       r'\(500, 3\).*audio.*found \(500, 2\)'):
        ErasureNoise()(x, torch.zeros(500, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="modality 'video'"):
        ErasureNoise()(dict(x, video=torch.rand(499, 9, 3)))


def test_unequal_lengths_seeded_reproducible():
    x, lengths = unaligned_batch(batch=64)
    a = ErasureNoise(seed=4)(x, lengths)
    b = ErasureNoise(seed=4)(x, lengths)
    c = ErasureNoise(seed=5)(x, lengths)
    assert all(torch.equal(a[0][m], b[0][m]) for m in x)
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])
    noise = ErasureNoise(seed=4)
    first = noise(x, lengths)[1]
    assert not torch.equal(first, noise(x, lengths)[1])  # next draw
    noise.manual_seed(4)
    assert torch.equal(first, noise(x, lengths)[1])


DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('seed', [None, 2])
def test_masks_are_drawn_on_the_inputs_device(device, seed):
    x, lengths = unaligned_batch(batch=32)
    x = {m: v.to(device) for m, v in x.items()}
    noise = ErasureNoise(seed=seed)
    out, noisy = noise(x, lengths.to(device))
    assert noisy.device == x['audio'].device
    assert all(out[m].device == x[m].device for m in x)
    start, size, kind = noise.draw_windows(lengths.to(device))
    assert start.device == size.device == kind.device == x['audio'].device
    if seed is not None:
        assert noise.generator_for(device).device.type == device
        assert list(noise._generators) == [str(torch.device(device))]


def _compiled_masks(noise, steps=3):
    x = {m: torch.ones(16, T, N) for m, (T, N) in UNALIGNED.items()}
    lengths = torch.tensor([[12, 9, 5], [6, 3, 4]]).repeat(8, 1)
    torch._dynamo.reset()
    step = torch.compile(noise, backend='aot_eager')
    return [step(x, lengths) for _ in range(steps)]


@pytest.mark.parametrize('seed', [None, 0])
def test_compiled_noise_stays_random_per_step(seed):
    outs = _compiled_masks(ErasureNoise(seed=seed))
    for a, b in zip(outs, outs[1:]):
        assert not torch.equal(a[0]['audio'], b[0]['audio'])
        assert not torch.equal(a[1], b[1])
    if seed is not None:  # same draws as eager from the same seed
        eager = ErasureNoise(seed=seed)
        x = {m: torch.ones(16, T, N) for m, (T, N) in UNALIGNED.items()}
        lengths = torch.tensor([[12, 9, 5], [6, 3, 4]]).repeat(8, 1)
        for out in outs:
            assert torch.equal(out[1], eager(x, lengths)[1])
