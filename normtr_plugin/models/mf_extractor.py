import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS
from .feature_mlp import FeatureMLP


@MODELS.register_module()
class MFExtractor(BaseModule):
    """Multimodal Feature extractor F_M (paper Eq. 4).

    One MLP per modality (same architecture as F_NR, parameters not shared).

    Shapes: ``(B, M, T, N) -> (B, M, T, N/2)``.
    """

    def __init__(self, embed_dim: int, num_modalities: int,
                 hidden_dim: int = None, init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.mlps = nn.ModuleList(
            FeatureMLP(embed_dim, hidden_dim) for _ in range(num_modalities))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != len(self.mlps):
            raise ValueError(f'MFExtractor has {len(self.mlps)} modality MLPs,'
                             f' got {x.shape[1]} modalities')
        return torch.stack(
            [mlp(x[:, m]) for m, mlp in enumerate(self.mlps)], dim=1)
