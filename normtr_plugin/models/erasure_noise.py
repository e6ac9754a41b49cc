import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..registry import MODELS

CLEAN, TYPE1, TYPE2 = 0, 1, 2


@MODELS.register_module()
class ErasureNoise(nn.Module):
    """Explicit noise V(U, sigma) of paper Eq. 2 and section 3.5.1.

    Noise is erasure: a time window of the raw features is multiplied by 0.
    Per sample the kind is drawn from {clean, Type-1, Type-2} with ``probs``
    (SPEC Decision, default 1/3 each):

    - Type-1: every modality gets its own window, length uniform in
      ``0..floor(T/2)``, start uniform over the valid positions;
    - Type-2: one window drawn the same way, applied to one modality drawn
      uniformly.

    All draws are vectorised over the batch. With ``seed`` the module owns a
    generator (reproducible on its own); without it, torch's global RNG is
    used, which the Runner seeds.

    Shapes: ``{m: (B, T, N_m)} -> ({m: (B, T, N_m)}, noisy (B, M) bool)``,
    where ``noisy[b, m]`` says a non-empty window of modality m was erased
    (the label of D2, paper Eq. 7).
    """

    def __init__(self, probs: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                 seed: Optional[int] = None):
        super().__init__()
        probs = [float(p) for p in probs]
        if len(probs) != 3 or any(p < 0 or not math.isfinite(p)
                                  for p in probs):
            raise ValueError('probs must be 3 non-negative numbers for '
                             f'(clean, type-1, type-2), got {probs}')
        if abs(sum(probs) - 1) > 1e-6:
            raise ValueError(f'probs must sum to 1, got {probs} '
                             f'(sum {sum(probs):.6g})')
        self.probs = probs
        self.generator = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(seed)

    def sample_masks(self, batch_size: int, num_modalities: int,
                     seq_len: int) -> Tuple[torch.Tensor, torch.Tensor,
                                            torch.Tensor]:
        """Draw keep-masks on the CPU.

        Returns ``keep (B, M, T)`` float (0 = erased), ``noisy (B, M)`` bool
        and ``kind (B,)`` long (0 clean, 1 Type-1, 2 Type-2).
        """
        if seq_len < 1:
            raise ValueError(f'sequence length T must be >= 1, got {seq_len}')
        B, M, T, g = batch_size, num_modalities, seq_len, self.generator
        kind = torch.multinomial(torch.tensor(self.probs), B,
                                 replacement=True, generator=g)
        length = torch.randint(0, T // 2 + 1, (B, M), generator=g)
        start = (torch.rand(B, M, generator=g) *
                 (T - length + 1)).long()
        # Type-2: the window of modality 0 goes to one random modality.
        target = torch.randint(0, M, (B,), generator=g)
        modality = torch.arange(M)
        is_type2 = (kind == TYPE2)[:, None]
        only_target = modality[None] == target[:, None]
        length = torch.where(is_type2, length[:, :1], length)
        start = torch.where(is_type2, start[:, :1], start)
        active = torch.where(is_type2, only_target,
                             (kind == TYPE1)[:, None].expand(B, M))
        length = length * active
        steps = torch.arange(T)[None, None]
        erased = (steps >= start[..., None]) & \
            (steps < (start + length)[..., None])
        return (~erased).float(), length > 0, kind

    def forward(self, inputs: Dict[str, torch.Tensor]
                ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        names = list(inputs)
        B, T = inputs[names[0]].shape[:2]
        keep, noisy, _ = self.sample_masks(B, len(names), T)
        device = inputs[names[0]].device
        keep, noisy = keep.to(device), noisy.to(device)
        noisy_inputs = {
            m: x * keep[:, i, :, None].to(x.dtype)
            for i, (m, x) in enumerate(inputs.items())}
        return noisy_inputs, noisy

    def extra_repr(self) -> str:
        return f'probs={self.probs}'
