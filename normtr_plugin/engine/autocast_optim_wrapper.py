from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed precision without a loss scaler, for bf16 and for the CPU.

    mmengine's AmpOptimWrapper requires CUDA; ``tools/train.py --amp`` uses
    this wrapper when no GPU is present (bf16 autocast on the CPU). bf16 has
    fp32's exponent range, so no gradient scaling is needed.
    """

    def __init__(self, *args, dtype: str = 'bfloat16',
                 device_type: str = 'cpu', **kwargs):
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
