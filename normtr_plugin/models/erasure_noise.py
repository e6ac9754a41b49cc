import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..registry import MODELS
from ..structures.maskers import erase, window_keep, window_start
from ..utils.errors import InputError

CLEAN, TYPE1, TYPE2 = 0, 1, 2


@MODELS.register_module()
class ErasureNoise(nn.Module):
    """Explicit noise V(U, sigma) of paper Eq. 2 and section 3.5.1.

    Noise is erasure: a time window of the raw features is multiplied by 0.
    Per sample the kind is drawn from {clean, Type-1, Type-2} with ``probs``
    (SPEC Decision, default 1/3 each):

    - Type-1: every modality gets its own window, length uniform in
      ``0..floor(L/2)``, start uniform over ``0..L - length``;
    - Type-2: one modality drawn uniformly gets one window drawn the same
      way; the others stay clean.

    ``L`` is the sample's number of valid steps of that modality (``lengths``
    (B, M), default: all T_m steps), so windows never touch padding, and the
    modalities may have different lengths T_m (SPEC section 1 Decision).

    A member of the masker family (:mod:`~normtr_plugin.structures.maskers`):
    the windows use its geometry (``window_start``, ``window_keep``) and
    are applied with its ``erase``, like ``WindowMasker``'s. Unlike the
    evaluation maskers, whose draws are a fixed function of (seed, sample
    id), training noise is new at every step: it draws from a stream.

    All draws are vectorised over the batch and made on the inputs' device,
    with no host synchronisation. With ``seed`` the module owns one generator
    per device, created on first use (reproducible on its own); without it,
    torch's global RNG is used, which the Runner seeds. A ``generator``
    passed to ``forward`` overrides both for that call (the evaluation-time
    invariance statistics use one, so they never move training's RNG).

    Shapes: ``{m: (B, T_m, N_m)}, lengths (B, M) -> ({m: (B, T_m, N_m)},
    noisy (B, M) bool)``, where ``noisy[b, m]`` says a non-empty window of
    modality m was erased (the label of D2, paper Eq. 7).
    """

    def __init__(self, probs: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                 seed: Optional[int] = None):
        super().__init__()
        probs = [float(p) for p in probs]
        if len(probs) != 3 or any(p < 0 or not math.isfinite(p)
                                  for p in probs):
            raise InputError('probs must be 3 non-negative numbers for '
                             f'(clean, type-1, type-2), got {probs}')
        if abs(sum(probs) - 1) > 1e-6:
            raise InputError(f'probs must sum to 1, got {probs} '
                             f'(sum {sum(probs):.6g})')
        self.probs = probs
        # kind = #thresholds <= u for u ~ U[0, 1); a kind of probability 0
        # (and every kind after it) is unreachable, whatever the rounding.
        self._thresholds = [2.0 if sum(probs[k + 1:]) == 0 else
                            sum(probs[:k + 1]) for k in range(2)]
        self.manual_seed(seed)

    def manual_seed(self, seed: Optional[int]) -> 'ErasureNoise':
        """Reseed (``None``: use torch's global RNG from now on)."""
        self.seed = seed
        self._generators: Dict[str, torch.Generator] = {}
        return self

    def generator_for(self, device) -> Optional[torch.Generator]:
        """The seeded generator of ``device`` (None when unseeded)."""
        if self.seed is None:
            return None
        key = str(torch.device(device))
        if key not in self._generators:
            self._generators[key] = torch.Generator(
                device=device).manual_seed(self.seed)
        return self._generators[key]

    @property
    def generator(self) -> Optional[torch.Generator]:
        """The CPU generator (None when unseeded)."""
        return self.generator_for('cpu')

    def draw_windows(self, lengths: torch.Tensor,
                     generator: Optional[torch.Generator] = None,
                     uniforms: Optional[torch.Tensor] = None
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw one window per sample and modality on ``lengths.device``.

        Args:
            lengths: (B, M) integer, valid steps L per sample and modality.
            generator: draw from this generator (on ``lengths.device``)
                instead of the module's own one or torch's global RNG; the
                evaluation-time noise uses it to leave training's RNG alone.
            uniforms: (B, 2M + 2) draws in [0, 1) to use instead of drawing
                (e.g. a per-sample hash, so a sample's window does not
                depend on its batch).

        Returns ``start (B, M)``, ``size (B, M)`` long (size 0: nothing
        erased; ``size <= floor(L/2)``, ``start + size <= L``) and
        ``kind (B,)`` long (0 clean, 1 Type-1, 2 Type-2).
        """
        B, M = lengths.shape
        device = lengths.device
        if generator is None:
            generator = self.generator_for(device)
        if uniforms is not None:
            if tuple(uniforms.shape) != (B, 2 * M + 2):
                raise InputError(f'uniforms must be (B, 2M + 2) = '
                                 f'({B}, {2 * M + 2}), found '
                                 f'{tuple(uniforms.shape)}')
            u = uniforms.to(device)
        else:
            u = torch.rand(B, 2 * M + 2, device=device, generator=generator)
        kind = (u[:, 0] >= self._thresholds[0]).long() + \
            (u[:, 0] >= self._thresholds[1]).long()
        target = (u[:, 1] * M).long().clamp(max=M - 1)
        L = lengths.long().clamp(min=0)
        half = L // 2
        size = torch.minimum((u[:, 2:M + 2] * (half + 1)).long(), half)
        room = L - size
        start = window_start(u[:, M + 2:], room)
        active = torch.where(
            (kind == TYPE2)[:, None],
            torch.arange(M, device=device)[None] == target[:, None],
            (kind == TYPE1)[:, None])
        return start, size * active, kind

    def sample_masks(self, batch_size: int, num_modalities: int,
                     seq_len: int, lengths: Optional[torch.Tensor] = None,
                     device=None) -> Tuple[torch.Tensor, torch.Tensor,
                                           torch.Tensor]:
        """Keep-masks for M modalities of one length T.

        Returns ``keep (B, M, T)`` float (0 = erased), ``noisy (B, M)`` bool
        and ``kind (B,)`` long (0 clean, 1 Type-1, 2 Type-2).
        """
        if seq_len < 1:
            raise InputError(f'sequence length T must be >= 1, got {seq_len}')
        if lengths is None:
            lengths = torch.full((batch_size, num_modalities), seq_len,
                                 device=device)
        elif device is not None:
            lengths = lengths.to(device)
        start, size, kind = self.draw_windows(lengths.clamp(max=seq_len))
        keep = window_keep(start, size, seq_len)
        return keep.to(torch.float32), size > 0, kind

    def forward(self, inputs: Dict[str, torch.Tensor],
                lengths: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None,
                uniforms: Optional[torch.Tensor] = None
                ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        names = list(inputs)
        first = inputs[names[0]]
        B, device = first.shape[0], first.device
        for m, x in inputs.items():
            if x.dim() != 3 or x.shape[0] != B or x.shape[1] < 1:
                raise InputError(
                    f"modality '{m}': expected features (B={B}, T_m >= 1, "
                    f'N_m), found {tuple(x.shape)}')
        if lengths is None:
            valid = [torch.full((B,), inputs[m].shape[1], device=device,
                                dtype=torch.long) for m in names]
        else:
            if lengths.shape != (B, len(names)):
                raise InputError(
                    f'lengths must be (B, M) = ({B}, {len(names)}), one '
                    f'column per modality {names}, found '
                    f'{tuple(lengths.shape)}')
            lengths = lengths.to(device)
            valid = [lengths[:, i].clamp(max=inputs[m].shape[1])
                     for i, m in enumerate(names)]
        start, size, _ = self.draw_windows(torch.stack(valid, dim=1),
                                           generator, uniforms)
        keep = {m: window_keep(start[:, i], size[:, i], x.shape[1])
                for i, (m, x) in enumerate(inputs.items())}
        return erase(inputs, keep), size > 0

    def extra_repr(self) -> str:
        return f'probs={self.probs}, seed={self.seed}'
