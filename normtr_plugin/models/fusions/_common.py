"""Shape checks and pooling shared by the alternative fusions."""
from typing import Optional, Sequence

import torch

from ...structures.tokens import masked_mean
from ...utils.errors import InputError


def check_pair(name: str, query: torch.Tensor, memory: torch.Tensor,
               embed_dim: int, num_tokens: Optional[int] = None) -> None:
    """Raise a ValueError unless query and memory are both (B, L, D)."""
    expected = f'(B, {num_tokens or "L"}, {embed_dim})'
    ok = (query.dim() == 3 and memory.dim() == 3
          and query.shape == memory.shape and query.shape[-1] == embed_dim
          and (num_tokens is None or query.shape[1] == num_tokens))
    if not ok:
        raise InputError(f'{name} expects query and memory of shape '
                         f'{expected}, got {tuple(query.shape)} and '
                         f'{tuple(memory.shape)}')


def check_num_modalities(name: str, num_modalities: Optional[int],
                         num_tokens: Optional[int],
                         seq_lens: Optional[Sequence[int]] = None) -> int:
    if num_modalities is None or num_modalities < 1:
        raise InputError(f'{name} needs num_modalities >= 1 (NormTR fills it '
                         f'in), got {num_modalities}')
    if seq_lens is not None:
        if len(seq_lens) != num_modalities or (
                num_tokens is not None and sum(seq_lens) != num_tokens):
            raise InputError(f'{name}: seq_lens {list(seq_lens)} must give '
                             f'one length per modality ({num_modalities}) '
                             f'summing to num_tokens {num_tokens}')
        return num_modalities
    if num_tokens is not None and num_tokens % num_modalities:
        raise InputError(f'{name}: num_tokens {num_tokens} is not a multiple '
                         f'of num_modalities {num_modalities}')
    return num_modalities


def pool_per_modality(x: torch.Tensor, num_modalities: int,
                      seq_lens: Optional[Sequence[int]] = None,
                      key_padding_mask: Optional[torch.Tensor] = None
                      ) -> torch.Tensor:
    """Mean over each modality's tokens (modality-major order).

    Shapes: ``(B, M*T, D) -> (B, M, D)``; with ``seq_lens`` (T_1..T_M),
    ``(B, sum_m T_m, D) -> (B, M, D)``. ``key_padding_mask`` (B, L), True
    at padded tokens: the mean is over each modality's valid tokens (zeros
    for a modality without any); None: every token (today's numbers).
    """
    if key_padding_mask is not None:
        if seq_lens is None:
            if x.shape[1] % num_modalities:
                raise InputError(f'{x.shape[1]} tokens cannot be split into '
                                 f'{num_modalities} modalities of equal '
                                 'length')
            seq_lens = [x.shape[1] // num_modalities] * num_modalities
        return torch.stack([
            masked_mean(seg, pad) for seg, pad in zip(
                x.split(list(seq_lens), dim=1),
                key_padding_mask.split(list(seq_lens), dim=1))], dim=1)
    if seq_lens is not None:
        return torch.stack([seg.mean(dim=1) for seg in
                            x.split(list(seq_lens), dim=1)], dim=1)
    B, L, D = x.shape
    if L % num_modalities:
        raise InputError(f'{L} tokens cannot be split into {num_modalities} '
                         'modalities of equal length')
    return x.reshape(B, num_modalities, L // num_modalities, D).mean(dim=2)


def pooled_query_memory(fusion, query: torch.Tensor,
                        memory: torch.Tensor,
                        key_padding_mask: Optional[torch.Tensor] = None
                        ) -> torch.Tensor:
    """Check ``query``/``memory`` against ``fusion`` (its ``embed_dim``,
    ``num_tokens``, ``num_modalities``, ``seq_lens``) and mean-pool both per
    modality over the valid tokens (``key_padding_mask`` (B, L), True at
    padding; None: all tokens): ``(B, L, D), (B, L, D) -> (B, M, 2D)``
    (query first)."""
    check_pair(type(fusion).__name__, query, memory, fusion.embed_dim,
               fusion.num_tokens)
    M, lens = fusion.num_modalities, fusion.seq_lens
    return torch.cat([pool_per_modality(query, M, lens, key_padding_mask),
                      pool_per_modality(memory, M, lens, key_padding_mask)],
                     dim=-1)
