"""Test-time masking as pipeline transforms (SPEC section 5).

:class:`RandomMasking` / :class:`WindowMasking` put the masker family of
:mod:`normtr_plugin.structures.maskers` (``RandomMasker`` / ``WindowMasker``)
into a config's test pipeline, after the sequence-length transforms and
before ``PackMultimodalInputs``. They draw exactly the masks the robustness loop (``RobustnessTestLoop``) and the
figures draw for the same seed and ratio: a sample's mask is a function of
``(seed, id, modality)`` alone, identical whether it is masked alone or in
a batch. Only valid steps (before ``lengths[m]``) count as the sequence.
"""
from typing import Optional, Sequence

from ...registry import TRANSFORMS
from ...structures.maskers import (MASKER_TYPES, RandomMasker, WindowMasker,
                                   check_ratio, window_length)
from .base import BatchTransform

#: The masker names (SPEC 5).
MASKERS = tuple(MASKER_TYPES)

__all__ = ['MASKERS', 'RandomMasking', 'WindowMasking', 'check_ratio',
           'window_length']


class _TestTimeMasking(BatchTransform):
    masker_class = None

    def __init__(self, ratio: float, seed: int = 0,
                 keys: Optional[Sequence[str]] = None):
        self.masker = self.masker_class(ratio, seed)
        self.keys = tuple(keys) if keys else None

    @property
    def ratio(self) -> float:
        return self.masker.ratio

    @property
    def seed(self) -> int:
        return self.masker.seed

    def transform(self, batch: dict) -> dict:
        for key in self.keys or batch['modalities']:
            x = batch[key]
            lengths = batch['lengths'][:, self.column(batch, key)].to(
                x.device)
            keep = self.masker.keep_mask(batch['ids'], key, lengths,
                                         x.shape[1])
            batch[key] = x * keep[..., None].to(x.dtype)
        return batch

    def __repr__(self):
        return (f'{type(self).__name__}(ratio={self.ratio}, seed={self.seed}'
                f', keys={self.keys})')


@TRANSFORMS.register_module()
class RandomMasking(_TestTimeMasking):
    """Erase each valid time step of each modality with probability
    ``ratio`` (``RandomMasker``).

    Deterministic given ``(seed, sample id)``. Shapes:
    ``(B, T, D) -> (B, T, D)`` for each key (default: every modality).
    """
    masker_class = RandomMasker


@TRANSFORMS.register_module()
class WindowMasking(_TestTimeMasking):
    """Erase one contiguous window of ``round(ratio * L)`` valid steps per
    modality (``WindowMasker``).

    Deterministic given ``(seed, sample id)``. Shapes:
    ``(B, T, D) -> (B, T, D)`` for each key (default: every modality).
    """
    masker_class = WindowMasker
