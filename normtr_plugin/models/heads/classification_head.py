import torch.nn.functional as F

from ...registry import MODELS
from .base_head import BaseEmotionHead


@MODELS.register_module()
class ClassificationHead(BaseEmotionHead):
    """Single-label classification (RML, 6 classes), L_er = cross-entropy.

    Shapes: ``(B, L, D) -> (B, C)``; targets ``(B,)`` int in ``[0, C)``.
    """

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
