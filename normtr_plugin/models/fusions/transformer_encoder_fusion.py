import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS
from ..fusion_decoder import positional_embedding
from ._common import check_pair


@MODELS.register_module()
class TransformerEncoderFusion(BaseModule):
    """The "Standard transformer (baseline)" of paper Table 6 (SPEC
    section 6): the modalities' tokens, concatenated, go through a plain
    Transformer encoder (Vaswani et al., "Attention Is All You Need",
    NeurIPS 2017) with a learnable positional embedding (ViT-style,
    Dosovitskiy et al., ICLR 2021).

    Only the query tokens are encoded; ``memory`` is accepted for the
    fusion interface and ignored. NormTR feeds the projected features g(U)
    (``query=memory='projected'``), so D = N.

    Args:
        embed_dim: D.
        num_tokens: L = M * T (size of the positional embedding).
        num_modalities: M; unused (fusion interface).
        depth: encoder layers (2 for MOSI/RML, 4 for MOSEI/IEMOCAP).
        num_heads: attention heads (8).
        ffn_ratio: feed-forward width / D.
        dropout: dropout inside the encoder layers.

    Shapes: ``query (B, L, D), memory (ignored) -> (B, L, D)``;
    ``key_padding_mask`` (B, L) bool, True at padded tokens (NormTR passes
    it with ``mask_padding=True``): no token attends to them.
    """

    def __init__(self, embed_dim: int, num_tokens: int, depth: int = 2,
                 num_heads: int = 8, ffn_ratio: float = 4.0,
                 dropout: float = 0.1, num_modalities: int = None,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dim, self.num_tokens = embed_dim, num_tokens
        self.out_dim = embed_dim
        self.pos_embed = positional_embedding(embed_dim, num_tokens,
                                              num_heads, depth)
        layer = nn.TransformerEncoderLayer(
            embed_dim, num_heads, dim_feedforward=int(embed_dim * ffn_ratio),
            dropout=dropout, activation='gelu', batch_first=True)
        self.encoder = nn.TransformerEncoder(
            layer, depth, enable_nested_tensor=False)

    def forward(self, query: torch.Tensor, memory: torch.Tensor = None,
                key_padding_mask: torch.Tensor = None) -> torch.Tensor:
        check_pair('TransformerEncoderFusion', query, query, self.embed_dim,
                   self.num_tokens)
        if key_padding_mask is None:
            return self.encoder(query + self.pos_embed)
        return self.encoder(query + self.pos_embed,
                            src_key_padding_mask=key_padding_mask)
