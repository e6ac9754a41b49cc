from typing import Dict

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS
from ..utils.errors import InputError


@MODELS.register_module()
class ModalityProjection(BaseModule):
    """g in paper Eq. 2: one ``Linear(N_m -> N)`` per modality.

    Args:
        in_dims: modality name -> feature dim N_m, in token order
            (modality-major, e.g. ``dict(audio=74, video=35, text=300)``).
        embed_dim: the unified width N.

    Shapes: ``forward``: ``{m: (B, T, N_m)} -> (B, M, T, N)`` (one T for
    all modalities); ``tokens``: ``{m: (B, T_m, N_m)} -> (B, sum_m T_m, N)``
    in modality-major order ``[a_1..a_Ta, v_1..v_Tv, ...]`` (any T_m).
    """

    def __init__(self, in_dims: Dict[str, int], embed_dim: int,
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        if not in_dims:
            raise InputError('ModalityProjection needs at least one modality')
        self.in_dims = dict(in_dims)
        self.embed_dim = embed_dim
        self.proj = nn.ModuleDict(
            {m: nn.Linear(d, embed_dim) for m, d in self.in_dims.items()})

    def check_inputs(self, inputs: Dict[str, torch.Tensor]
                     ) -> Dict[str, int]:
        """Raise a ValueError naming the modality if inputs do not fit;
        return ``{m: T_m}`` in configured order."""
        missing = [m for m in self.in_dims if m not in inputs]
        if missing:
            raise InputError(
                f'configured modalities {missing} are missing from the inputs;'
                f' found {sorted(inputs)}')
        shapes = {m: tuple(inputs[m].shape) for m in self.in_dims}
        for m, dim in self.in_dims.items():
            if len(shapes[m]) != 3 or shapes[m][-1] != dim:
                raise InputError(
                    f"modality '{m}': expected features of shape "
                    f'(B, T, {dim}) as configured, found {shapes[m]}')
        if len({s[0] for s in shapes.values()}) != 1:
            raise InputError(f'all modalities must share the batch size B; '
                             f'found {shapes}')
        return {m: s[1] for m, s in shapes.items()}

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        lens = self.check_inputs(inputs)
        if len(set(lens.values())) != 1:
            raise InputError(
                f'ModalityProjection.forward stacks the modalities into '
                f'(B, M, T, N) and needs one T; found T_m {lens}. Use '
                f'.tokens(inputs) for the token layout (B, sum T_m, N)')
        return torch.stack(
            [self.proj[m](inputs[m]) for m in self.in_dims], dim=1)

    def tokens(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        self.check_inputs(inputs)
        return torch.cat(
            [self.proj[m](inputs[m]) for m in self.in_dims], dim=1)
