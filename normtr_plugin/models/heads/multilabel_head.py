import numpy as np
import torch.nn.functional as F

from ...registry import MODELS
from .base_head import BaseEmotionHead


@MODELS.register_module()
class MultiLabelHead(BaseEmotionHead):
    """Multi-label emotions (MOSEI's six), L_er = BCE with logits.

    Shapes: ``(B, L, D) -> (B, K)``; targets ``(B, K)`` in {0, 1}.
    """

    names_key = 'label_names'
    task = 'multi_label'
    outputs_key = 'num_labels'
    label_dtype = np.float32

    @classmethod
    def describe(cls, head_cfg, meta):
        names = cls._names(meta.get('label_names'))
        return f'multi-label sigmoid{names} (`{cls.__name__}`)'

    def __init__(self, in_dim: int, num_labels: int = 6,
                 threshold: float = 0.5):
        super().__init__(in_dim, num_labels)
        self.num_labels = num_labels
        self.threshold = threshold

    def check_target(self, target):
        self.check_class_range(target, 2, 'multi-label')

    def loss(self, logits, target):
        return F.binary_cross_entropy_with_logits(
            logits, target.to(logits.dtype))

    def predict(self, logits):
        score = logits.float().sigmoid()
        return dict(pred_score=score,
                    pred_label=(score > self.threshold).long())

    @property
    def num_outputs(self):
        return self.num_labels

    def constant_logits(self, targets):
        """(K,) logits of the training frequency of each label (sigmoid
        gives it back): a label is predicted present when it mostly is."""
        p = targets.double().reshape(len(targets), -1).mean(0)
        p = p.clamp(1e-12, 1 - 1e-12)
        return (p.log() - (1 - p).log()).float()
