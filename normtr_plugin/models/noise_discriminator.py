import torch
import torch.nn as nn

from ..registry import MODELS


@MODELS.register_module()
class NoiseDiscriminator(nn.Module):
    """D2: does this modality's NRGF come from an erased input (Eq. 7).

    A single ``Linear(T * D -> 2)`` applied to each modality chunk of F_NR
    (after the gradient reversal layer).

    Shapes: ``(B, M, T, D) -> (B, M, 2)``; targets are ``noisy[b, m]``.
    """

    def __init__(self, embed_dim: int, seq_len: int):
        super().__init__()
        self.classifier = nn.Linear(seq_len * embed_dim, 2)

    def forward(self, nrgf: torch.Tensor) -> torch.Tensor:
        return self.classifier(nrgf.flatten(2))
