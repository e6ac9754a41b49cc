"""The modality-major token layout shared by the components (SPEC 2.5).

Modality m contributes T_m tokens and the modalities' tokens are
concatenated along time, ``[a_1..a_Ta, v_1..v_Tv, t_1..t_Tt]``: one tensor
(B, L, D) with L = sum_m T_m. When every T_m is one T this is the stacked
layout (B, M, T, D) flattened over (M, T), so equal-T code keeps its
numbers. ``lengths`` (B, M) long counts each sample's valid steps per
modality (valid steps first, steps at index >= length are padding).
"""
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch

SeqLen = Union[int, Sequence[int], Mapping[str, int]]
POOLS = ('chunk', 'mean')


def as_seq_lens(seq_len: SeqLen, num_modalities: Optional[int],
                name: str) -> Tuple[int, ...]:
    """Per-modality lengths (T_1, ..., T_M) from an int T (one for all
    ``num_modalities``), a sequence or a ``{modality: T_m}`` mapping."""
    if isinstance(seq_len, int):
        if num_modalities is None:
            raise ValueError(f'{name}: an int seq_len needs num_modalities')
        lens = (seq_len,) * num_modalities
    else:
        values = seq_len.values() if isinstance(seq_len, Mapping) \
            else seq_len
        lens = tuple(int(t) for t in values)
        if num_modalities is not None and len(lens) != num_modalities:
            raise ValueError(f'{name}: seq_len {seq_len} has {len(lens)} '
                             f'entries for {num_modalities} modalities')
    if not lens or min(lens) < 1:
        raise ValueError(f'{name}: every seq_len T_m must be >= 1, got '
                         f'{seq_len}')
    return lens


def check_pool(name: str, pool: str, seq_len: SeqLen,
               seq_lens: Tuple[int, ...], embed_dim: int) -> int:
    """Validate ``pool``; return the width of one modality's vector.

    ``'chunk'``: the flattened T x D chunk (paper section 3.5.2), needs one
    T for every modality. ``'mean'``: the mean over each modality's valid
    tokens, D values, any T_m.
    """
    if pool not in POOLS:
        raise ValueError(f"{name}: pool must be 'chunk' or 'mean', got "
                         f'{pool!r}')
    if pool == 'mean':
        return embed_dim
    if len(set(seq_lens)) != 1:
        raise ValueError(
            f"{name}(pool='chunk') flattens each modality's T x D chunk, so "
            f'every modality needs the same T; found seq_len {seq_len}. Use '
            f"pool='mean' (the mean over each modality's valid tokens).")
    return seq_lens[0] * embed_dim


def as_tokens(name: str, x: torch.Tensor, seq_lens: Tuple[int, ...]
              ) -> Tuple[torch.Tensor, Tuple[int, ...]]:
    """``x`` stacked (B, M, T, D) or tokens (B, L, D) -> tokens (B, L, D)
    and the per-modality lengths that split them."""
    if x.dim() == 4:
        B, M, T, D = x.shape
        return x.flatten(1, 2), (T,) * M
    if x.dim() != 3 or x.shape[1] != sum(seq_lens):
        raise ValueError(
            f'{name} expects stacked features (B, M, T, D) or tokens '
            f'(B, L, D) with L = sum of seq_len {list(seq_lens)} = '
            f'{sum(seq_lens)}, found {tuple(x.shape)}')
    return x, seq_lens


def valid_mean(x: torch.Tensor, seq_lens: Sequence[int],
               lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean over each modality's valid tokens.

    Shapes: ``x (B, L, D)``, ``lengths (B, M)`` or None (all valid) ->
    ``(B, M, D)``. A modality with no valid step gives zeros. No host
    synchronisation: lengths are used as tensors only.
    """
    if lengths is not None and lengths.shape != (x.shape[0], len(seq_lens)):
        raise ValueError(f'lengths must be (B, M) = ({x.shape[0]}, '
                         f'{len(seq_lens)}), found {tuple(lengths.shape)}')
    pooled = []
    for m, seg in enumerate(x.split(list(seq_lens), dim=1)):
        if lengths is None:
            pooled.append(seg.mean(dim=1))
            continue
        n = lengths[:, m].clamp(0, seg.shape[1])
        valid = torch.arange(seg.shape[1], device=x.device) < n[:, None]
        total = (seg * valid[..., None].to(seg.dtype)).sum(dim=1)
        pooled.append(total / n.clamp(min=1)[:, None].to(seg.dtype))
    return torch.stack(pooled, dim=1)


def modality_vectors(name: str, x: torch.Tensor, seq_lens: Tuple[int, ...],
                     pool: str, lengths: Optional[torch.Tensor] = None
                     ) -> torch.Tensor:
    """One vector per modality for a discriminator (paper Eq. 6 and 7).

    Shapes: ``x`` stacked (B, M, T, D) or tokens (B, L, D) ->
    ``(B, M, T*D)`` for ``pool='chunk'``, ``(B, M, D)`` for ``'mean'``.
    """
    tokens, lens = as_tokens(name, x, seq_lens)
    if pool == 'mean':
        return valid_mean(tokens, lens, lengths)
    if len(set(lens)) != 1:
        raise ValueError(f"{name}(pool='chunk') needs one T for every "
                         f"modality, found {list(lens)}; use pool='mean'")
    return tokens.unflatten(1, (len(lens), lens[0])).flatten(2)


def token_padding_mask(lengths: torch.Tensor, seq_lens: Sequence[int]
                       ) -> torch.Tensor:
    """``key_padding_mask`` (B, L) bool, True at padded tokens, in the
    modality-major token order (PyTorch's convention: True = ignore).

    ``lengths`` (B, M) valid steps per modality, ``seq_lens`` (T_1..T_M).
    A sample with no valid token at all keeps every token (all False), so
    attention never sees a row with nothing to attend to. No host
    synchronisation (the token layout comes from ``seq_lens``).
    """
    steps = torch.tensor([t for T in seq_lens for t in range(T)],
                         device=lengths.device)
    owner = torch.tensor([m for m, T in enumerate(seq_lens)
                          for _ in range(T)], device=lengths.device)
    padded = steps[None] >= lengths[:, owner]
    return padded & ~padded.all(dim=1, keepdim=True)


def masked_mean(x: torch.Tensor, key_padding_mask: Optional[torch.Tensor]
                ) -> torch.Tensor:
    """Mean over the tokens of ``x`` (B, L, D) that are not padding ->
    (B, D); ``key_padding_mask`` (B, L) True at padding, or None.

    A sample without padding gets the plain mean, bit for bit (selected
    per sample, no host synchronisation); a sample with no valid token
    gives zeros.
    """
    plain = x.mean(dim=1)
    if key_padding_mask is None:
        return plain
    keep = (~key_padding_mask).to(x.dtype)[..., None]
    masked = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)
    return torch.where(key_padding_mask.any(dim=1, keepdim=True), masked,
                       plain)
