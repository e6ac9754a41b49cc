import numpy as np
import torch.nn.functional as F

from ...registry import MODELS
from .base_head import BaseEmotionHead


@MODELS.register_module()
class RegressionHead(BaseEmotionHead):
    """Sentiment regression (MOSI/MOSEI), L_er = MSE (Eq. 8).

    Shapes: ``(B, L, D) -> (B,)``; targets ``(B,)`` float.
    """

    task = 'regression'
    label_dtype = np.float32
    categorical = False
    single_column = True
    hub_task = None

    @classmethod
    def describe(cls, head_cfg, meta):
        return 'regression, 1 output (`RegressionHead`, MSE loss)'

    def __init__(self, in_dim: int):
        super().__init__(in_dim, 1)

    def forward(self, tokens, key_padding_mask=None):
        return super().forward(tokens, key_padding_mask).squeeze(-1)

    def loss(self, logits, target):
        return F.mse_loss(logits, target.to(logits.dtype))

    def predict(self, logits):
        return dict(pred_score=logits.float())

    def constant_logits(self, targets):
        """The training mean (a 0-d tensor)."""
        return targets.double().reshape(len(targets), -1)[:, 0].mean() \
            .float()
