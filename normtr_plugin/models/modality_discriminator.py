from typing import Optional

import torch
import torch.nn as nn

from ..registry import MODELS
from ..structures.tokens import (SeqLen, as_seq_lens, check_pool,
                                 modality_vectors)
from ..utils.errors import InputError

EXPLAINERS = ('shared', 'per_modality', 'none')


def _explainer(dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU())


@MODELS.register_module()
class ModalityDiscriminator(nn.Module):
    """D1 with its explainer: which modality is a feature from (Eq. 6).

    D1 is a single Linear over one vector per modality. MF features go
    straight to D1; NRGF features (already through the gradient reversal
    layer) first pass the explainer MLP. SPEC Decision: ONE explainer shared
    by all modalities (``explainer='shared'``); ``'per_modality'`` is the
    paper's literal variant with one explainer per modality; ``'none'``
    feeds the NRGF to D1 as it is, as MF is (plain DANN). The explainer
    acts token-wise (``Linear(D -> D) - LeakyReLU``) so its size does not
    grow with T.

    Which side of the gradient reversal layer the explainer sits on is the
    model's ``grl_position`` (:class:`~normtr_plugin.models.NormTR`): it
    calls :meth:`explain` and :meth:`classify` separately when the GRL sits
    between them.

    What D1 sees (``pool``):

    - ``'chunk'`` (default, the paper): modality m's T x D chunk, flattened;
      ``Linear(T * D -> M)``. Needs one T for every modality.
    - ``'mean'``: the mean over modality m's valid tokens (``lengths``);
      ``Linear(D -> M)``. Works with a different T_m per modality and
      with padding.

    Args:
        embed_dim: D = N/2.
        seq_len: T (int), or the per-modality T_m (a sequence or a
            ``{modality: T_m}`` dict, modality-major order).
        num_modalities: M.

    Shapes: ``mf, nrgf`` stacked (B, M, T, D) or tokens (B, sum T_m, D),
    ``lengths`` (B, M) or None -> ``logits_mf (B, M, M), logits_nrgf
    (B, M, M)``; the target of modality m is m.
    """

    def __init__(self, embed_dim: int, seq_len: SeqLen, num_modalities: int,
                 explainer: str = 'shared', pool: str = 'chunk'):
        super().__init__()
        if explainer not in EXPLAINERS:
            raise InputError(f'explainer must be one of {EXPLAINERS}, got '
                             f'{explainer!r}')
        name = type(self).__name__
        self.seq_lens = as_seq_lens(seq_len, num_modalities, name)
        width = check_pool(name, pool, seq_len, self.seq_lens, embed_dim)
        self.explainer_mode, self.pool = explainer, pool
        count = dict(shared=1, per_modality=num_modalities, none=0)[explainer]
        self.explainers = nn.ModuleList(
            _explainer(embed_dim) for _ in range(count))
        self.classifier = nn.Linear(width, num_modalities)

    def explain(self, nrgf: torch.Tensor) -> torch.Tensor:
        """The explainer(s), token-wise: same shape as ``nrgf``."""
        if not len(self.explainers):
            return nrgf
        if len(self.explainers) == 1:
            return self.explainers[0](nrgf)
        if nrgf.dim() == 4:
            return torch.stack([e(nrgf[:, m]) for m, e in
                                enumerate(self.explainers)], dim=1)
        return torch.cat([e(seg) for e, seg in zip(
            self.explainers, nrgf.split(list(self.seq_lens), dim=1))], dim=1)

    def classify(self, x: torch.Tensor,
                 lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D1 proper: pool each modality (``pool``), then the Linear.
        ``x`` stacked (B, M, T, D) or tokens (B, L, D) -> (B, M, M)."""
        return self.classifier(modality_vectors(
            type(self).__name__, x, self.seq_lens, self.pool, lengths))

    def forward(self, mf: torch.Tensor, nrgf: torch.Tensor,
                lengths: Optional[torch.Tensor] = None):
        return (self.classify(mf, lengths),
                self.classify(self.explain(nrgf), lengths))

    def extra_repr(self) -> str:
        return f'explainer={self.explainer_mode!r}, pool={self.pool!r}'
