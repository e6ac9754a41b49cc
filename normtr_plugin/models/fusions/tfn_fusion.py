from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS
from ._common import check_num_modalities, pooled_query_memory
from ...utils.errors import InputError

MAX_TENSOR_SIZE = 10**6


@MODELS.register_module()
class TFNFusion(BaseModule):
    """Tensor fusion (Zadeh et al., "Tensor Fusion Network for Multimodal
    Sentiment Analysis", EMNLP 2017): the "Tensor Fusion (TFN)" row of paper
    Table 12 (SPEC section 6).

    Per modality m, the query and memory tokens are mean-pooled over time
    and concatenated (2D), projected to ``d`` dims and extended with a
    constant 1: ``z_m = [W_m h_m; 1]``. The outer product
    ``z_1 (x) z_2 (x) ... (x) z_M`` (all uni-, bi-, ..., M-modal
    interactions) is flattened to ``(d + 1)^M`` values, then
    ``Linear + ReLU`` gives ``out_dim``.

    Args:
        embed_dim: D, the width of query and memory.
        num_tokens: L = M * T (modality-major order); checked if given.
        seq_lens: per-modality lengths T_1..T_M when they differ (NormTR
            fills it in; L = sum_m T_m).
        num_modalities: M (required; NormTR fills it in).
        d: per-modality width before the outer product (default 8).
        out_dim: output width (default ``embed_dim``).
        dropout: dropout on the fused tensor.

    Shapes: ``query (B, L, D), memory (B, L, D) -> (B, 1, out_dim)``;
    ``key_padding_mask`` (B, L), True at padded tokens (NormTR passes it
    with ``mask_padding=True``), keeps padding out of the pooling.
    Raises a ValueError if ``(d + 1)^M`` exceeds 1e6.
    """

    def __init__(self, embed_dim: int, num_tokens: int = None,
                 num_modalities: int = None, d: int = 8, out_dim: int = None,
                 dropout: float = 0.1, seq_lens: Sequence[int] = None,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        M = check_num_modalities('TFNFusion', num_modalities, num_tokens,
                                 seq_lens)
        self.seq_lens = None if seq_lens is None else tuple(seq_lens)
        if d < 1:
            raise InputError(f'TFNFusion needs d >= 1, got {d}')
        size = (d + 1)**M
        if size > MAX_TENSOR_SIZE:
            raise InputError(
                f'TFNFusion: the fused tensor would have (d + 1)^M = '
                f'({d} + 1)^{M} = {size} values per sample, above the limit '
                f'of {MAX_TENSOR_SIZE}; use a smaller d or fewer modalities '
                '(or LMFFusion, whose size is linear in M)')
        self.embed_dim, self.num_tokens, self.num_modalities = (
            embed_dim, num_tokens, M)
        self.d, self.tensor_size = d, size
        self.out_dim = out_dim or embed_dim
        self.modality_proj = nn.ModuleList(
            nn.Linear(2 * embed_dim, d) for _ in range(M))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Sequential(nn.Linear(size, self.out_dim), nn.ReLU())

    def forward(self, query: torch.Tensor, memory: torch.Tensor,
                key_padding_mask: torch.Tensor = None) -> torch.Tensor:
        pooled = pooled_query_memory(self, query, memory,
                                     key_padding_mask)  # (B, M, 2D)
        ones = pooled.new_ones(pooled.shape[0], 1)
        fused = None
        for m, proj in enumerate(self.modality_proj):
            z = torch.cat([proj(pooled[:, m]), ones], dim=-1)  # (B, d+1)
            fused = z if fused is None else \
                (fused[:, :, None] * z[:, None, :]).flatten(1)
        return self.out(self.dropout(fused))[:, None]
