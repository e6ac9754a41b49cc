"""A user's own fusion model built from NORM-TR's parts in plain PyTorch.

No mmengine Runner, no config: the plugin's components are ordinary
``nn.Module``s. This model keeps NORM-TR's feature extractors and its
noise-aware learning scheme (paper section 3.5) but fuses with tensor
fusion (TFN, Zadeh et al. 2017) instead of the fusion Transformer::

    {m: U_m} -> ErasureNoise -> ModalityProjection (g) -> U'
    U' -> NRGFExtractor -> F_NR --+
    U' -> MFExtractor   -> F_M  --+-> TFNFusion -> mean -> Linear head
    F_NR -> GradientReversal -> ModalityDiscriminator (D1, with F_M)
                             -> NoiseDiscriminator    (D2)

Run ``python docs/examples/own_fusion_model.py`` to train it for a few
steps on random data; see docs/composition.md.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from normtr_plugin.models import (ErasureNoise, GradientReversal,
                                  MFExtractor, ModalityDiscriminator,
                                  ModalityProjection, NoiseDiscriminator,
                                  NRGFExtractor, grad_reverse)
from normtr_plugin.models.fusions import TFNFusion


class OwnFusionModel(nn.Module):
    """NRGF/MF extractors + noise-aware scheme + TFN fusion + linear head.

    Args:
        modalities: modality name -> raw feature dim N_m, in token order.
        seq_len: T, steps per modality.
        embed_dim: N (the extractors output N/2).
        num_outputs: head outputs (1: regression with MSE).
        tfn_dim: TFN's per-modality width d.
        grl_lambda: gradient reversal factor.
        alpha, beta: weights of L_adv1 and L_adv2 (paper Eq. 9).
        noise_seed: seed of the erasure noise (None: torch's global RNG).

    Shapes: ``forward({m: (B, T, N_m)}) -> (B, num_outputs)``.
    """

    def __init__(self, modalities: Dict[str, int], seq_len: int,
                 embed_dim: int = 64, num_outputs: int = 1,
                 tfn_dim: int = 8, grl_lambda: float = 1.0,
                 alpha: float = 0.01, beta: float = 0.01,
                 noise_seed: int = None):
        super().__init__()
        M, half = len(modalities), embed_dim // 2
        self.modalities, self.alpha, self.beta = dict(modalities), alpha, beta
        self.projection = ModalityProjection(self.modalities, embed_dim)
        self.nrgf = NRGFExtractor(embed_dim)
        self.mf = MFExtractor(embed_dim, num_modalities=M)
        self.fusion = TFNFusion(half, num_tokens=M * seq_len,
                                num_modalities=M, d=tfn_dim)
        self.head = nn.Linear(self.fusion.out_dim, num_outputs)
        # The noise-aware learning scheme.
        self.noise = ErasureNoise(seed=noise_seed)
        self.grl = GradientReversal(grl_lambda)
        self.modality_discriminator = ModalityDiscriminator(
            half, seq_len, num_modalities=M)
        self.noise_discriminator = NoiseDiscriminator(half, seq_len)

    def features(self, inputs: Dict[str, torch.Tensor]) -> dict:
        projected = self.projection(inputs)               # (B, M, T, N)
        nrgf, mf = self.nrgf(projected), self.mf(projected)  # (B, M, T, N/2)
        fused = self.fusion(nrgf.flatten(1, 2), mf.flatten(1, 2))  # (B,1,o)
        return dict(nrgf=nrgf, mf=mf, fused=fused)

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.features(inputs)['fused'].mean(dim=1))

    def compute_losses(self, inputs: Dict[str, torch.Tensor],
                       target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``L_er`` plus, in training, the weighted adversarial losses."""
        inputs = {m: inputs[m] for m in self.modalities}
        if not self.training:
            return dict(loss_er=F.mse_loss(self(inputs).squeeze(-1), target))
        inputs, noisy = self.noise(inputs)                 # noisy: (B, M)
        feats = self.features(inputs)
        pred = self.head(feats['fused'].mean(dim=1)).squeeze(-1)
        losses = dict(loss_er=F.mse_loss(pred, target))
        # D1: MF chunks plain (stay modality-specific), NRGF chunks through
        # the GRL (the extractor learns to hide the modality).
        logits_mf, logits_nrgf = self.modality_discriminator(
            feats['mf'], self.grl(feats['nrgf']))
        B, M = noisy.shape
        labels = torch.arange(M, device=pred.device).repeat(B)
        losses['loss_adv1'] = self.alpha * F.cross_entropy(
            torch.cat([logits_mf.flatten(0, 1), logits_nrgf.flatten(0, 1)]),
            torch.cat([labels, labels]))
        # D2: was this modality erased? The functional GRL, same effect.
        logits_noise = self.noise_discriminator(
            grad_reverse(feats['nrgf'], self.grl.lambda_))
        losses['loss_adv2'] = self.beta * F.cross_entropy(
            logits_noise.flatten(0, 1), noisy.flatten().long())
        return losses

    def train_step(self, inputs: Dict[str, torch.Tensor],
                   target: torch.Tensor,
                   optimizer: torch.optim.Optimizer) -> Dict[str, float]:
        """One optimisation step on ``L = alpha L_adv1 + beta L_adv2 + L_er``.
        """
        self.train()
        optimizer.zero_grad()
        losses = self.compute_losses(inputs, target)
        total = sum(losses.values())
        total.backward()
        optimizer.step()
        return dict({k: v.item() for k, v in losses.items()},
                    loss=total.item())


def random_batch(modalities: Dict[str, int], seq_len: int, batch_size: int,
                 generator: torch.Generator = None):
    """Random features and a target that depends on them (learnable)."""
    inputs = {m: torch.randn(batch_size, seq_len, d, generator=generator)
              for m, d in modalities.items()}
    target = sum(x[..., 0].mean(dim=1) for x in inputs.values())
    return inputs, target


def main(steps: int = 50) -> None:
    torch.manual_seed(0)
    modalities, seq_len = dict(audio=5, video=7, text=9), 4
    model = OwnFusionModel(modalities, seq_len, noise_seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs, target = random_batch(modalities, seq_len, 32)
    for step in range(steps):
        losses = model.train_step(inputs, target, optimizer)
        if step % 10 == 0 or step == steps - 1:
            print(step, {k: round(v, 4) for k, v in losses.items()})


if __name__ == '__main__':
    main()
