from typing import Dict, List, Optional

import torch
import torch.nn as nn


class BaseEmotionHead(nn.Module):
    """Mean-pool the fused tokens, then one Linear (paper section 3.4.2).

    The head owns its targets and its outputs, as mmpretrain's ``ClsHead``
    does: subclasses set the output layout, the loss L_er (Eq. 8), the label
    check (``check_target``), the per-sample predictions, the constant
    prediction of a model that ignores its inputs (``constant_logits``), the
    names of its outputs (``names_key`` of ``dataset_meta``). Output
    records are built from
    ``pred_score``/``pred_label`` by ``evaluation.prediction_record``. Nothing else branches on a task string.

    Shapes: ``tokens (B, L, D) -> logits`` (layout per subclass).
    """

    #: ``dataset_meta`` key naming the outputs (None: one unnamed score).
    names_key: Optional[str] = None

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

    # ------------------------------------------------------------------
    # Targets and outputs
    # ------------------------------------------------------------------

    def constant_logits(self, targets: torch.Tensor) -> torch.Tensor:
        """Logits of ONE sample for a predictor that ignores its inputs,
        from the training ``targets`` (N,) / (N, K): the training mean or
        the majority class. Shape: one row of ``forward``'s output."""
        raise NotImplementedError

    @property
    def num_outputs(self) -> int:
        """How many named outputs the head has (classes or labels)."""
        return 1

    def output_names(self, meta: Optional[dict] = None) -> List[str]:
        """The outputs' names from ``meta[names_key]`` (default
        ``label0..``); a ValueError when their number does not fit."""
        names = (meta or {}).get(self.names_key) if self.names_key else None
        if not names:
            return [f'label{i}' for i in range(self.num_outputs)]
        names = [str(n) for n in names]
        if len(names) != self.num_outputs:
            raise ValueError(f'dataset_meta {self.names_key} names '
                             f'{len(names)} outputs {names}, the model head '
                             f'gives {self.num_outputs}')
        return names

    @staticmethod
    def log_frequencies(counts: torch.Tensor) -> torch.Tensor:
        """``log(counts / total)`` along the last dim, floored at 1e-12."""
        counts = counts.double()
        freq = counts / counts.sum(-1, keepdim=True).clamp(min=1)
        return freq.clamp(min=1e-12).log().float()
