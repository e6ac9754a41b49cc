import inspect
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from ..registry import MODELS
from .adversarial import check_adversary, modality_adversary, noise_adversary
from .builder import accepts, build_component
from ..structures.data_samples import (batch_data_samples,
                                       split_data_samples)
from ..structures.tokens import token_padding_mask
from .fusion_decoder import FusionDecoder
from .init_config import InitConfigMixin
from .invariance import model_statistics
from ..utils.errors import InputError

Inputs = Dict[str, torch.Tensor]
DataSamples = Union[BaseDataElement, Sequence[BaseDataElement]]


@MODELS.register_module()
class NormTR(InitConfigMixin, BaseModel):
    """NORM-TR, the Noise-Resistant Multimodal Transformer (paper Eq. 1-9).

    ``y = Trans(F_NR(U'), F_M(U'))`` with ``U' = g(V(U, sigma))``; trained
    with ``L = alpha L_adv1 + beta L_adv2 + gamma L_er`` (Eq. 9).

    Args:
        modalities: modality name -> raw feature dim N_m, in token order.
        seq_len: the unified sequence length T (int), or a different T_m
            per modality (``{modality: T_m}``, unaligned data; then both
            discriminators need ``pool='mean'``).
        embed_dim: N (the extractors output N/2).
        head, projection, nrgf, mf, fusion, modality_discriminator,
        noise_discriminator, noise: component configs (MODELS registry).
            Sizes are filled in here. ``None`` disables a discriminator or
            the noise injection.
        grl_lambda: gradient reversal factor lambda (a hook may schedule
            it: :class:`~normtr_plugin.engine.GRLLambdaHook`).
        loss_weights: ``dict(adv1=alpha, adv2=beta, er=gamma)``.
        reversal: what the extractors receive from the discriminators'
            losses: ``'coupled'`` (Eq. 9 as written: F_NR gets ``-lambda
            alpha dL_adv/dF``), ``'decoupled'`` (F_NR gets ``-lambda
            dL_adv/dF``; alpha weights the discriminators' own loss only),
            ``'probe'`` (the discriminators see detached features and only
            measure) or ``'confusion'`` (the extractor minimises lambda
            times the cross-entropy of the discriminators' prediction to the
            uniform distribution). See
            :mod:`~normtr_plugin.models.adversarial`.
        grl_position: ``'before_explainer'`` (SPEC 3.2) or
            ``'after_explainer'``: which side of the GRL D1's explainer is.
        eval_invariance: settings of the invariance statistics (the
            NRGFs' cosines, D1's and D2's hits;
            :mod:`~normtr_plugin.models.invariance`): ``dict(noise_seed=S)``
            seeds D2's erased copy; None: the model never computes them.
            They are computed only while ``compute_invariance`` is True
            (off after building, not part of ``self.config``): the
            ``InvarianceRequestHook`` turns it on for val/test runs whose
            evaluator lists an ``InvarianceMetric``.
        mask_padding: lengths all the way into the model (issue 19). True:
            when a batch has padding (a ``lengths`` entry below its T_m),
            the fusion's attention gets a ``key_padding_mask`` (no token
            attends to padding), fusions that pool over time and the head's
            mean-pool count valid tokens only, so a padded sample gives the
            outputs of the same sample unpadded. Batches without padding
            (or without lengths) take today's path, bit for bit. False (the
            default, chosen by measurement: docs/datasets.md, "Padding in
            the model"): padded steps, zero in normalised space, are read
            as data, as before issue 19.

    ``self.config`` holds these arguments as plain JSON types (with
    ``type='NormTR'``), captured from the signature (see
    :class:`~normtr_plugin.models.init_config.InitConfigMixin`), enough to
    rebuild the model from the registry.

    Inputs: ``{m: (B, T_m, N_m)}``. Tokens are modality-major,
    ``[a_1..a_Ta, v_1..v_Tv, t_1..t_Tt]``, L = sum_m T_m. Data samples:
    one batched ``BaseDataElement`` with ``gt_label`` (B,) or (B, K),
    optional ``lengths`` (B, M) (valid steps per modality, in this model's
    modality order) and metainfo ``ids`` (see
    :mod:`~normtr_plugin.structures.data_samples`); a list of per-sample
    elements is accepted too. Outputs per ``mode``: 'loss' a dict of
    ``loss_er``, ``loss_adv1``, ``loss_adv2`` (already weighted; also
    ``loss_conf1``/``loss_conf2`` under ``reversal='confusion'``) and the
    discriminator accuracies; 'predict' a list of B per-sample data samples
    with predictions; 'tensor' the head's logits.
    """

    def __init__(self,
                 modalities: Dict[str, int],
                 seq_len: Union[int, Dict[str, int]],
                 embed_dim: int = 256,
                 head: dict = dict(type='RegressionHead'),
                 projection: dict = dict(type='ModalityProjection'),
                 nrgf: dict = dict(type='NRGFExtractor'),
                 mf: dict = dict(type='MFExtractor'),
                 fusion: dict = dict(type='FusionDecoder'),
                 modality_discriminator: Optional[dict] = dict(
                     type='ModalityDiscriminator'),
                 noise_discriminator: Optional[dict] = dict(
                     type='NoiseDiscriminator'),
                 noise: Optional[dict] = dict(type='ErasureNoise'),
                 grl_lambda: float = 1.0,
                 loss_weights: dict = dict(adv1=0.01, adv2=0.01, er=1.0),
                 reversal: str = 'coupled',
                 grl_position: str = 'before_explainer',
                 eval_invariance: Optional[dict] = dict(noise_seed=0),
                 query: str = 'nrgf',
                 memory: str = 'mf',
                 mask_padding: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.modalities = dict(modalities)
        self.seq_lens = _seq_lens(seq_len, self.modalities)
        lens = tuple(self.seq_lens.values())
        self.aligned = len(set(lens)) == 1
        self.seq_len = lens[0] if self.aligned else dict(self.seq_lens)
        if embed_dim < 2 or embed_dim % 2:
            raise InputError(f'embed_dim N must be even, got {embed_dim}')
        unknown = set(loss_weights) - {'adv1', 'adv2', 'er'}
        if unknown:
            raise InputError(f'loss_weights takes adv1, adv2, er; got '
                             f'unknown {sorted(unknown)}')
        self.loss_weights = dict(dict(adv1=0.0, adv2=0.0, er=1.0),
                                 **loss_weights)
        self.grl_lambda = grl_lambda
        M, half = len(self.modalities), embed_dim // 2
        self.projection = build_component(
            projection, in_dims=self.modalities, embed_dim=embed_dim)
        self.nrgf = build_component(nrgf, embed_dim=embed_dim)
        self.mf = build_component(mf, embed_dim=embed_dim, num_modalities=M)
        self.query, self.memory = query, memory
        self.mask_padding = bool(mask_padding)
        width = self._check_sources(embed_dim, modality_discriminator,
                                    noise_discriminator)
        sizes = dict(num_tokens=sum(lens), num_modalities=M)
        if not self.aligned and fusion is not None and \
                accepts(fusion, 'seq_lens'):
            sizes['seq_lens'] = lens  # fusions that pool per modality
        self.fusion = build_component(fusion, embed_dim=width, **sizes)
        self.head = build_component(
            head, in_dim=getattr(self.fusion, 'out_dim', width))
        self._check_pools(modality_discriminator, noise_discriminator)
        self.modality_discriminator = build_component(
            modality_discriminator, embed_dim=half, seq_len=self.seq_len,
            num_modalities=M)
        self.noise_discriminator = build_component(
            noise_discriminator, embed_dim=half, seq_len=self.seq_len)
        self.noise = build_component(noise)
        check_adversary(reversal, grl_position, self.modality_discriminator)
        self.reversal, self.grl_position = reversal, grl_position
        unknown = set(eval_invariance or {}) - {'noise_seed'}
        if unknown:
            raise InputError(f'eval_invariance takes noise_seed; got '
                             f'unknown {sorted(unknown)}')
        self.eval_invariance = None if eval_invariance is None else dict(
            dict(noise_seed=0), **eval_invariance)
        #: set by InvarianceRequestHook; never saved in the config
        self.compute_invariance = False

    def _check_pools(self, *configs) -> None:
        """Unequal T_m: the discriminators must pool by mean (SPEC 3.2)."""
        if self.aligned:
            return
        for name, cfg in zip(('modality_discriminator',
                              'noise_discriminator'), configs):
            if cfg is not None and accepts(cfg, 'pool') and \
                    cfg.get('pool', 'chunk') == 'chunk':
                raise InputError(
                    f'{name}: the modalities have different lengths '
                    f'{self.seq_lens}, and pool=\'chunk\' (the default) '
                    f'flattens a T x D chunk that needs one T. Use '
                    f"{name}=dict(type='{cfg.get('type')}', pool='mean') "
                    '(mean over each modality\'s valid tokens)')

    def _check_sources(self, embed_dim, modality_discriminator,
                       noise_discriminator) -> int:
        """Validate the fusion's query/memory sources; return their width.

        Ablations (SPEC section 6) swap them: ``query='mf'`` (w/o NRGF),
        ``memory='nrgf'`` (w/o MF), ``'projected'`` for the standard
        Transformer baseline on g's outputs.
        """
        built = dict(nrgf=self.nrgf, mf=self.mf, projected=True)
        for role, source in (('query', self.query), ('memory', self.memory)):
            if source not in built:
                raise InputError(f'{role} must be one of {sorted(built)}, '
                                 f'got {source!r}')
            if built[source] is None:
                raise InputError(f"{role}='{source}' needs the {source} "
                                 'extractor, which is disabled (None)')
        if (self.query == 'projected') != (self.memory == 'projected'):
            raise InputError('query and memory must both be projected '
                             'features or both extractor features')
        for name, cfg in (('modality_discriminator', modality_discriminator),
                          ('noise_discriminator', noise_discriminator)):
            needs = ('nrgf', 'mf') if name.startswith('modality') else \
                ('nrgf',)
            if cfg is not None and any(built[n] is None for n in needs):
                raise InputError(f'{name} needs the {" and ".join(needs)} '
                                 'extractor(s); set it to None')
        return embed_dim if self.query == 'projected' else embed_dim // 2

    def check_inputs(self, inputs: Inputs) -> Inputs:
        """The configured modalities, in order, after checking that each has
        its configured feature dim N_m and length T_m."""
        found = self.projection.check_inputs(inputs)
        for m, T in self.seq_lens.items():
            if found[m] != T:
                raise InputError(
                    f"modality '{m}': the model is configured for seq_len "
                    f'{T}, found {found[m]} steps (features '
                    f'{tuple(inputs[m].shape)})')
        return {m: inputs[m] for m in self.modalities}

    def extract_features(self, inputs: Inputs,
                         return_attention: bool = False,
                         key_padding_mask: Optional[torch.Tensor] = None
                         ) -> dict:
        """Run g, F_NR, F_M and the fusion.

        ``key_padding_mask`` (B, L) bool, True at padded tokens
        (:meth:`padding_mask`), goes to the fusion when its ``forward``
        takes it and is returned as ``padding_mask`` for the head; None:
        every token is data.

        Returns ``projected`` (N wide), ``nrgf``/``mf`` (N/2 wide) for the
        enabled extractors, ``fused`` (the fusion's output tokens,
        (B, L, N/2) for the decoder) and, on request, ``attention``: per
        layer (B, heads, L, L) cross-attention weights. With one T for all
        modalities the per-modality features are stacked (B, M, T, width);
        with unequal T_m they are tokens (B, L, width), L = sum_m T_m in
        modality-major order (split them with ``self.seq_lens``).
        """
        if return_attention and not isinstance(self.fusion, FusionDecoder):
            raise InputError(f'{type(self.fusion).__name__} has no '
                             'cross-attention to return; only FusionDecoder '
                             'does')
        inputs = self.check_inputs(inputs)
        lens = tuple(self.seq_lens.values())
        tokens = dict(projected=self.projection.tokens(inputs))
        if self.nrgf is not None:
            tokens['nrgf'] = self.nrgf(tokens['projected'])
        if self.mf is not None:
            tokens['mf'] = self.mf(tokens['projected'], lens)
        query, memory = tokens[self.query], tokens[self.memory]
        feats = {k: v.unflatten(1, (len(lens), lens[0])) if self.aligned
                 else v for k, v in tokens.items()}
        given = self._given(self.fusion, key_padding_mask=key_padding_mask)
        if return_attention:
            feats['fused'], feats['attention'] = self.fusion(
                query, memory, return_attention=True, **given)
        else:
            feats['fused'] = self.fusion(query, memory, **given)
        feats['padding_mask'] = key_padding_mask
        return feats

    def padding_mask(self, lengths: Optional[torch.Tensor],
                     skip_unpadded: bool = False
                     ) -> Optional[torch.Tensor]:
        """``key_padding_mask`` (B, L) bool for ``lengths`` (B, M), True at
        padded tokens; None when ``mask_padding`` is off or ``lengths`` is
        None.

        In training (``skip_unpadded=False``) there is no host
        synchronisation: samples without padding get today's outputs bit
        for bit on CPU all the same (an all-False mask changes no attention
        weight, the pooling selects the plain mean for them). Inference
        (``skip_unpadded=True``: ``predict`` and ``mode='tensor'``, where
        PyTorch's fused attention path rounds differently once a mask is
        given) reads the lengths on the host and returns None for a batch
        without padding, so equal-length data takes today's path exactly.
        """
        if not self.mask_padding or lengths is None:
            return None
        full = list(self.seq_lens.values())
        if skip_unpadded and bool((lengths >= lengths.new_tensor(full))
                                  .all()):
            return None
        return token_padding_mask(lengths, full)

    def head_logits(self, feats: dict) -> torch.Tensor:
        """The head on the fused tokens, their padding left out of its
        pooling when the fusion kept one token per input token."""
        fused, mask = feats['fused'], feats.get('padding_mask')
        if mask is not None and mask.shape[1] != fused.shape[1]:
            mask = None  # the fusion pooled already (TFN, LMF)
        return self.head(fused, **self._given(self.head,
                                              key_padding_mask=mask))

    def forward(self, inputs: Inputs,
                data_samples: Optional[DataSamples] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            mask = None
            if data_samples is not None:
                first = next(iter(inputs.values()))
                mask = self._padding(self._batched(data_samples),
                                     first.shape[0], first.device,
                                     skip_unpadded=True)[1]
            return self.head_logits(self.extract_features(
                inputs, key_padding_mask=mask))
        raise InputError(f"mode must be 'loss', 'predict' or 'tensor', "
                         f'got {mode!r}')

    def _batched(self, data_samples: DataSamples) -> BaseDataElement:
        if isinstance(data_samples, BaseDataElement):
            return data_samples
        return batch_data_samples(data_samples, list(self.modalities))

    def _lengths(self, data_samples: BaseDataElement, batch_size: int,
                 device) -> Optional[torch.Tensor]:
        """``lengths`` (B, M) on ``device``, or None; shape-checked only."""
        lengths = data_samples.get('lengths')
        if lengths is None:
            return None
        shape = (batch_size, len(self.modalities))
        if tuple(lengths.shape) != shape:
            raise InputError(
                f'data sample lengths must be (B, M) = {shape}, one column '
                f'per modality {list(self.modalities)}, found '
                f'{tuple(lengths.shape)}')
        return lengths.to(device)

    def _padding(self, data_samples: BaseDataElement, batch_size: int,
                 device, skip_unpadded: bool = False) -> tuple:
        """(``lengths`` (B, M) on ``device`` or None, their
        ``key_padding_mask`` (B, L) or None: :meth:`padding_mask`)."""
        lengths = self._lengths(data_samples, batch_size, device)
        return lengths, self.padding_mask(lengths, skip_unpadded)

    def loss(self, inputs: Inputs, data_samples: DataSamples
             ) -> Dict[str, torch.Tensor]:
        """Eq. 9 on one batch; no host synchronisation.

        ``data_samples``: batched (``gt_label`` (B,) / (B, K), optional
        ``lengths`` (B, M)) or a list of per-sample elements.
        """
        inputs = self.check_inputs(inputs)
        samples = self._batched(data_samples)
        first = next(iter(inputs.values()))
        lengths, mask = self._padding(samples, first.shape[0],
                                      first.device)
        noisy = None
        if self.noise is not None:
            inputs, noisy = self.noise(inputs, **self._given(
                self.noise, lengths=lengths))
        feats = self.extract_features(inputs, key_padding_mask=mask)
        target = samples.gt_label.to(feats['fused'].device)
        w = self.loss_weights
        losses = dict(loss_er=w['er'] * self.head.loss(
            self.head_logits(feats), target))

        def given(module):
            return self._given(module, lengths=lengths)

        if self.modality_discriminator is not None and w['adv1'] > 0:
            losses.update(modality_adversary(
                self.modality_discriminator, feats['mf'], feats['nrgf'],
                w['adv1'], self.grl_lambda, self.reversal,
                self.grl_position, given))
        if self.noise_discriminator is not None and noisy is not None \
                and w['adv2'] > 0:
            losses.update(noise_adversary(
                self.noise_discriminator, feats['nrgf'], noisy, w['adv2'],
                self.grl_lambda, self.reversal, given))
        return losses

    @staticmethod
    def _given(module, **kwargs) -> dict:
        """The keyword arguments ``module.forward`` takes, None dropped (a
        user's component written before ``lengths`` existed still works).
        """
        params = _forward_params(type(module).forward)
        return {k: v for k, v in kwargs.items()
                if v is not None and k in params}

    @torch.no_grad()
    def predict(self, inputs: Inputs,
                data_samples: Optional[DataSamples] = None
                ) -> List[BaseDataElement]:
        """B per-sample data samples with the head's predictions (and
        ``gt_label`` / metainfo ``id`` when ``data_samples`` has them).

        A given list is filled in place and returned. The labels are checked
        against the head's range here (``head.check_target``), outside the
        train step. Only while ``compute_invariance`` is on (an evaluator
        asked, see ``InvarianceRequestHook``) and ``eval_invariance`` is
        set, each sample also gets the field ``invariance``
        (:meth:`invariance_statistics`: D1, D2 and a second, noisy forward
        pass); otherwise one forward pass.
        """
        first = next(iter(self.check_inputs(inputs).values()))
        lengths = mask = None
        if data_samples is not None:
            lengths, mask = self._padding(self._batched(data_samples),
                                          first.shape[0], first.device,
                                          skip_unpadded=True)
        feats = self.extract_features(inputs, key_padding_mask=mask)
        preds = self.head.predict(self.head_logits(feats))
        batch = next(iter(preds.values())).shape[0]
        if data_samples is None:
            samples = [BaseDataElement() for _ in range(batch)]
        else:
            samples = data_samples
            if isinstance(data_samples, BaseDataElement):
                samples = split_data_samples(data_samples)
            if len(samples) != batch:
                raise InputError(f'{len(samples)} data samples for a batch '
                                 f'of {batch} inputs')
            if all('gt_label' in s for s in samples) and samples:
                self.head.check_target(self._batched(samples).gt_label)
        stats = {}
        if self.compute_invariance and self.eval_invariance is not None:
            ids = [s.metainfo.get('id') for s in samples]
            stats = self.invariance_statistics(
                inputs, feats, lengths,
                ids=None if None in ids else ids)
        for i, sample in enumerate(samples):
            sample.set_data({k: v[i] for k, v in preds.items()})
            if stats:
                sample.set_field({k: v[i] for k, v in stats.items()},
                                 'invariance')
        return samples

    def invariance_statistics(self, inputs: Inputs, feats: dict,
                              lengths: Optional[torch.Tensor] = None,
                              ids: Optional[Sequence[str]] = None
                              ) -> Dict[str, torch.Tensor]:
        """Per-sample invariance statistics, B first (issue 12): see
        :func:`~normtr_plugin.models.invariance.model_statistics`."""
        return model_statistics(self, inputs, feats, lengths, ids)

    @torch.no_grad()
    def cross_attention(self, inputs: Inputs,
                        lengths: Optional[torch.Tensor] = None
                        ) -> List[torch.Tensor]:
        """Cross-attention weights of every decoder layer (paper Fig. 10).

        Returns a list (one per layer) of ``(B, heads, L, L)`` tensors,
        L = sum_m T_m: row i is how NRGF token i attends to the MF tokens.
        With ``lengths`` (B, M) and ``mask_padding``, padded MF tokens get
        weight 0.
        """
        return self.extract_features(
            inputs, return_attention=True,
            key_padding_mask=self.padding_mask(
                lengths, skip_unpadded=True))['attention']


_FORWARD_PARAMS: Dict[object, frozenset] = {}


def _forward_params(forward) -> frozenset:
    """Parameter names of a ``forward`` function, looked up once."""
    if forward not in _FORWARD_PARAMS:
        _FORWARD_PARAMS[forward] = frozenset(
            inspect.signature(forward).parameters)
    return _FORWARD_PARAMS[forward]


def _seq_lens(seq_len: Union[int, Dict[str, int]],
              modalities: Dict[str, int]) -> Dict[str, int]:
    """``{m: T_m}`` in modality order from an int T or a per-modality dict.
    """
    if isinstance(seq_len, int):
        if seq_len < 1:
            raise InputError(f'seq_len T must be >= 1, got {seq_len}')
        return {m: seq_len for m in modalities}
    if not hasattr(seq_len, 'keys'):
        raise TypeError(f'seq_len must be an int T or a dict modality -> '
                        f'T_m, got {type(seq_len).__name__}')
    missing = [m for m in modalities if m not in seq_len]
    extra = [m for m in seq_len if m not in modalities]
    if missing or extra:
        raise InputError(f'seq_len must name every modality '
                         f'{list(modalities)}: missing {missing}, unknown '
                         f'{extra}')
    for m in modalities:
        if int(seq_len[m]) < 1:
            raise InputError(f"seq_len T_m of modality '{m}' must be >= 1, "
                             f'got {seq_len[m]}')
    return {m: int(seq_len[m]) for m in modalities}
