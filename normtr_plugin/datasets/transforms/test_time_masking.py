"""Test-time masking as pipeline transforms (SPEC section 5).

:class:`RandomMasking` / :class:`WindowMasking` put the masker family of
:mod:`normtr_plugin.models.maskers` (``RandomMasker`` / ``WindowMasker``)
into a config's test pipeline, after the sequence-length transforms and
before ``PackMultimodalInputs``, per sample or on whole batches. They draw
exactly the masks the robustness loop (``RobustnessTestLoop``) and the
figures draw for the same seed and ratio: a sample's mask is a function of
``(seed, id, modality)`` alone, identical whether it is masked alone or in
a batch. Only valid steps (before ``lengths[m]``) count as the sequence.
"""
from typing import Optional, Sequence

import numpy as np
import torch

from ...models.maskers import (MASKER_TYPES, RandomMasker, WindowMasker,
                               check_ratio, window_length)
from ...registry import TRANSFORMS

#: The masker names (SPEC 5).
MASKERS = tuple(MASKER_TYPES)

__all__ = ['MASKERS', 'RandomMasking', 'WindowMasking', 'check_ratio',
           'window_length']


class _TestTimeMasking:
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

    def keep_masks(self, ids: Sequence[str], key: str,
                   lengths: np.ndarray, steps: int) -> np.ndarray:
        """Boolean ``(B, steps)`` masks of the kept steps; steps past a
        sample's valid length are padding and count as kept."""
        lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
        return self.masker.keep_mask(list(ids), key, lengths, steps).numpy()

    def keep_mask(self, sample_id: str, key: str, seq_len: int) -> np.ndarray:
        """Boolean ``(T,)`` mask of the steps kept for one sample/modality."""
        return self.keep_masks([sample_id], key, np.array([seq_len]),
                               seq_len)[0]

    def transform_batch(self, batch: dict) -> dict:
        for key in self.keys or batch['modalities']:
            x = batch[key]
            lengths = batch['lengths'][key].to(x.device)
            keep = self.masker.keep_mask(batch['ids'], key, lengths,
                                         x.shape[1])
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
    """Erase each valid time step of each modality with probability
    ``ratio`` (``RandomMasker``).

    Deterministic given ``(seed, results['id'])``. Shapes:
    ``(T, D) -> (T, D)`` for each key (default: every modality).
    """
    masker_class = RandomMasker


@TRANSFORMS.register_module()
class WindowMasking(_TestTimeMasking):
    """Erase one contiguous window of ``round(ratio * L)`` valid steps per
    modality (``WindowMasker``).

    Deterministic given ``(seed, results['id'])``. Shapes:
    ``(T, D) -> (T, D)`` for each key (default: every modality).
    """
    masker_class = WindowMasker
