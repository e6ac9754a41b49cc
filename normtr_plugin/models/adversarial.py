"""The adversarial half of the noise-aware scheme (paper section 3.5.2):
the losses of D1 (Eq. 6) and D2 (Eq. 7) and the gradient each extractor
receives from them, as weighted in Eq. 9.

Write L1 for D1's cross-entropy over the MF and NRGF chunks (Eq. 6,
unweighted), L2 for D2's (Eq. 7), alpha and beta for their loss weights and
lambda for ``grl_lambda``. The training loss always holds ``alpha L1 +
beta L2`` (logged as ``loss_adv1``, ``loss_adv2``), so the discriminators
learn from ``alpha dL1/dtheta_D`` (or, under Adam, at their own learning
rate: set it with mmengine's ``paramwise_cfg``). What reaches the
extractors depends on ``reversal``:

======================  =======================  ======================
``reversal``            into F_NR (via the GRL)   into F_M (D1 on MF)
======================  =======================  ======================
``'coupled'`` (paper)   ``-lambda alpha dL1/dF``  ``+alpha dL1/dF``
``'decoupled'``         ``-lambda dL1/dF``        ``+alpha dL1/dF``
``'probe'``             nothing (detached)        nothing (detached)
``'confusion'``         ``lambda dC1/dF``         ``+alpha dL1/dF``
======================  =======================  ======================

(D2 likewise with beta and L2; F_M gets nothing from D2.) ``'coupled'``
is Eq. 9 read literally: alpha scales the discriminator's loss and the
reversed signal together. ``'decoupled'`` makes lambda the reversal
strength on its own: the GRL multiplies by ``-lambda / alpha``, which the
loss weight alpha brings back to ``-lambda``. ``'probe'`` trains the
discriminators as observers: they measure how well modality and noise can
be told from the features, and change nothing else in the model.
``'confusion'`` (Tzeng et al., ICCV 2015) replaces the reversed gradient:
the discriminator learns L1 on detached NRGFs, and the extractor minimises
``C1``, the cross-entropy between the discriminator's prediction (its
parameters frozen for this term) and the uniform distribution over the M
modalities (2 for D2), added to the loss as ``loss_conf1 = lambda C1``
(``loss_conf2``). Maximising L1 can make D1 confidently wrong (modalities
swapped) instead of unsure; C1 is smallest exactly when D1 is unsure.

``grl_position`` says where the GRL sits on D1's NRGF branch:
``'before_explainer'`` (SPEC 3.2: the explainer helps D1) or
``'after_explainer'`` (the explainer belongs to the extractor's side and
is trained, with F_NR, to confuse D1).
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch.func import functional_call

from .gradient_reversal import grad_reverse
from ..utils.errors import InputError

REVERSALS = ('coupled', 'decoupled', 'probe', 'confusion')
GRL_POSITIONS = ('before_explainer', 'after_explainer')


def check_adversary(reversal: str, grl_position: str,
                    modality_discriminator: Optional[torch.nn.Module]
                    ) -> None:
    """Validate ``reversal`` and ``grl_position`` for this D1."""
    if reversal not in REVERSALS:
        raise InputError(f'reversal must be one of {REVERSALS}, got '
                         f'{reversal!r}')
    if grl_position not in GRL_POSITIONS:
        raise InputError(f'grl_position must be one of {GRL_POSITIONS}, '
                         f'got {grl_position!r}')
    if grl_position == 'after_explainer' and \
            modality_discriminator is not None and not all(
                hasattr(modality_discriminator, n)
                for n in ('explain', 'classify')):
        raise InputError(
            "grl_position='after_explainer' puts the GRL between D1's "
            'explainer and its classifier, so the modality discriminator '
            'needs explain(nrgf) and classify(x, lengths) methods; '
            f'{type(modality_discriminator).__name__} lacks them')
    if reversal == 'confusion' and grl_position != 'before_explainer':
        raise InputError("reversal='confusion' has no GRL; the explainer "
                         "stays on D1's side (grl_position="
                         "'before_explainer')")


def adversary_input(x: torch.Tensor, weight: float, lambda_: float,
                    reversal: str) -> torch.Tensor:
    """``x`` as a discriminator's input, with the gradient the extractor
    gets back (module docstring). Identity forward; any shape."""
    if reversal in ('probe', 'confusion'):
        return x.detach()
    if reversal == 'decoupled':
        return grad_reverse(x, lambda_ / weight)
    return grad_reverse(x, lambda_)


def modality_adversary(d1, mf: torch.Tensor, nrgf: torch.Tensor,
                       weight: float, lambda_: float, reversal: str,
                       grl_position: str, given: Callable[..., dict]
                       ) -> Dict[str, torch.Tensor]:
    """``alpha L1`` (Eq. 6) over MF chunks (plain) and NRGF chunks
    (reversed), with D1's accuracies on each.

    Args:
        d1: the modality discriminator (``ModalityDiscriminator``).
        mf, nrgf: stacked (B, M, T, D) or tokens (B, L, D).
        weight: alpha; lambda_: ``grl_lambda``.
        given: ``given(module, lengths=...)`` -> the keyword arguments the
            module's forward takes.
    """
    kwargs = given(d1)
    if reversal == 'probe':
        mf = mf.detach()
    if grl_position == 'before_explainer':
        logits_mf, logits_nr = d1(
            mf, adversary_input(nrgf, weight, lambda_, reversal), **kwargs)
    else:
        lengths = kwargs.get('lengths')
        logits_mf = d1.classify(mf, lengths)
        logits_nr = d1.classify(adversary_input(
            d1.explain(nrgf), weight, lambda_, reversal), lengths)
    B, M = logits_mf.shape[:2]
    labels = torch.arange(M, device=mf.device).repeat(B)
    logits_mf, logits_nr = logits_mf.flatten(0, 1), logits_nr.flatten(0, 1)
    loss = F.cross_entropy(torch.cat([logits_mf, logits_nr]),
                           torch.cat([labels, labels]))
    out = dict(loss_adv1=weight * loss,
               acc_d1_mf=accuracy(logits_mf, labels),
               acc_d1_nrgf=accuracy(logits_nr, labels))
    if reversal == 'confusion':
        _, logits = functional_call(d1, frozen(d1), (mf.detach(), nrgf),
                                    kwargs)
        out['loss_conf1'] = lambda_ * to_uniform(logits)
    return out


def noise_adversary(d2, nrgf: torch.Tensor, noisy: torch.Tensor,
                    weight: float, lambda_: float, reversal: str,
                    given: Callable[..., dict]) -> Dict[str, torch.Tensor]:
    """``beta L2`` (Eq. 7): D2 on each modality's reversed NRGF, target
    ``noisy (B, M)``; with D2's accuracy."""
    kwargs = given(d2)
    logits = d2(adversary_input(nrgf, weight, lambda_, reversal),
                **kwargs).flatten(0, 1)
    labels = noisy.flatten().long()
    out = dict(loss_adv2=weight * F.cross_entropy(logits, labels),
               acc_d2=accuracy(logits, labels))
    if reversal == 'confusion':
        out['loss_conf2'] = lambda_ * to_uniform(
            functional_call(d2, frozen(d2), (nrgf,), kwargs))
    return out


def frozen(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """The module's parameters and buffers, detached, for
    ``functional_call``: the extractor's confusion term trains no
    discriminator weight."""
    state = dict(module.named_parameters())
    state.update(module.named_buffers())
    return {k: v.detach() for k, v in state.items()}


def to_uniform(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between softmax(logits) and the uniform distribution
    over the last dim, averaged over the rest (Tzeng et al. 2015)."""
    return -F.log_softmax(logits, dim=-1).mean(-1).mean()


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of argmax hits, detached; no host synchronisation."""
    return (logits.argmax(-1) == labels).float().mean().detach()
