import torch
from mmengine.model import BaseModule

from ...registry import MODELS
from ._common import check_pair


@MODELS.register_module()
class ConcatFusion(BaseModule):
    """"w/o multimodal fusion Transformer" (paper Table 6 and the
    "Concatenation" row of Table 12; SPEC section 6).

    The query (NRGF) and memory (MF) features of each token are concatenated;
    there are no parameters. The head then mean-pools over the tokens.

    Args:
        embed_dim: D, the width of query and memory (N/2).
        num_tokens: L = M * T; only used to check the inputs.
        num_modalities: M; unused, part of the fusion interface shared with
            :class:`FusionDecoder`.

    Shapes: ``query (B, L, D), memory (B, L, D) -> (B, L, 2D)``;
    ``out_dim = 2 * embed_dim``.
    """

    def __init__(self, embed_dim: int, num_tokens: int = None,
                 num_modalities: int = None, init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dim, self.num_tokens = embed_dim, num_tokens
        self.out_dim = 2 * embed_dim

    def forward(self, query: torch.Tensor,
                memory: torch.Tensor) -> torch.Tensor:
        check_pair(type(self).__name__, query, memory, self.embed_dim,
                   self.num_tokens)
        return torch.cat([query, memory], dim=-1)
