import torch
import torch.nn.functional as F

from ...registry import MODELS
from .base_head import BaseEmotionHead


@MODELS.register_module()
class MultiBinaryHead(BaseEmotionHead):
    """K binary classifiers (IEMOCAP's four emotions, as in MulT).

    L_er = cross-entropy over the ``(B * K, 2)`` logits.

    Shapes: ``(B, L, D) -> (B, K, 2)``; targets ``(B, K)`` in {0, 1}.
    """

    names_key = 'label_names'
    task = 'multi_binary'
    outputs_key = 'num_tasks'

    @classmethod
    def describe(cls, head_cfg, meta):
        labels = meta.get('label_names') or []
        k = head_cfg.get('num_tasks', len(labels) or '?')
        return (f'{k} binary classifiers{cls._names(labels)} '
                f'(`{cls.__name__}`)')

    def __init__(self, in_dim: int, num_tasks: int = 4):
        super().__init__(in_dim, num_tasks * 2)
        self.num_tasks = num_tasks

    def forward(self, tokens, key_padding_mask=None):
        return super().forward(tokens, key_padding_mask).view(
            -1, self.num_tasks, 2)

    def check_target(self, target):
        self.check_class_range(target, 2, 'binary')

    def loss(self, logits, target):
        return F.cross_entropy(logits.reshape(-1, 2),
                               target.reshape(-1).long())

    def predict(self, logits):
        score = logits.float().softmax(-1)
        return dict(pred_score=score, pred_label=score.argmax(-1))

    @property
    def num_outputs(self):
        return self.num_tasks

    def constant_logits(self, targets):
        """(K, 2) log frequencies of absent/present per task: each task's
        majority wins."""
        t = targets.long().reshape(len(targets), self.num_tasks)
        present = t.sum(0)
        return self.log_frequencies(torch.stack(
            [len(t) - present, present], dim=-1))
