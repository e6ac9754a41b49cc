from typing import Dict

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS


@MODELS.register_module()
class ModalityProjection(BaseModule):
    """g in paper Eq. 2: one ``Linear(N_m -> N)`` per modality.

    Args:
        in_dims: modality name -> feature dim N_m, in token order
            (modality-major, e.g. ``dict(audio=74, video=35, text=300)``).
        embed_dim: the unified width N.

    Shapes: ``{m: (B, T, N_m)} -> (B, M, T, N)``.
    """

    def __init__(self, in_dims: Dict[str, int], embed_dim: int,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        if not in_dims:
            raise ValueError('ModalityProjection needs at least one modality')
        self.in_dims = dict(in_dims)
        self.embed_dim = embed_dim
        self.proj = nn.ModuleDict(
            {m: nn.Linear(d, embed_dim) for m, d in self.in_dims.items()})

    def check_inputs(self, inputs: Dict[str, torch.Tensor]) -> None:
        """Raise a ValueError naming the modality if inputs do not fit."""
        missing = [m for m in self.in_dims if m not in inputs]
        if missing:
            raise ValueError(
                f'configured modalities {missing} are missing from the inputs;'
                f' found {sorted(inputs)}')
        shapes = {m: tuple(inputs[m].shape) for m in self.in_dims}
        for m, dim in self.in_dims.items():
            if len(shapes[m]) != 3 or shapes[m][-1] != dim:
                raise ValueError(
                    f"modality '{m}': expected features of shape (B, T, {dim})"
                    f' as configured, found {shapes[m]}')
        if len({s[:2] for s in shapes.values()}) != 1:
            raise ValueError(
                f'all modalities must share (B, T) after sequence-length '
                f'unification; found {shapes}')

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        self.check_inputs(inputs)
        return torch.stack(
            [self.proj[m](inputs[m]) for m in self.in_dims], dim=1)
