"""Per-sample invariance statistics of the NRGFs, computed at evaluation.

Does the noise-aware scheme (paper section 3.5) make the NRGFs generic?
:meth:`NormTR.predict <normtr_plugin.models.NormTR.predict>` attaches these
statistics to each data sample (field ``invariance``, a dict) and
:class:`~normtr_plugin.evaluation.InvarianceMetric` aggregates them over a
split:

- ``cos_within_nrgf`` (): the mean cosine similarity between NRGF tokens
  of different modalities of the sample at the same time step (Fig. 9,
  "within NRGF"), over modality pairs and the steps valid in both;
- ``cos_nrgf_mf`` (): the mean cosine between the NRGF and the MF of the
  same modality and step (Fig. 9, "NRGF-MF"), over valid steps;
- ``d1_nrgf_correct``, ``d1_mf_correct`` (M,): whether D1 (with its
  explainer on the NRGF branch) names modality m for chunk m;
- ``d2_correct``, ``d2_noisy`` (M,): whether D2 is right about modality m
  of an erased copy of the input, and its label ``noisy[m]``.

Valid steps come from ``lengths`` (B, M) (all steps when None), so padding
never counts (``tools/visualize.py``'s figure counts every step). With a
different T_m per modality there is no common time step: the within-NRGF
cosine is then taken between the modalities' mean NRGFs over valid steps.
A sample without a valid step for a statistic gets NaN there.
"""
from typing import Dict, Optional, Sequence

import torch

from ..structures.tokens import as_tokens, valid_mean


def cosine(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12
           ) -> torch.Tensor:
    """Cosine similarity over the last dim; a zero vector gives 0."""
    a = a / a.norm(dim=-1, keepdim=True).clamp(min=eps)
    b = b / b.norm(dim=-1, keepdim=True).clamp(min=eps)
    return (a * b).sum(-1)


def valid_steps(batch_size: int, seq_lens: Sequence[int],
                lengths: Optional[torch.Tensor], device) -> torch.Tensor:
    """(B, L) bool over modality-major tokens: step t of modality m is
    valid when ``t < lengths[b, m]``."""
    masks = []
    for m, T in enumerate(seq_lens):
        steps = torch.arange(T, device=device).expand(batch_size, T)
        masks.append(steps < lengths[:, m:m + 1] if lengths is not None
                     else torch.ones_like(steps, dtype=torch.bool))
    return torch.cat(masks, dim=1)


def _masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over the last dims where ``valid``, per sample: (B, ...) ->
    (B,); NaN where nothing is valid."""
    values, valid = values.flatten(1), valid.flatten(1).to(values.dtype)
    count = valid.sum(1)
    mean = (values * valid).sum(1) / count.clamp(min=1)
    return torch.where(count > 0, mean, torch.full_like(mean, float('nan')))


def cosine_statistics(nrgf: torch.Tensor, mf: Optional[torch.Tensor],
                      seq_lens: Sequence[int],
                      lengths: Optional[torch.Tensor] = None
                      ) -> Dict[str, torch.Tensor]:
    """``cos_within_nrgf`` (B,) (when M >= 2) and ``cos_nrgf_mf`` (B,)
    (when ``mf`` is given).

    Shapes: ``nrgf``, ``mf`` stacked (B, M, T, D) or tokens (B, L, D),
    L = sum of ``seq_lens``; ``lengths`` (B, M) or None.
    """
    tokens, lens = as_tokens('cosine_statistics', nrgf, tuple(seq_lens))
    B, M = tokens.shape[0], len(lens)
    valid = valid_steps(B, lens, lengths, tokens.device)
    out = {}
    if M >= 2:
        pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
        if len(set(lens)) == 1:
            x = tokens.unflatten(1, (M, lens[0]))          # (B, M, T, D)
            ok = valid.unflatten(1, (M, lens[0]))          # (B, M, T)
            sims = torch.stack([cosine(x[:, i], x[:, j])
                                for i, j in pairs], 1)     # (B, P, T)
            both = torch.stack([ok[:, i] & ok[:, j] for i, j in pairs], 1)
        else:
            pooled = valid_mean(tokens, lens, lengths)     # (B, M, D)
            sims = torch.stack([cosine(pooled[:, i], pooled[:, j])
                                for i, j in pairs], 1)     # (B, P)
            n = lengths if lengths is not None else \
                torch.tensor(lens, device=tokens.device).expand(B, M)
            both = torch.stack([(n[:, i] > 0) & (n[:, j] > 0)
                                for i, j in pairs], 1)
        out['cos_within_nrgf'] = _masked_mean(sims, both)
    if mf is not None:
        mf_tokens, _ = as_tokens('cosine_statistics', mf, tuple(seq_lens))
        out['cos_nrgf_mf'] = _masked_mean(cosine(tokens, mf_tokens), valid)
    return out


def discriminator_hits(logits: torch.Tensor, labels: torch.Tensor
                       ) -> torch.Tensor:
    """(B, M, C) logits, (B, M) labels -> (B, M) float, 1 where right."""
    return (logits.argmax(-1) == labels).float()


def modality_labels(batch_size: int, num_modalities: int, device
                    ) -> torch.Tensor:
    """D1's targets: (B, M) with entry m = m."""
    return torch.arange(num_modalities, device=device).expand(
        batch_size, num_modalities)


