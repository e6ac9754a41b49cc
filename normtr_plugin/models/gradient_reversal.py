import torch
import torch.nn as nn

from ..registry import MODELS


class _GradReverse(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, lambda_):
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.lambda_ * grad, None


def grad_reverse(x: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    """Identity forward, gradient times ``-lambda_`` backward."""
    return _GradReverse.apply(x, lambda_)


@MODELS.register_module()
class GradientReversal(nn.Module):
    """Gradient reversal layer (Ganin & Lempitsky 2015), paper section 3.5.2.

    Shapes: any tensor, returned unchanged; backward multiplies the incoming
    gradient by ``-lambda_``.
    """

    def __init__(self, lambda_: float = 1.0):
        super().__init__()
        self.lambda_ = float(lambda_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lambda_)

    def extra_repr(self) -> str:
        return f'lambda_={self.lambda_}'
