"""Test-time masking for the robustness evaluation (SPEC section 5).

Two maskers erase (set to 0) time steps of the unified feature sequences:

- ``random`` (TFR-Net / MMSA protocol): each time step of each modality is
  erased independently with probability ``ratio``;
- ``window``: one contiguous window of ``round(ratio * T)`` steps per
  modality (Python's ``round``: ties go to the even integer), its start
  uniform over the ``T - L + 1`` valid positions.

Two ways to apply them:

- the transforms :class:`RandomMasking` / :class:`WindowMasking`, for a
  config's test pipeline (after the sequence-length transforms, before
  ``PackMultimodalInputs``), per sample or on whole batches. The draws are a
  counter-based hash of ``(seed, crc32(id), crc32(modality), step)``, so a
  sample's mask never depends on batch order, workers, the other modalities
  or whether it was masked alone or in a batch; only valid steps (those
  before ``lengths[m]``) count as the sequence T;
- :func:`mask_batch` (and :func:`sample_keep_masks` + :func:`apply_keep_masks`)
  on stacked ``(B, T, D)`` tensors, vectorised over the batch, drawing from
  a ``torch.Generator``. ``tools/robustness.py`` uses this path.

Both paths follow the same rules but use different random sources, so they
give different (equally distributed) masks for the same sample. Within each
path the number of draws does not depend on ``ratio``: for a fixed seed the
random masker's masks are nested (what is erased at r is erased at r' > r).
"""
import math
import zlib
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch

from ...registry import TRANSFORMS

MASKERS = ('random', 'window')

__all__ = ['MASKERS', 'RandomMasking', 'WindowMasking', 'apply_keep_masks',
           'check_ratio', 'mask_batch', 'sample_keep_masks', 'window_length']


def check_ratio(ratio) -> float:
    """``ratio`` as a float in [0, 1], else ``ValueError``."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f'masking ratio must be a number in [0, 1], got '
                         f'{ratio!r}') from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f'masking ratio must be in [0, 1], got {ratio!r}')
    return value


def _check_masker(masker: str) -> str:
    if masker not in MASKERS:
        raise ValueError(f'masker must be one of {MASKERS}, got {masker!r}')
    return masker


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    return int(seed)


def window_length(ratio: float, seq_len: int) -> int:
    """Steps erased by the window masker: ``round(ratio * T)``."""
    return min(seq_len, max(0, int(round(ratio * seq_len))))


# ---------------------------------------------------------------------------
# Pipeline transforms (numpy, one sample)
# ---------------------------------------------------------------------------

class _TestTimeMasking:
    masker = None

    def __init__(self, ratio: float, seed: int = 0,
                 keys: Optional[Sequence[str]] = None):
        self.ratio = check_ratio(ratio)
        self.seed = _check_seed(seed)
        self.keys = tuple(keys) if keys else None

    def uniforms(self, ids: Sequence[str], key: str, count: int
                 ) -> np.ndarray:
        """``(B, count)`` uniforms in [0, 1) from (seed, id, key, index)."""
        id_hash = np.array([zlib.crc32(str(i).encode('utf-8')) for i in ids],
                           dtype=np.uint64)
        key_hash = np.array(zlib.crc32(key.encode('utf-8')), np.uint64)
        with np.errstate(over='ignore'):
            base = (np.array(self.seed, np.uint64) * _GOLDEN
                    ^ id_hash * np.uint64(0xBF58476D1CE4E5B9)
                    ^ key_hash * np.uint64(0x94D049BB133111EB))
            bits = _splitmix64(base[:, None] +
                               np.arange(count, dtype=np.uint64))
        return (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53

    def keep_masks(self, ids: Sequence[str], key: str,
                   lengths: np.ndarray, steps: int) -> np.ndarray:
        """Boolean ``(B, steps)`` masks of the kept steps; steps past a
        sample's valid length are padding and count as kept."""
        raise NotImplementedError

    def keep_mask(self, sample_id: str, key: str, seq_len: int) -> np.ndarray:
        """Boolean ``(T,)`` mask of the steps kept for one sample/modality."""
        return self.keep_masks([sample_id], key, np.array([seq_len]),
                               seq_len)[0]

    def transform_batch(self, batch: dict) -> dict:
        for key in self.keys or batch['modalities']:
            x = batch[key]
            keep = self.keep_masks(batch['ids'], key,
                                   batch['lengths'][key].cpu().numpy(),
                                   x.shape[1])
            keep = torch.from_numpy(keep).to(x.device)
            batch[key] = x * keep[..., None].to(x.dtype)
        return batch

    def __call__(self, results: dict) -> dict:
        sample_id = results.get('id')
        if sample_id is None:
            raise KeyError(f'{type(self).__name__} needs the sample id '
                           "(results['id']) to seed its mask")
        keys = self.keys or results['modalities']
        for key in keys:
            if key not in results:
                raise KeyError(f"{type(self).__name__}: modality '{key}' not "
                               f'in the sample; found {sorted(results)}')
            x = np.asarray(results[key])
            if x.ndim < 1:
                raise ValueError(f"modality '{key}' must be a (T, D) array, "
                                 f'found shape {x.shape}')
            length = results.get('lengths', {}).get(key, x.shape[0])
            keep = self.keep_masks([str(sample_id)], key, np.array([length]),
                                   x.shape[0])[0]
            x = np.array(x, copy=True)  # rows may be read-only Arrow views
            x[~keep] = 0
            results[key] = x
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(ratio={self.ratio}, seed={self.seed}'
                f', keys={self.keys})')


