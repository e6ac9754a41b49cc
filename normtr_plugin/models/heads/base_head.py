from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ...structures.tokens import masked_mean
from ...utils.errors import InputError


class BaseEmotionHead(nn.Module):
    """Mean-pool the fused tokens, then one Linear (paper section 3.4.2).

    The head owns its targets and its outputs, as mmpretrain's ``ClsHead``
    does: subclasses set the output layout, the loss L_er (Eq. 8), the label
    check (``check_target``), the per-sample predictions, the constant
    prediction of a model that ignores its inputs (``constant_logits``), the
    names of its outputs (``names_key`` of ``dataset_meta``). Output
    records are built from ``pred_score``/``pred_label`` by
    ``evaluation.prediction_record``. Nothing else branches on a task
    string.

    The class (no instance needed) also owns its task, for the dataset,
    the held-out split and the model card, which find it through the
    ``MODELS`` registry (``registry.head_class``): the task name
    (``task``), the label dtype and range (``read_labels``), how held-out
    splits are stratified (``strata``) and the card's words
    (``describe``, ``pipeline_tag``).

    Shapes: ``tokens (B, L, D) -> logits`` (layout per subclass); an
    optional ``key_padding_mask`` (B, L), True at padded tokens, keeps them
    out of the mean-pool.
    """

    #: ``dataset_meta`` key naming the outputs (None: one unnamed score).
    names_key: Optional[str] = None
    #: the dataset ``task`` this head is trained on
    task: str = ''
    #: dtype of the targets ``read_labels`` returns
    label_dtype = np.int64
    #: labels are class indices: integers in ``0..num_classes - 1``
    categorical: bool = True
    #: one label column (targets ``(N,)``) rather than one per output
    single_column: bool = False
    #: the head config key giving one output per label column
    #: (``num_tasks``, ``num_labels``), which follows ``label_columns``
    outputs_key: Optional[str] = None
    #: Hub task suffix (``<modality>-classification``) or None: no tag
    hub_task: Optional[str] = 'classification'

    # ------------------------------------------------------------------
    # The task (class level: the dataset and the card use these)
    # ------------------------------------------------------------------

    @classmethod
    def read_labels(cls, labels: np.ndarray, columns: Sequence[str],
                    where: str, num_classes: int = 2) -> np.ndarray:
        """Finite label columns ``(N, C)`` (float64) -> the targets,
        ``(N,)`` or ``(N, C)`` of :attr:`label_dtype`; an ``InputError``
        names the column with labels outside ``0..num_classes - 1``."""
        for j, col in enumerate(columns if cls.categorical else ()):
            values = labels[:, j]
            wrong = (values < 0) | (values >= num_classes) | (values % 1 != 0)
            if wrong.any():
                raise InputError(
                    f"label column '{col}' in {where}: {int(wrong.sum())} "
                    'labels out of range; expected integers '
                    f'0..{num_classes - 1}, found e.g. {values[wrong][0]:g}')
        targets = labels[:, 0] if cls.single_column else labels
        return targets.astype(cls.label_dtype)

    @classmethod
    def strata(cls, labels: np.ndarray) -> Optional[np.ndarray]:
        """Per-sample keys a held-out split keeps the shares of
        (``(N,)``), or None for a plain random draw."""
        return None

    @classmethod
    def pipeline_tag(cls, modalities: Sequence[str]) -> Optional[str]:
        """The Hub ``pipeline_tag``: ``<modality>-classification`` for a
        classifier of ONE modality; None (no tag) for a regressor or a
        model of several modalities, as no Hub task takes them."""
        mods = list(modalities or ())
        if cls.hub_task is None or len(mods) != 1:
            return None
        return f'{mods[0]}-{cls.hub_task}'

    @classmethod
    def describe(cls, head_cfg: dict, meta: dict) -> str:
        """One line for the model card: outputs, names, loss."""
        return f'`{cls.__name__}`'

    @staticmethod
    def _names(values) -> str:
        return f": {', '.join(map(str, values))}" if values else ''

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)

    def forward(self, tokens: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``tokens`` (B, L, D); ``key_padding_mask`` (B, L) True at padded
        tokens, left out of the mean (None: every token, today's path)."""
        return self.fc(masked_mean(tokens, key_padding_mask))

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
            raise InputError(f'{what} label out of range: expected classes '
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
            raise InputError(f'dataset_meta {self.names_key} names '
                             f'{len(names)} outputs {names}, the model head '
                             f'gives {self.num_outputs}')
        return names

    @staticmethod
    def log_frequencies(counts: torch.Tensor) -> torch.Tensor:
        """``log(counts / total)`` along the last dim, floored at 1e-12."""
        counts = counts.double()
        freq = counts / counts.sum(-1, keepdim=True).clamp(min=1)
        return freq.clamp(min=1e-12).log().float()
