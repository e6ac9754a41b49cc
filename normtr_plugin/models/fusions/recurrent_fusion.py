import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS
from ._common import check_pair
from ...utils.errors import InputError


class _RecurrentFusion(BaseModule):
    """A 1-layer recurrent network over the tokens of concat(query, memory).

    The "LSTM" and "GRU" rows of paper Table 12 (SPEC section 6, fusion
    alternatives). Tokens are read in the model's modality-major order
    ``[a_1..a_T, v_1..v_T, t_1..t_T]``.

    Args:
        embed_dim: D, the width of query and memory (N/2).
        num_tokens: L = M * T; only used to check the inputs.
        num_modalities: M; unused (fusion interface).
        hidden_dim: output width (default ``embed_dim``). With
            ``bidirectional=True`` each direction has ``hidden_dim // 2``
            units, so the output width stays ``hidden_dim``.
        bidirectional: run the sequence both ways (default False).
        dropout: dropout on the output tokens.

    Shapes: ``query (B, L, D), memory (B, L, D) -> (B, L, hidden_dim)``;
    ``out_dim = hidden_dim``.
    """

    rnn_cls = None

    def __init__(self, embed_dim: int, num_tokens: int = None,
                 num_modalities: int = None, hidden_dim: int = None,
                 bidirectional: bool = False, dropout: float = 0.1,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        hidden_dim = hidden_dim or embed_dim
        if bidirectional and hidden_dim % 2:
            raise InputError(f'bidirectional {type(self).__name__} needs an '
                             f'even hidden_dim, got {hidden_dim}')
        self.embed_dim, self.num_tokens = embed_dim, num_tokens
        self.out_dim = hidden_dim
        self.rnn = self.rnn_cls(
            2 * embed_dim, hidden_dim // 2 if bidirectional else hidden_dim,
            num_layers=1, batch_first=True, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor,
                memory: torch.Tensor) -> torch.Tensor:
        check_pair(type(self).__name__, query, memory, self.embed_dim,
                   self.num_tokens)
        out, _ = self.rnn(torch.cat([query, memory], dim=-1))
        return self.dropout(out)


@MODELS.register_module()
class LSTMFusion(_RecurrentFusion):
    __doc__ = _RecurrentFusion.__doc__.replace(
        'A 1-layer recurrent network', 'A 1-layer LSTM (Hochreiter & '
        'Schmidhuber, 1997)', 1)
    rnn_cls = nn.LSTM


@MODELS.register_module()
class GRUFusion(_RecurrentFusion):
    __doc__ = _RecurrentFusion.__doc__.replace(
        'A 1-layer recurrent network', 'A 1-layer GRU (Cho et al., 2014)', 1)
    rnn_cls = nn.GRU
