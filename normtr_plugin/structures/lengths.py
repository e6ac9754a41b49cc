"""Lengths as data: each sample's number of valid steps per modality.

One shape from the reader to the model: a long tensor ``(B, M)``, column j
for the j-th modality in config order; steps ``>= lengths[b, j]`` of a
sample's ``(T_m, N_m)`` features are padding (zeros). Valid steps come
first. Sources padded at the start or the end (CMU-SDK, MulT's pickles)
are brought to this form by :func:`zero_padding_spans`, which both the
dataset converters and the inferencer use.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

__all__ = ['column', 'left_align', 'seq_len_of', 'valid_mask',
           'zero_padding_spans']


def valid_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, steps)`` float mask, 1 on the first ``lengths[b]`` steps
    (``lengths``: (B,))."""
    t = torch.arange(steps, device=lengths.device)
    return (t[None] < lengths[:, None]).float()


def column(batch: dict, key: str) -> int:
    """The column of modality ``key`` in ``batch['lengths']`` (B, M)."""
    try:
        return batch['modalities'].index(key)
    except ValueError:
        raise KeyError(f"modality '{key}' is not in the batch; found "
                       f"{batch['modalities']}") from None


def seq_len_of(seq_len, key: str, where: str) -> int:
    """T for modality ``key`` from an int T or a ``{modality: T_m}`` dict."""
    if isinstance(seq_len, int):
        return seq_len
    if key not in seq_len:
        raise KeyError(f'{where}: seq_len {dict(seq_len)} names no length '
                       f"for modality '{key}'")
    return int(seq_len[key])


def zero_padding_spans(arrays: Dict[str, np.ndarray]) -> Dict[str, tuple]:
    """``{m: (start (n,), stop (n,))}``: each row's valid steps.

    ``arrays``: ``{m: (n, T_m, N_m)}``. A step is padding when it is all
    zeros at the start or the end of the row (MulT's pickles are
    left-padded, CMU-SDK files pad either end). Modalities of the same
    length T are treated as aligned: a step is padding only if it is zero
    in all of them, so they stay aligned. Interior zero steps are data and
    kept.
    """
    groups: Dict[int, List[str]] = {}
    for m, arr in arrays.items():
        groups.setdefault(arr.shape[1], []).append(m)
    spans = {}
    for steps, names in groups.items():
        zero = np.logical_and.reduce(
            [~np.asarray(arrays[m]).any(axis=2) for m in names])
        empty = zero.all(axis=1)
        start = np.where(empty, 0, np.argmax(~zero, axis=1))
        stop = np.where(empty, 0, steps - np.argmax(~zero[:, ::-1], axis=1))
        spans.update({m: (start, stop) for m in names})
    return spans


def left_align(arrays: Dict[str, np.ndarray], modalities: Sequence[str]
               ) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """Zero-padded ``{m: (n, T_m, N_m)}`` -> (the same arrays with each
    row's valid steps (:func:`zero_padding_spans`) moved to the front,
    lengths ``(n, M)`` int64 in ``modalities`` order)."""
    spans = zero_padding_spans({m: arrays[m] for m in modalities})
    out, lengths = {}, []
    for m in modalities:
        arr, (start, stop) = np.asarray(arrays[m]), spans[m]
        shifted = np.zeros_like(arr)
        for i, (a, b) in enumerate(zip(start, stop)):
            shifted[i, :b - a] = arr[i, a:b]
        out[m] = shifted
        lengths.append(stop - start)
    return out, np.stack(lengths, axis=1).astype(np.int64)