@TRANSFORMS.register_module()
class RandomMasking(_TestTimeMasking):
    """Erase each time step of each modality with probability ``ratio``.

    Place after the sequence-length transforms, before
    ``PackMultimodalInputs``. Deterministic given ``(seed, results['id'])``.
    Shapes: ``(T, D) -> (T, D)`` for each key (default: every modality).
    """
    masker = 'random'

    def keep_masks(self, ids, key, lengths, steps):
        return self.uniforms(ids, key, steps) >= self.ratio


@TRANSFORMS.register_module()
class WindowMasking(_TestTimeMasking):
    """Erase one contiguous window of ``round(ratio * T)`` steps per modality.

    The window start is uniform over the valid positions. Place after the
    sequence-length transforms, before ``PackMultimodalInputs``.
    Deterministic given ``(seed, results['id'])``. Shapes:
    ``(T, D) -> (T, D)`` for each key (default: every modality).
    """
    masker = 'window'

    def keep_masks(self, ids, key, lengths, steps):
        lengths = np.asarray(lengths, np.int64)
        # np.rint, like Python's round, sends ties to the even integer
        size = np.clip(np.rint(self.ratio * lengths).astype(np.int64), 0,
                       lengths)
        u = self.uniforms(ids, key, 1)[:, 0]
        start = np.minimum((u * (lengths - size + 1)).astype(np.int64),
                           lengths - size)
        t = np.arange(steps)
        return ~((t >= start[:, None]) & (t < (start + size)[:, None]))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wraps mod 2^64)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# ---------------------------------------------------------------------------
# Vectorised path (torch, whole batches)
# ---------------------------------------------------------------------------

def sample_keep_masks(batch_size: int, seq_lens: Mapping[str, int],
                      ratio: float, masker: str = 'random',
                      generator: Optional[torch.Generator] = None
                      ) -> Dict[str, torch.Tensor]:
    """Draw keep-masks for ``batch_size`` samples, vectorised over the batch.

    Args:
        batch_size: B.
        seq_lens: modality -> T_m, in the order the draws are made.
        ratio: masking ratio in [0, 1].
        masker: 'random' or 'window'.
        generator: a CPU ``torch.Generator`` (``None``: torch's global RNG).

    Returns ``{m: bool (B, T_m)}`` on the CPU, True where the step is kept.
    The draws per modality are ``rand(B, T_m)`` (random) or ``rand(B)``
    (window) whatever the ratio.
    """
    ratio, masker = check_ratio(ratio), _check_masker(masker)
    if batch_size < 0:
        raise ValueError(f'batch_size must be >= 0, got {batch_size}')
    masks = {}
    for key, seq_len in seq_lens.items():
        if masker == 'random':
            u = torch.rand(batch_size, seq_len, generator=generator)
            masks[key] = u >= ratio
        else:
            length = window_length(ratio, seq_len)
            u = torch.rand(batch_size, generator=generator,
                           dtype=torch.float64)
            start = (u * (seq_len - length + 1)).long().clamp_(
                max=seq_len - length)
            steps = torch.arange(seq_len)
            erased = (steps >= start[:, None]) & \
                (steps < (start + length)[:, None])
            masks[key] = ~erased
    return masks


def apply_keep_masks(inputs: Mapping[str, torch.Tensor],
                     masks: Mapping[str, torch.Tensor]
                     ) -> Dict[str, torch.Tensor]:
    """Zero the erased steps: ``{m: (B, T, D)}`` with ``{m: bool (B, T)}``.

    Returns new tensors (inputs untouched); modalities without a mask are
    passed through.
    """
    out = {}
    for key, x in inputs.items():
        if key not in masks:
            out[key] = x
            continue
        keep = masks[key]
        if tuple(keep.shape) != tuple(x.shape[:2]):
            raise ValueError(f"modality '{key}': mask shape "
                             f'{tuple(keep.shape)} does not match the input '
                             f'(B, T) = {tuple(x.shape[:2])}')
        keep = keep.to(x.device).reshape(keep.shape + (1,) * (x.dim() - 2))
        out[key] = torch.where(keep, x, torch.zeros((), dtype=x.dtype,
                                                    device=x.device))
    return out


def mask_batch(inputs: Mapping[str, torch.Tensor], ratio: float,
               masker: str = 'random',
               generator: Optional[torch.Generator] = None,
               return_masks: bool = False):
    """Mask a whole batch ``{m: (B, T, D)}`` with tensor ops.

    ``masker`` is 'random' or 'window' (module docstring); the masks are
    drawn on the CPU from ``generator`` in the order of ``inputs``. Returns
    the masked inputs (new tensors), and with ``return_masks=True`` also the
    keep-masks ``{m: bool (B, T)}``.
    """
    if not inputs:
        raise ValueError('mask_batch needs at least one modality')
    sizes = {x.shape[0] for x in inputs.values()}
    if len(sizes) != 1:
        raise ValueError(f'all modalities must have the same batch size, '
                         f'found {sorted(sizes)}')
    seq_lens = {m: x.shape[1] for m, x in inputs.items()}
    masks = sample_keep_masks(sizes.pop(), seq_lens, ratio, masker, generator)
    masked = apply_keep_masks(inputs, masks)
    return (masked, masks) if return_masks else masked
