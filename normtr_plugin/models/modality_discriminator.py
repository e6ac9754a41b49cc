import torch
import torch.nn as nn

from ..registry import MODELS


def _explainer(dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU())


@MODELS.register_module()
class ModalityDiscriminator(nn.Module):
    """D1 with its explainer: which modality is a feature from (Eq. 6).

    D1 is a single ``Linear(T * D -> M)``. MF chunks go straight to D1; NRGF
    chunks (already through the gradient reversal layer) first pass the
    explainer MLP. SPEC Decision: ONE explainer shared by all modalities
    (``explainer='shared'``); ``'per_modality'`` is the paper's literal
    variant with one explainer per modality. The explainer acts token-wise
    (``Linear(D -> D) - LeakyReLU``) so its size does not grow with T.

    Shapes: ``mf (B, M, T, D), nrgf (B, M, T, D)`` ->
    ``logits_mf (B, M, M), logits_nrgf (B, M, M)``; the target of chunk m
    is m.
    """

    def __init__(self, embed_dim: int, seq_len: int, num_modalities: int,
                 explainer: str = 'shared'):
        super().__init__()
        if explainer not in ('shared', 'per_modality'):
            raise ValueError("explainer must be 'shared' or 'per_modality', "
                             f'got {explainer!r}')
        self.explainer_mode = explainer
        count = 1 if explainer == 'shared' else num_modalities
        self.explainers = nn.ModuleList(
            _explainer(embed_dim) for _ in range(count))
        self.classifier = nn.Linear(seq_len * embed_dim, num_modalities)

    def explain(self, nrgf: torch.Tensor) -> torch.Tensor:
        if len(self.explainers) == 1:
            return self.explainers[0](nrgf)
        return torch.stack([e(nrgf[:, m]) for m, e in
                            enumerate(self.explainers)], dim=1)

    def forward(self, mf: torch.Tensor, nrgf: torch.Tensor):
        logits_mf = self.classifier(mf.flatten(2))
        logits_nrgf = self.classifier(self.explain(nrgf).flatten(2))
        return logits_mf, logits_nrgf
