from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS
from ._common import check_num_modalities, pooled_query_memory
from ...utils.errors import InputError


@MODELS.register_module()
class LMFFusion(BaseModule):
    """Low-rank multimodal fusion (Liu et al., "Efficient Low-rank
    Multimodal Fusion with Modality-Specific Factors", ACL 2018): the
    "Low-rank Fusion (LMF)" row of paper Table 12 (SPEC section 6).

    Per modality m, the query and memory tokens are mean-pooled over time,
    concatenated and extended with a constant 1: ``z_m = [h_m; 1]`` (2D + 1).
    Each modality has ``rank`` factors ``W_m^(i)`` of shape
    (2D + 1, out_dim); the fused vector is
    ``sum_i w_i * prod_m (z_m W_m^(i)) + b``, i.e. TFN's weight tensor in
    rank-r CP form without ever building the outer product.

    Args:
        embed_dim: D, the width of query and memory.
        num_tokens: L = M * T (modality-major order); checked if given.
        seq_lens: per-modality lengths T_1..T_M when they differ (NormTR
            fills it in; L = sum_m T_m).
        num_modalities: M (required; NormTR fills it in).
        rank: r, number of modality-specific factors (default 4).
        out_dim: output width (default ``embed_dim``).
        dropout: dropout on the pooled modality vectors.

    Shapes: ``query (B, L, D), memory (B, L, D) -> (B, 1, out_dim)``;
    ``key_padding_mask`` (B, L), True at padded tokens (NormTR passes it
    with ``mask_padding=True``), keeps padding out of the pooling.
    """

    def __init__(self, embed_dim: int, num_tokens: int = None,
                 num_modalities: int = None, rank: int = 4,
                 out_dim: int = None, dropout: float = 0.1,
                 seq_lens: Sequence[int] = None, init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        M = check_num_modalities('LMFFusion', num_modalities, num_tokens,
                                 seq_lens)
        self.seq_lens = None if seq_lens is None else tuple(seq_lens)
        if rank < 1:
            raise InputError(f'LMFFusion needs rank >= 1, got {rank}')
        self.embed_dim, self.num_tokens, self.num_modalities = (
            embed_dim, num_tokens, M)
        self.rank = rank
        self.out_dim = out_dim or embed_dim
        self.factors = nn.Parameter(
            torch.empty(M, rank, 2 * embed_dim + 1, self.out_dim))
        self.rank_weights = nn.Parameter(torch.empty(1, rank))
        self.bias = nn.Parameter(torch.zeros(self.out_dim))
        for factor in self.factors.data.flatten(0, 1):
            nn.init.xavier_normal_(factor)
        nn.init.xavier_normal_(self.rank_weights)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, memory: torch.Tensor,
                key_padding_mask: torch.Tensor = None) -> torch.Tensor:
        pooled = pooled_query_memory(self, query, memory,
                                     key_padding_mask)  # (B, M, 2D)
        z = torch.cat([self.dropout(pooled),
                       pooled.new_ones(pooled.shape[:2] + (1,))], dim=-1)
        # (B, M, 2D+1) x (M, r, 2D+1, out) -> (B, M, r, out)
        per_modality = torch.einsum('bmi,mrio->bmro', z, self.factors)
        fused = per_modality.prod(dim=1)  # (B, r, out)
        out = torch.einsum('r,bro->bo', self.rank_weights[0], fused)
        return (out + self.bias)[:, None]
