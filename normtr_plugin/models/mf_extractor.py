from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS
from .feature_mlp import FeatureMLP
from ..utils.errors import InputError


@MODELS.register_module()
class MFExtractor(BaseModule):
    """Multimodal Feature extractor F_M (paper Eq. 4).

    One MLP per modality (same architecture as F_NR, parameters not shared).

    Shapes: stacked ``(B, M, T, N) -> (B, M, T, N/2)``, or tokens
    ``(B, L, N) -> (B, L, N/2)`` in modality-major order with
    ``seq_lens`` = (T_1, ..., T_M), L = sum_m T_m.
    """

    def __init__(self, embed_dim: int, num_modalities: int,
                 hidden_dim: int = None, init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.mlps = nn.ModuleList(
            FeatureMLP(embed_dim, hidden_dim) for _ in range(num_modalities))

    def forward(self, x: torch.Tensor,
                seq_lens: Optional[Sequence[int]] = None) -> torch.Tensor:
        M = len(self.mlps)
        if x.dim() == 4:
            if x.shape[1] != M:
                raise InputError(f'MFExtractor has {M} modality MLPs, got '
                                 f'{x.shape[1]} modalities')
            return torch.stack(
                [mlp(x[:, m]) for m, mlp in enumerate(self.mlps)], dim=1)
        if seq_lens is None or len(seq_lens) != M or x.dim() != 3 or \
                sum(seq_lens) != x.shape[1]:
            raise InputError(
                f'MFExtractor has {M} modality MLPs: expected stacked '
                f'(B, {M}, T, N) features, or tokens (B, L, N) with seq_lens '
                f'= {M} lengths summing to L; got {tuple(x.shape)} and '
                f'seq_lens {seq_lens}')
        return torch.cat([mlp(seg) for mlp, seg in
                          zip(self.mlps, x.split(list(seq_lens), dim=1))],
                         dim=1)
