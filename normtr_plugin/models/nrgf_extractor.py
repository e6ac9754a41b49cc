import torch
from mmengine.model import BaseModule

from ..registry import MODELS
from .feature_mlp import FeatureMLP


@MODELS.register_module()
class NRGFExtractor(BaseModule):
    """Noise-Resistant Generic Feature extractor F_NR (paper Eq. 3).

    ONE MLP whose parameters are shared by every token of every modality,
    so it acts token-wise on any layout.

    Shapes: stacked ``(B, M, T, N) -> (B, M, T, N/2)`` or tokens
    ``(B, sum_m T_m, N) -> (B, sum_m T_m, N/2)``.
    """

    def __init__(self, embed_dim: int, hidden_dim: int = None,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.mlp = FeatureMLP(embed_dim, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)
