"""The masker family: which time steps of a batch are erased (set to 0).

One definition serves the training noise (:class:`~normtr_plugin.models.
erasure_noise.ErasureNoise`, SPEC 3.1), the robustness evaluation
(``RobustnessTestLoop``, SPEC 5), the test-pipeline transforms
(``RandomMasking`` / ``WindowMasking``) and the figures
(``tools/visualize.py``):

- :class:`RandomMasker` (TFR-Net / MMSA protocol): each valid step of each
  modality is erased independently with probability ``ratio``;
- :class:`WindowMasker`: one contiguous window of ``round(ratio * L)``
  steps per modality (Python's ``round``: ties go to the even integer), its
  start uniform over the ``L - size + 1`` valid positions;
- :func:`window_keep` / :func:`window_start`: the window geometry shared
  with ``ErasureNoise`` (whose window sizes are random, 0..floor(L/2)).

Masks are ``keep`` tensors, ``(B, T_m)`` bool, True where a step is kept.
They are length-aware: ``L = lengths[b, m]`` (the batch's valid steps) is the
sequence; padding (steps ``>= L``) is always kept (it is zero anyway).

Random source of the evaluation maskers: uniforms are a counter-based hash
(splitmix64) of ``(seed, crc32(sample id), crc32(modality), index)``,
computed with int64 tensor ops on the inputs' device. A sample's mask thus
depends only on the seed, its id and the modality: never on the batch it is
in, the batch order, workers, ranks or the device. The number of draws does
not depend on ``ratio``, so for one seed the random masker's masks are
nested (what is erased at r is erased at r' > r). Training noise instead
draws from a ``torch.Generator`` stream (new noise every step).
"""
import math
import zlib
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..registry import MODELS
from .data_samples import batch_data_samples
from ..utils.errors import InputError

__all__ = ['MASKER_TYPES', 'BaseMasker', 'RandomMasker', 'WindowMasker',
           'build_masker', 'check_ratio', 'erase', 'hash_uniforms',
           'window_keep', 'window_length', 'window_start']

#: Short names accepted wherever a masker is configured.
MASKER_TYPES = {'random': 'RandomMasker', 'window': 'WindowMasker'}

Inputs = Dict[str, torch.Tensor]


def check_ratio(ratio) -> float:
    """``ratio`` as a float in [0, 1], else ``ValueError``."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise InputError(f'masking ratio must be a number in [0, 1], got '
                         f'{ratio!r}') from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError(f'masking ratio must be in [0, 1], got {ratio!r}')
    return value


def check_seed(seed) -> int:
    """``seed`` as a non-negative int, else ``ValueError``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise InputError(f'seed must be a non-negative int, got {seed!r}')
    return int(seed)


def window_length(ratio: float, seq_len: int) -> int:
    """Steps the window masker erases of ``seq_len`` valid steps:
    ``round(ratio * seq_len)``."""
    return min(seq_len, max(0, int(round(ratio * seq_len))))


# ---------------------------------------------------------------------------
# Window geometry (shared with ErasureNoise)
# ---------------------------------------------------------------------------

def window_start(u: torch.Tensor, room: torch.Tensor) -> torch.Tensor:
    """Start uniform over ``0..room``: ``min(floor(u * (room + 1)), room)``.

    ``u`` uniforms in [0, 1) and ``room = L - size`` (long), same shape.
    """
    return torch.minimum((u * (room + 1)).long(), room)


def window_keep(start: torch.Tensor, size: torch.Tensor,
                steps: int) -> torch.Tensor:
    """``start, size (...) -> keep (..., steps)`` bool, False inside the
    window ``[start, start + size)``."""
    t = torch.arange(steps, device=start.device)
    erased = (t >= start[..., None]) & (t < (start + size)[..., None])
    return ~erased


def erase(inputs: Mapping[str, torch.Tensor],
          keep: Mapping[str, torch.Tensor]) -> Inputs:
    """Zero the erased steps: ``{m: (B, T, D)}`` with ``{m: bool (B, T)}``.

    Returns new tensors (the inputs are untouched); modalities without a
    mask pass through.
    """
    out = {}
    for m, x in inputs.items():
        if m not in keep:
            out[m] = x
            continue
        k = keep[m]
        if tuple(k.shape) != tuple(x.shape[:2]):
            raise InputError(f"modality '{m}': mask shape {tuple(k.shape)} "
                             'does not match the input (B, T) = '
                             f'{tuple(x.shape[:2])}')
        out[m] = x * k.to(x.device, x.dtype).reshape(
            k.shape + (1,) * (x.dim() - 2))
    return out


