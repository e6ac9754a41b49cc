from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS
from ..utils.errors import InputError


def positional_embedding(embed_dim: int, num_tokens: int, num_heads: int,
                         depth: int) -> nn.Parameter:
    """Check attention sizes; a learnable (1, L, D) embedding, ViT init."""
    if embed_dim % num_heads:
        raise InputError(f'embed_dim {embed_dim} is not divisible by '
                         f'num_heads {num_heads}')
    if depth < 1:
        raise InputError(f'depth must be >= 1, got {depth}')
    pos_embed = nn.Parameter(torch.zeros(1, num_tokens, embed_dim))
    nn.init.trunc_normal_(pos_embed, std=0.02)
    return pos_embed


class FusionDecoderLayer(nn.Module):
    """Self-attention over the queries, cross-attention to the memory, FFN.

    Post-norm residual blocks as in Vaswani et al. (2017). Cross-attention
    weights are computed only when asked for, so the default pass keeps
    PyTorch's fused attention kernels.
    """

    def __init__(self, dim: int, num_heads: int, ffn_ratio: float = 4.0,
                 dropout: float = 0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True)
        hidden = int(dim * ffn_ratio)
        self.ffn = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, memory: torch.Tensor,
                need_weights: bool = False,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        x = query
        x = self.norms[0](x + self.dropout(self.self_attn(
            x, x, x, key_padding_mask=key_padding_mask,
            need_weights=False)[0]))
        attended, weights = self.cross_attn(
            x, memory, memory, key_padding_mask=key_padding_mask,
            need_weights=need_weights, average_attn_weights=False)
        x = self.norms[1](x + self.dropout(attended))
        x = self.norms[2](x + self.dropout(self.ffn(x)))
        return x, weights


@MODELS.register_module()
class FusionDecoder(BaseModule):
    """Multimodal fusion Transformer, ``Trans(q=F_NR, k/v=F_M)`` (paper Eq. 5).

    A Transformer decoder: the queries (NRGFs) attend to the memory (MFs).
    A learnable positional embedding of shape (L, D) is added to both the
    query and the memory before the first layer (ViT-style, section 3.4.1).

    Args:
        embed_dim: D = N/2.
        num_tokens: L = sum_m T_m (M * T when every modality has T steps),
            tokens in modality-major order ``[a_1..a_Ta, v_1..v_Tv, ...]``.
        depth: number of decoder layers (2 for MOSI/RML, 4 for MOSEI/IEMOCAP).
        num_heads: attention heads (8 in the paper).
        num_modalities: M; unused here, part of the fusion interface that
            the alternative fusions (SPEC section 6) share.

    Shapes: ``query (B, L, D), memory (B, L, D) -> (B, L, D)``; with
    ``return_attention=True`` also a list (one per layer) of cross-attention
    weights ``(B, num_heads, L, L)``. ``key_padding_mask`` (B, L) bool,
    True at padded tokens (NormTR passes it with ``mask_padding=True``):
    neither self- nor cross-attention attends to them (their weight is 0);
    the outputs at padded query positions are left to the head's masked
    pooling. None (no padding in the batch) is today's path, bit for bit.
    """

    def __init__(self, embed_dim: int, num_tokens: int, depth: int = 2,
                 num_heads: int = 8, ffn_ratio: float = 4.0,
                 dropout: float = 0.1, num_modalities: int = None,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.pos_embed = positional_embedding(embed_dim, num_tokens,
                                              num_heads, depth)
        self.layers = nn.ModuleList(
            FusionDecoderLayer(embed_dim, num_heads, ffn_ratio, dropout)
            for _ in range(depth))

    def forward(self, query: torch.Tensor, memory: torch.Tensor,
                return_attention: bool = False,
                key_padding_mask: Optional[torch.Tensor] = None):
        if query.shape[1:] != self.pos_embed.shape[1:] or \
                memory.shape[1:] != self.pos_embed.shape[1:]:
            raise InputError(
                f'FusionDecoder expects (B, {self.pos_embed.shape[1]}, '
                f'{self.pos_embed.shape[2]}) for query and memory, got '
                f'{tuple(query.shape)} and {tuple(memory.shape)}')
        x = query + self.pos_embed
        memory = memory + self.pos_embed
        attention: List[torch.Tensor] = []
        for layer in self.layers:
            x, weights = layer(x, memory, need_weights=return_attention,
                               key_padding_mask=key_padding_mask)
            attention.append(weights)
        return (x, attention) if return_attention else x
