from typing import Dict

import torch
import torch.nn as nn


class BaseEmotionHead(nn.Module):
    """Mean-pool the fused tokens, then one Linear (paper section 3.4.2).

    Subclasses set the output layout, the loss L_er (Eq. 8), the label
    check (``check_target``) and the per-sample predictions.

    Shapes: ``tokens (B, L, D) -> logits`` (layout per subclass).
    """

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(tokens.mean(dim=1))

    def loss(self, logits: torch.Tensor, target: torch.Tensor
             ) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, logits: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Batched predictions; index 0 of every tensor is the sample."""
        raise NotImplementedError

    def check_target(self, target: torch.Tensor) -> None:
        """Raise a ValueError if ``target`` is outside the head's label range.

        Reads the labels on the host, so it is NOT called by ``loss`` (the
        train step stays free of host synchronisation; the dataset validates
        its labels). ``NormTR.predict`` calls it on the evaluation labels.
        """

    @staticmethod
    def check_class_range(target: torch.Tensor, num_classes: int,
                          what: str) -> None:
        low, high = int(target.min()), int(target.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f'{what} label out of range: expected classes '
                             f'0..{num_classes - 1}, found {low}..{high}')
