from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from ..registry import MODELS
from .builder import build_component
from .fusion_decoder import FusionDecoder
from .gradient_reversal import grad_reverse

Inputs = Dict[str, torch.Tensor]


@MODELS.register_module()
class NormTR(BaseModel):
    """NORM-TR, the Noise-Resistant Multimodal Transformer (paper Eq. 1-9).

    ``y = Trans(F_NR(U'), F_M(U'))`` with ``U' = g(V(U, sigma))``; trained
    with ``L = alpha L_adv1 + beta L_adv2 + gamma L_er`` (Eq. 9).

    Args:
        modalities: modality name -> raw feature dim N_m, in token order.
        seq_len: unified sequence length T.
        embed_dim: N (the extractors output N/2).
        head, projection, nrgf, mf, fusion, modality_discriminator,
        noise_discriminator, noise: component configs (MODELS registry).
            Sizes are filled in here. ``None`` disables a discriminator or
            the noise injection.
        grl_lambda: gradient reversal factor lambda.
        loss_weights: ``dict(adv1=alpha, adv2=beta, er=gamma)``.

    ``self.config`` holds these arguments as plain JSON types (with
    ``type='NormTR'``), enough to rebuild the model from the registry.

    Inputs: ``{m: (B, T, N_m)}``. Outputs per ``mode``: 'loss' a dict of
    ``loss_er``, ``loss_adv1``, ``loss_adv2`` (already weighted) and the
    discriminator accuracies; 'predict' the data samples with predictions;
    'tensor' the head's logits.
    """

    def __init__(self,
                 modalities: Dict[str, int],
                 seq_len: int,
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
                 query: str = 'nrgf',
                 memory: str = 'mf',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if seq_len < 1:
            raise ValueError(f'seq_len T must be >= 1, got {seq_len}')
        if embed_dim < 2 or embed_dim % 2:
            raise ValueError(f'embed_dim N must be even, got {embed_dim}')
        unknown = set(loss_weights) - {'adv1', 'adv2', 'er'}
        if unknown:
            raise ValueError(f'loss_weights takes adv1, adv2, er; got '
                             f'unknown {sorted(unknown)}')
        self.config = _plain(dict(
            type='NormTR', modalities=modalities, seq_len=seq_len,
            embed_dim=embed_dim, head=head, projection=projection, nrgf=nrgf,
            mf=mf, fusion=fusion,
            modality_discriminator=modality_discriminator,
            noise_discriminator=noise_discriminator, noise=noise,
            grl_lambda=grl_lambda, loss_weights=loss_weights, query=query,
            memory=memory, data_preprocessor=data_preprocessor))
        self.modalities = dict(modalities)
        self.seq_len = seq_len
        self.loss_weights = dict(dict(adv1=0.0, adv2=0.0, er=1.0),
                                 **loss_weights)
        self.grl_lambda = grl_lambda
        M, half = len(self.modalities), embed_dim // 2
        self.projection = build_component(
            projection, in_dims=self.modalities, embed_dim=embed_dim)
        self.nrgf = build_component(nrgf, embed_dim=embed_dim)
        self.mf = build_component(mf, embed_dim=embed_dim, num_modalities=M)
        self.query, self.memory = query, memory
        width = self._check_sources(embed_dim, modality_discriminator,
                                    noise_discriminator)
        self.fusion = build_component(
            fusion, embed_dim=width, num_tokens=M * seq_len,
            num_modalities=M)
        self.head = build_component(
            head, in_dim=getattr(self.fusion, 'out_dim', width))
        self.modality_discriminator = build_component(
            modality_discriminator, embed_dim=half, seq_len=seq_len,
            num_modalities=M)
        self.noise_discriminator = build_component(
            noise_discriminator, embed_dim=half, seq_len=seq_len)
        self.noise = build_component(noise)

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
                raise ValueError(f'{role} must be one of {sorted(built)}, '
                                 f'got {source!r}')
            if built[source] is None:
                raise ValueError(f"{role}='{source}' needs the {source} "
                                 'extractor, which is disabled (None)')
        if (self.query == 'projected') != (self.memory == 'projected'):
            raise ValueError('query and memory must both be projected '
                             'features or both extractor features')
        for name, cfg in (('modality_discriminator', modality_discriminator),
                          ('noise_discriminator', noise_discriminator)):
            needs = ('nrgf', 'mf') if name.startswith('modality') else \
                ('nrgf',)
            if cfg is not None and any(built[n] is None for n in needs):
                raise ValueError(f'{name} needs the {" and ".join(needs)} '
                                 'extractor(s); set it to None')
        return embed_dim if self.query == 'projected' else embed_dim // 2

    def extract_features(self, inputs: Inputs,
                         return_attention: bool = False) -> dict:
        """Run g, F_NR, F_M and the fusion.

        Returns ``projected`` (B, M, T, N), ``nrgf``/``mf`` (B, M, T, N/2)
        for the enabled extractors, ``fused`` (the fusion's output tokens,
        (B, M*T, N/2) for the decoder) and, on request, ``attention``: per
        layer (B, heads, M*T, M*T) cross-attention weights.
        """
        if return_attention and not isinstance(self.fusion, FusionDecoder):
            raise ValueError(f'{type(self.fusion).__name__} has no '
                             'cross-attention to return; only FusionDecoder '
                             'does')
        projected = self.projection(inputs)
        if projected.shape[2] != self.seq_len:
            raise ValueError(f'inputs have T = {projected.shape[2]} steps, '
                             f'the model is configured for seq_len '
                             f'{self.seq_len}')
        feats = dict(projected=projected)
        for name in ('nrgf', 'mf'):
            if getattr(self, name) is not None:
                feats[name] = getattr(self, name)(projected)
        query = feats[self.query].flatten(1, 2)
        memory = feats[self.memory].flatten(1, 2)
        if return_attention:
            feats['fused'], feats['attention'] = self.fusion(
                query, memory, return_attention=True)
        else:
            feats['fused'] = self.fusion(query, memory)
        return feats

    def forward(self, inputs: Inputs,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_features(inputs)['fused'])
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', "
                         f'got {mode!r}')

    def loss(self, inputs: Inputs,
             data_samples: Sequence[BaseDataElement]
             ) -> Dict[str, torch.Tensor]:
        self.projection.check_inputs(inputs)
        inputs = {m: inputs[m] for m in self.modalities}
        noisy = None
        if self.noise is not None:
            inputs, noisy = self.noise(inputs)
        feats = self.extract_features(inputs)
        target = torch.stack([s.gt_label for s in data_samples]).to(
            feats['fused'].device)
        w = self.loss_weights
        losses = dict(loss_er=w['er'] * self.head.loss(
            self.head(feats['fused']), target))
        if self.noise_discriminator is None and \
                self.modality_discriminator is None:
            return losses
        nrgf_rev = grad_reverse(feats['nrgf'], self.grl_lambda)
        if self.modality_discriminator is not None and w['adv1'] > 0:
            losses.update(self._modality_adversary(feats['mf'], nrgf_rev))
        if self.noise_discriminator is not None and noisy is not None \
                and w['adv2'] > 0:
            logits = self.noise_discriminator(nrgf_rev).flatten(0, 1)
            labels = noisy.flatten().long()
            losses['loss_adv2'] = w['adv2'] * F.cross_entropy(logits, labels)
            losses['acc_d2'] = _accuracy(logits, labels)
        return losses

    def _modality_adversary(self, mf, nrgf_rev) -> Dict[str, torch.Tensor]:
        """L_adv1 (Eq. 6) over MF chunks (plain) and NRGF chunks (reversed)."""
        logits_mf, logits_nr = self.modality_discriminator(mf, nrgf_rev)
        B, M = mf.shape[:2]
        labels = torch.arange(M, device=mf.device).repeat(B)
        logits_mf, logits_nr = logits_mf.flatten(0, 1), logits_nr.flatten(0, 1)
        loss = F.cross_entropy(torch.cat([logits_mf, logits_nr]),
                               torch.cat([labels, labels]))
        return dict(loss_adv1=self.loss_weights['adv1'] * loss,
                    acc_d1_mf=_accuracy(logits_mf, labels),
                    acc_d1_nrgf=_accuracy(logits_nr, labels))

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        preds = self.head.predict(self(inputs, mode='tensor').detach())
        batch = next(iter(preds.values())).shape[0]
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(batch)]
        for i, sample in enumerate(data_samples):
            sample.set_data({k: v[i] for k, v in preds.items()})
        return data_samples

    def save_pretrained(self, save_dir: str, **kwargs) -> str:
        """``config.json`` + ``model.safetensors`` (see normtr_plugin.hub)."""
        from ..hub import save_pretrained
        return save_pretrained(self, save_dir, **kwargs)

    @classmethod
    def from_pretrained(cls, repo_id_or_dir: str, **kwargs) -> 'NormTR':
        """Load a Hub model id or folder written by ``save_pretrained``."""
        from ..hub import from_pretrained
        model = from_pretrained(repo_id_or_dir, **kwargs)
        if not isinstance(model, cls):
            raise TypeError(f'{repo_id_or_dir} holds a {type(model).__name__}'
                            f', not a {cls.__name__}')
        return model

    def push_to_hub(self, repo_id: str, private: bool = False,
                    revision: Optional[str] = None,
                    commit_message: Optional[str] = None, api=None,
                    **save_kwargs):
        """Save to a temporary folder and upload it as ``repo_id``."""
        import tempfile
        from ..hub import push_to_hub
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, **save_kwargs)
            return push_to_hub(tmp, repo_id, private=private,
                               revision=revision,
                               commit_message=commit_message, api=api)

    @torch.no_grad()
    def cross_attention(self, inputs: Inputs) -> List[torch.Tensor]:
        """Cross-attention weights of every decoder layer (paper Fig. 10).

        Returns a list (one per layer) of ``(B, heads, M*T, M*T)`` tensors:
        row i is how NRGF token i attends to the MF tokens.
        """
        return self.extract_features(inputs, return_attention=True)[
            'attention']


def _plain(value):
    """Config values as plain JSON types (ConfigDict -> dict, tuple -> list).
    """
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) == labels).float().mean().detach()