# ---------------------------------------------------------------------------
# Counter-based uniforms (splitmix64 with int64 tensor ops)
# ---------------------------------------------------------------------------

def _signed(value: int) -> int:
    """An unsigned 64-bit constant as the int64 with the same bits."""
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_MIX1 = _signed(0xBF58476D1CE4E5B9)
_MIX2 = _signed(0x94D049BB133111EB)


def _wrap(value: int) -> int:
    """A Python int reduced mod 2^64, as an int64."""
    return _signed(value & ((1 << 64) - 1))


def _shr(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _splitmix64(x: torch.Tensor) -> torch.Tensor:
    """The splitmix64 finaliser on int64 bit patterns (wraps mod 2^64)."""
    x = x + _GOLDEN
    x = (x ^ _shr(x, 30)) * _MIX1
    x = (x ^ _shr(x, 27)) * _MIX2
    return x ^ _shr(x, 31)


def _crc32(text: str) -> int:
    return zlib.crc32(str(text).encode('utf-8'))


def hash_uniforms(seed: int, ids: Sequence, key: str, count: int,
                  device=None) -> torch.Tensor:
    """``(B, count)`` float64 uniforms in [0, 1) on ``device``, a pure
    function of ``(seed, crc32(str(id)), crc32(key), index)``."""
    id_hash = torch.tensor([_crc32(i) for i in ids], dtype=torch.long,
                           device=device)
    base = _wrap(seed * _GOLDEN) ^ (id_hash * _MIX1) ^ _wrap(
        _crc32(key) * _MIX2)
    bits = _splitmix64(base[:, None] + torch.arange(count, device=device))
    return _shr(bits, 11).double() * 2.0 ** -53


# ---------------------------------------------------------------------------
# The evaluation maskers
# ---------------------------------------------------------------------------

class BaseMasker:
    """Erase time steps of a batch, seeded and per sample (module doc).

    Args:
        ratio: masking ratio r in [0, 1].
        seed: non-negative int; with the sample ids it fixes every mask.

    Shapes: ``inputs {m: (B, T_m, N_m)}``, ``lengths (B, M)`` (valid steps
    per modality, in ``inputs`` order; default: all T_m), ``ids`` B str ->
    masked inputs (same shapes) and ``keep {m: bool (B, T_m)}``.
    """
    kind = None

    def __init__(self, ratio: float = 0.0, seed: int = 0):
        self.ratio = check_ratio(ratio)
        self.seed = check_seed(seed)

    @property
    def seed_independent(self) -> bool:
        """True when the mask is the same for every seed (r = 0: nothing
        erased, r = 1: every valid step erased)."""
        return self.ratio in (0.0, 1.0)

    def uniforms(self, ids: Sequence, key: str, count: int,
                 device=None) -> torch.Tensor:
        """``(B, count)`` float64 uniforms of this seed (module doc)."""
        return hash_uniforms(self.seed, ids, key, count, device)

    def keep_mask(self, ids: Sequence, key: str, lengths: torch.Tensor,
                  steps: int) -> torch.Tensor:
        """``(B, steps)`` bool on ``lengths.device``: the steps kept of
        modality ``key`` for samples ``ids`` with ``lengths`` (B,) valid
        steps."""
        raise NotImplementedError

    def keep_masks(self, inputs: Mapping[str, torch.Tensor],
                   ids: Sequence,
                   lengths: Optional[torch.Tensor] = None
                   ) -> Dict[str, torch.Tensor]:
        """``{m: bool (B, T_m)}`` on the inputs' device."""
        names = list(inputs)
        if not names:
            raise InputError(f'{type(self).__name__} needs at least one '
                             'modality')
        first = inputs[names[0]]
        B, device = first.shape[0], first.device
        ids = list(ids) if ids is not None else None
        if ids is None or len(ids) != B:
            raise InputError(
                f'{type(self).__name__}: the sample ids seed the masks; '
                f'give one id per sample (batch of {B}), got '
                f'{None if ids is None else len(ids)}')
        if lengths is not None and tuple(lengths.shape) != (B, len(names)):
            raise InputError(f'lengths must be (B, M) = ({B}, {len(names)})'
                             f', one column per modality {names}, found '
                             f'{tuple(lengths.shape)}')
        keep = {}
        for i, m in enumerate(names):
            x = inputs[m]
            if x.dim() < 2 or x.shape[0] != B:
                raise InputError(f"modality '{m}': expected (B={B}, T, D) "
                                 f'features, found {tuple(x.shape)}')
            valid = (torch.full((B,), x.shape[1], dtype=torch.long,
                                device=device) if lengths is None else
                     lengths[:, i].to(device).long().clamp(0, x.shape[1]))
            keep[m] = self.keep_mask(ids, m, valid, x.shape[1])
        return keep

    def __call__(self, inputs: Mapping[str, torch.Tensor], ids: Sequence,
                 lengths: Optional[torch.Tensor] = None
                 ) -> Tuple[Inputs, Dict[str, torch.Tensor]]:
        keep = self.keep_masks(inputs, ids, lengths)
        return erase(inputs, keep), keep

    def mask_data(self, data: dict) -> Tuple[dict, Dict[str, torch.Tensor]]:
        """Mask a packed batch ``dict(inputs, data_samples)`` (the batched
        data sample gives ``ids`` and ``lengths``, see
        ``structures/data_samples.py``). Returns a new dict and the masks."""
        samples = data.get('data_samples')
        ids = lengths = None
        if samples is not None and hasattr(samples, 'metainfo'):
            ids = samples.metainfo.get('ids')
            lengths = samples.get('lengths')
        elif samples is not None:  # a list of per-sample elements
            batched = batch_data_samples(samples, list(data['inputs']))
            ids, lengths = batched.metainfo['ids'], batched.get('lengths')
        masked, keep = self(data['inputs'], ids, lengths)
        return dict(data, inputs=masked), keep

    def __repr__(self):
        return f'{type(self).__name__}(ratio={self.ratio}, seed={self.seed})'


@MODELS.register_module()
class RandomMasker(BaseMasker):
    """Erase each valid step with probability ``ratio`` (SPEC 5 'random')."""
    kind = 'random'

    def keep_mask(self, ids, key, lengths, steps):
        u = self.uniforms(ids, key, steps, lengths.device)
        t = torch.arange(steps, device=lengths.device)
        return (u >= self.ratio) | (t >= lengths[:, None])


@MODELS.register_module()
class WindowMasker(BaseMasker):
    """Erase one window of ``round(ratio * L)`` valid steps (SPEC 5
    'window'), its start uniform over the valid positions."""
    kind = 'window'

    def keep_mask(self, ids, key, lengths, steps):
        lengths = lengths.long()
        size = torch.round(self.ratio * lengths.double()).long()
        size = torch.minimum(size.clamp(min=0), lengths)
        u = self.uniforms(ids, key, 1, lengths.device)[:, 0]
        start = window_start(u, lengths - size)
        return window_keep(start, size, steps)


def build_masker(cfg: Union[str, dict, BaseMasker],
                 ratio: Optional[float] = None,
                 seed: Optional[int] = None) -> BaseMasker:
    """A masker from ``'random'`` / ``'window'``, a config dict
    (``dict(type='RandomMasker')``, short names accepted as ``type``) or an
    instance; ``ratio`` and ``seed``, when given, override the configured
    ones (an instance is copied, never changed)."""
    from ..registry import build_in_scope
    if isinstance(cfg, BaseMasker):
        cfg = dict(type=type(cfg), ratio=cfg.ratio, seed=cfg.seed)
    elif isinstance(cfg, str):
        if cfg not in MASKER_TYPES:
            raise InputError(f'masker must be one of {sorted(MASKER_TYPES)} '
                             f'or a config dict, got {cfg!r}')
        cfg = dict(type=cfg)
    cfg = dict(cfg)
    cfg['type'] = MASKER_TYPES.get(cfg.get('type'), cfg.get('type'))
    if ratio is not None:
        cfg['ratio'] = ratio
    if seed is not None:
        cfg['seed'] = seed
    masker = build_in_scope(MODELS, cfg)
    if not isinstance(masker, BaseMasker):
        raise TypeError(f'{cfg} built a {type(masker).__name__}, not a '
                        'masker (BaseMasker)')
    return masker