@torch.no_grad()
def model_statistics(model, inputs: Dict[str, torch.Tensor], feats: dict,
                     lengths: Optional[torch.Tensor] = None,
                     ids: Optional[Sequence[str]] = None
                     ) -> Dict[str, torch.Tensor]:
    """The statistics above for a batch, B first, from a
    :class:`~normtr_plugin.models.NormTR`: cosines (B,), D1's hits on MF
    and NRGF chunks (B, M), D2's hits and labels (B, M).

    ``feats``: ``model.extract_features(inputs)`` on the clean inputs. D1
    sees the clean features (no GRL: it does nothing forward). D2 is scored
    on ``model.noise`` applied to ``inputs``; with sample ``ids`` each
    sample's erasure is a hash of (``model.eval_invariance['noise_seed']``,
    its id), so it does not depend on the batch it lands in (one process or
    several give the same numbers); without ids a generator seeded afresh
    for every batch is used. Training's RNG is left alone.
    Statistics that need a missing part (no MF, no D1, no D2 or no noise)
    are left out; without NRGFs the result is empty.
    """
    nrgf, mf = feats.get('nrgf'), feats.get('mf')
    if nrgf is None:
        return {}
    lens = tuple(model.seq_lens.values())
    stats = cosine_statistics(nrgf, mf, lens, lengths)
    B, M, device = nrgf.shape[0], len(lens), nrgf.device
    d1, d2 = model.modality_discriminator, model.noise_discriminator
    if d1 is not None and mf is not None:
        logits_mf, logits_nr = d1(mf, nrgf, **model._given(
            d1, lengths=lengths))
        labels = modality_labels(B, M, device)
        stats['d1_mf_correct'] = discriminator_hits(logits_mf, labels)
        stats['d1_nrgf_correct'] = discriminator_hits(logits_nr, labels)
    if d2 is not None and model.noise is not None:
        noisy_inputs, noisy = eval_noise(model, inputs, lengths, ids)
        tokens = model.nrgf(model.projection.tokens(noisy_inputs))
        noisy_nrgf = tokens.unflatten(1, (M, lens[0])) if model.aligned \
            else tokens
        logits = d2(noisy_nrgf, **model._given(d2, lengths=lengths))
        stats['d2_correct'] = discriminator_hits(logits, noisy.long())
        stats['d2_noisy'] = noisy.float()
    return stats


def eval_noise(model, inputs: Dict[str, torch.Tensor],
               lengths: Optional[torch.Tensor],
               ids: Optional[Sequence[str]] = None):
    """``model.noise(inputs)`` with draws that are a pure function of
    ``model.eval_invariance['noise_seed']`` and each sample's id (noise
    modules with a ``uniforms`` argument), else drawn from a fresh
    generator seeded with it (a noise module that takes no ``generator``
    runs under a forked, seeded global RNG).
    ``{m: (B, T_m, N_m)} -> (erased inputs, noisy (B, M) bool)``."""
    inputs = model.check_inputs(inputs)
    device = next(iter(inputs.values())).device
    seed = int(model.eval_invariance['noise_seed'])
    if ids is not None and 'uniforms' in model._given(
            model.noise, uniforms=True):
        from ..structures.maskers import hash_uniforms
        u = hash_uniforms(seed, ids, 'erasure_noise',
                          2 * len(inputs) + 2, device).float()
        return model.noise(inputs, **model._given(
            model.noise, lengths=lengths, uniforms=u))
    generator = torch.Generator(device=device).manual_seed(seed)
    kwargs = model._given(model.noise, lengths=lengths, generator=generator)
    if 'generator' in kwargs:
        return model.noise(inputs, **kwargs)
    with torch.random.fork_rng(
            devices=[device] if device.type == 'cuda' else []):
        torch.manual_seed(seed)
        return model.noise(inputs, **kwargs)
