"""NORM-TR's parts on unaligned data: a different T_m per modality.

Plain PyTorch, no Runner. Audio, video and text keep their own lengths
(say 12, 9 and 5 steps, zero-padded after each sample's valid steps, which
``lengths`` (B, M) counts). The parts work on the modality-major token
layout ``[a_1..a_12, v_1..v_9, t_1..t_5]``, (B, L, D) with L = 26::

    {m: (B, T_m, N_m)}, lengths -> ErasureNoise (windows in valid steps)
      -> ModalityProjection.tokens (g) -> (B, L, N)
      -> NRGFExtractor -> F_NR (B, L, N/2) --+
      -> MFExtractor(seq_lens) -> F_M ------+-> FusionDecoder (L tokens)
    F_NR -> GRL -> ModalityDiscriminator(pool='mean') (D1, with F_M)
                -> NoiseDiscriminator(pool='mean')    (D2)

``pool='mean'``: the discriminators see each modality's mean over its
valid tokens, so neither T_m nor padding matters. Run
``python docs/examples/unaligned_model.py`` to train it on random data;
see docs/composition.md.
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from normtr_plugin.models import (ErasureNoise, FusionDecoder,
                                  MFExtractor, ModalityDiscriminator,
                                  ModalityProjection, NoiseDiscriminator,
                                  NRGFExtractor, grad_reverse)


class UnalignedModel(nn.Module):
    """Noise-aware NRGF/MF model over modalities of different lengths.

    Args:
        modalities: modality name -> ``(T_m, N_m)`` (steps, feature dim),
            in token order.
        embed_dim: N (the extractors output N/2).
        alpha, beta: weights of L_adv1 and L_adv2 (paper Eq. 9).
        noise_seed: seed of the erasure noise (None: torch's global RNG).

    Shapes: ``forward({m: (B, T_m, N_m)}) -> (B,)``.
    """

    def __init__(self, modalities: Dict[str, Tuple[int, int]],
                 embed_dim: int = 32, alpha: float = 0.01,
                 beta: float = 0.01, noise_seed: int = None):
        super().__init__()
        self.seq_lens = {m: t for m, (t, _) in modalities.items()}
        lens, M, half = list(self.seq_lens.values()), len(modalities), \
            embed_dim // 2
        self.alpha, self.beta = alpha, beta
        self.noise = ErasureNoise(seed=noise_seed)
        self.projection = ModalityProjection(
            {m: n for m, (_, n) in modalities.items()}, embed_dim)
        self.nrgf = NRGFExtractor(embed_dim)
        self.mf = MFExtractor(embed_dim, num_modalities=M)
        self.fusion = FusionDecoder(half, num_tokens=sum(lens), depth=1)
        self.head = nn.Linear(half, 1)
        self.modality_discriminator = ModalityDiscriminator(
            half, self.seq_lens, num_modalities=M, pool='mean')
        self.noise_discriminator = NoiseDiscriminator(
            half, self.seq_lens, pool='mean')

    def features(self, inputs: Dict[str, torch.Tensor]) -> dict:
        tokens = self.projection.tokens(inputs)             # (B, L, N)
        nrgf = self.nrgf(tokens)                            # (B, L, N/2)
        mf = self.mf(tokens, list(self.seq_lens.values()))  # (B, L, N/2)
        return dict(nrgf=nrgf, mf=mf, fused=self.fusion(nrgf, mf))

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.features(inputs)['fused'].mean(1)).squeeze(-1)

    def compute_losses(self, inputs: Dict[str, torch.Tensor],
                       lengths: torch.Tensor, target: torch.Tensor
                       ) -> Dict[str, torch.Tensor]:
        """``L_er`` plus, in training, the weighted adversarial losses;
        ``lengths`` (B, M) valid steps per modality."""
        if not self.training:
            return dict(loss_er=F.mse_loss(self(inputs), target))
        inputs, noisy = self.noise(inputs, lengths)         # noisy (B, M)
        feats = self.features(inputs)
        pred = self.head(feats['fused'].mean(1)).squeeze(-1)
        nrgf_rev = grad_reverse(feats['nrgf'])
        logits_mf, logits_nrgf = self.modality_discriminator(
            feats['mf'], nrgf_rev, lengths)                 # D1, Eq. 6
        B, M = noisy.shape
        labels = torch.arange(M, device=pred.device).repeat(B)
        adv1 = F.cross_entropy(
            torch.cat([logits_mf.flatten(0, 1), logits_nrgf.flatten(0, 1)]),
            torch.cat([labels, labels]))
        logits_noise = self.noise_discriminator(nrgf_rev, lengths)  # D2
        adv2 = F.cross_entropy(logits_noise.flatten(0, 1),
                               noisy.flatten().long())
        return dict(loss_er=F.mse_loss(pred, target),
                    loss_adv1=self.alpha * adv1, loss_adv2=self.beta * adv2)


def unaligned_batch(modalities: Dict[str, Tuple[int, int]], batch_size: int,
                    generator: torch.Generator = None):
    """Random features, zero after each sample's valid length, the
    ``lengths`` (B, M) and a learnable target."""
    inputs, lengths = {}, []
    for m, (t, n) in modalities.items():
        length = torch.randint(1, t + 1, (batch_size,), generator=generator)
        valid = torch.arange(t)[None] < length[:, None]
        inputs[m] = torch.randn(batch_size, t, n, generator=generator) * \
            valid[..., None]
        lengths.append(length)
    lengths = torch.stack(lengths, dim=1)
    target = sum(x[..., 0].sum(1) / lengths[:, i]
                 for i, x in enumerate(inputs.values()))
    return inputs, lengths, target


def main(steps: int = 50) -> None:
    torch.manual_seed(0)
    modalities = dict(audio=(12, 5), video=(9, 7), text=(5, 9))
    model = UnalignedModel(modalities, noise_seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs, lengths, target = unaligned_batch(modalities, 32)
    for step in range(steps):
        model.train()
        optimizer.zero_grad()
        losses = model.compute_losses(inputs, lengths, target)
        sum(losses.values()).backward()
        optimizer.step()
        if step % 10 == 0 or step == steps - 1:
            print(step, {k: round(v.item(), 4) for k, v in losses.items()})


if __name__ == '__main__':
    main()
