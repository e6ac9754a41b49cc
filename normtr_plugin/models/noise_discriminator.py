from typing import Optional

import torch
import torch.nn as nn

from ..registry import MODELS
from ..structures.tokens import (SeqLen, as_seq_lens, check_pool,
                                 modality_vectors)


@MODELS.register_module()
class NoiseDiscriminator(nn.Module):
    """D2: does this modality's NRGF come from an erased input (Eq. 7).

    A single Linear applied to one vector per modality of F_NR (after the
    gradient reversal layer). ``pool='chunk'`` (default, the paper): the
    flattened T x D chunk, ``Linear(T * D -> 2)``, one T for every modality;
    ``pool='mean'``: the mean over the modality's valid tokens
    (``lengths``), ``Linear(D -> 2)``, any T_m and padding.

    Args:
        embed_dim: D = N/2.
        seq_len: T (int), or the per-modality T_m (a sequence or a
            ``{modality: T_m}`` dict, modality-major order).
        num_modalities: M; needed only for token inputs with an int
            ``seq_len`` (otherwise inferred).

    Shapes: ``nrgf`` stacked (B, M, T, D) or tokens (B, sum T_m, D),
    ``lengths`` (B, M) or None -> ``(B, M, 2)``; targets ``noisy[b, m]``.
    """

    def __init__(self, embed_dim: int, seq_len: SeqLen, pool: str = 'chunk',
                 num_modalities: Optional[int] = None):
        super().__init__()
        name = type(self).__name__
        self.seq_len, self.num_modalities = seq_len, num_modalities
        lens = (seq_len,) if isinstance(seq_len, int) else \
            as_seq_lens(seq_len, num_modalities, name)
        self.pool = pool
        self.classifier = nn.Linear(
            check_pool(name, pool, seq_len, lens, embed_dim), 2)

    def forward(self, nrgf: torch.Tensor,
                lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        name = type(self).__name__
        if isinstance(self.seq_len, int):
            M = self.num_modalities or (
                nrgf.shape[1] if nrgf.dim() == 4 else
                max(nrgf.shape[1] // self.seq_len, 1))
            seq_lens = (self.seq_len,) * M
        else:
            seq_lens = as_seq_lens(self.seq_len, self.num_modalities, name)
        return self.classifier(modality_vectors(name, nrgf, seq_lens,
                                                self.pool, lengths))

    def extra_repr(self) -> str:
        return f'pool={self.pool!r}'
