import torch
import torch.nn.functional as F

from ...registry import MODELS
from .base_head import BaseEmotionHead


@MODELS.register_module()
class ClassificationHead(BaseEmotionHead):
    """Single-label classification (RML, 6 classes), L_er = cross-entropy.

    Shapes: ``(B, L, D) -> (B, C)``; targets ``(B,)`` int in ``[0, C)``.
    """

    names_key = 'classes'
    task = 'classification'
    single_column = True

    @classmethod
    def strata(cls, labels):
        return labels if labels.ndim == 1 else None

    @classmethod
    def describe(cls, head_cfg, meta):
        classes = meta.get('classes') or []
        k = head_cfg.get('num_classes', len(classes) or '?')
        return f'{k}-way softmax{cls._names(classes)} (`{cls.__name__}`)'

    def __init__(self, in_dim: int, num_classes: int):
        super().__init__(in_dim, num_classes)
        self.num_classes = num_classes

    def check_target(self, target):
        self.check_class_range(target, self.num_classes, 'class')

    def loss(self, logits, target):
        return F.cross_entropy(logits, target.long())

    def predict(self, logits):
        score = logits.float().softmax(-1)
        return dict(pred_score=score, pred_label=score.argmax(-1))

    @property
    def num_outputs(self):
        return self.num_classes

    def constant_logits(self, targets):
        """Log class frequencies: the majority class wins (ties: the
        first)."""
        counts = torch.bincount(targets.long().flatten(),
                                minlength=self.num_classes)
        return self.log_frequencies(counts)
