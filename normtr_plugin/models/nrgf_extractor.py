import torch
import torch.nn as nn

from ..registry import MODELS
from .feature_mlp import FeatureMLP


@MODELS.register_module()
class NRGFExtractor(nn.Module):
    """Noise-Resistant Generic Feature extractor F_NR (paper Eq. 3).

    ONE MLP whose parameters are shared by every token of every modality.

    Shapes: ``(B, M, T, N) -> (B, M, T, N/2)``.
    """

    def __init__(self, embed_dim: int, hidden_dim: int = None):
        super().__init__()
        self.mlp = FeatureMLP(embed_dim, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)
