"""The image backbone shared by the video and audio extractors.

``build_backbone`` creates a timm model with ``num_classes=0``, so a forward
pass returns the global-average-pooled features (512-d for ``resnet18``, the
"last global averaging pooling output of the ResNet-18" of the paper,
section 4.3). Preprocessing follows timm's data config of the model
(``timm.data.resolve_data_config``): resize the shorter side to
``input_size / crop_pct``, center-crop to ``input_size`` and normalise with
the config's mean/std, done with tensor ops so batches stay on the device.
"""
import os.path as osp
import pickle
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..utils.errors import InputError, MissingFileError

__all__ = ['Backbone', 'ImagePreprocess', 'build_backbone',
           'load_backbone_weights']


#: Top-level names of a full model's classifier (not in a ``num_classes=0``
#: feature extractor): ignored when present in a weights file.
CLASSIFIER_KEYS = ('fc', 'head', 'classifier', 'last_linear')


def _drop_classifier(state: dict, model: torch.nn.Module) -> dict:
    own = model.state_dict()
    return {k: v for k, v in state.items()
            if k in own or k.split('.')[0] not in CLASSIFIER_KEYS}


def load_backbone_weights(model: torch.nn.Module, path: str) -> None:
    """Load a local ``.safetensors`` or ``.pth``/``.pt``/``.bin`` file into
    a timm backbone, with timm's ``load_checkpoint``.

    timm reads ``.pth`` with ``torch.load(weights_only=True)`` (no pickled
    code is run), takes a full checkpoint's ``state_dict`` / ``model`` entry
    and strips ``module.`` prefixes. The classifier weights of a full model
    are ignored (the backbone has no classifier); any other missing or
    unexpected key is an error naming the file.
    """
    from timm.models import load_checkpoint
    if not osp.isfile(path):
        raise MissingFileError(f'backbone weights {path!r} not found')
    if not path.endswith(('.safetensors', '.pth', '.pt', '.bin')):
        raise InputError(f'backbone weights {path!r}: expected a '
                         '.safetensors, .pth or .pt file')
    try:
        load_checkpoint(model, path, use_ema=False, strict=True,
                        filter_fn=_drop_classifier, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as err:
        detail = ' '.join(str(err).split())
        if isinstance(err, pickle.UnpicklingError) or \
                'weights_only' in detail:
            raise InputError(f'backbone weights {path!r}: refused, the file '
                             'holds more than tensors (torch.load with '
                             f'weights_only=True: {detail[:300]})') from None
        # load_state_dict: missing / unexpected keys
        raise InputError(f'backbone weights {path!r} do not fit the model: '
                         f'{detail[:500]}') from None


class ImagePreprocess:
    """timm's eval preprocessing as tensor ops (picklable: it runs in the
    extraction's DataLoader workers).

    Attributes: ``input_size`` (H, W), ``crop_pct``, ``mean``/``std``
    (1, 3, 1, 1).
    """

    def __init__(self, data_config: dict):
        self.input_size = tuple(int(s) for s in data_config['input_size'][1:])
        self.crop_pct = float(data_config.get('crop_pct') or 1.0)
        self.mean = torch.tensor(data_config['mean'],
                                 dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(data_config['std'],
                                dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor, crop: bool = True
                 ) -> torch.Tensor:
        """(N, 3, H, W) floats in [0, 1] -> normalised (N, 3, *input_size).

        ``crop=True`` (frames): resize the shorter side to
        ``input_size / crop_pct`` then center-crop, as timm's eval
        transform. ``crop=False`` (spectrogram segments): resize straight
        to ``input_size``.
        """
        images = images.float()
        h, w = self.input_size
        if crop:
            scale = max(h, w) / self.crop_pct / min(images.shape[-2:])
            size = (max(h, round(images.shape[-2] * scale)),
                    max(w, round(images.shape[-1] * scale)))
            images = F.interpolate(images, size=size, mode='bilinear',
                                   align_corners=False, antialias=True)
            top = (size[0] - h) // 2
            left = (size[1] - w) // 2
            images = images[..., top:top + h, left:left + w]
        else:
            images = F.interpolate(images, size=(h, w), mode='bilinear',
                                   align_corners=False)
        return (images - self.mean) / self.std


class Backbone:
    """A timm feature extractor and its preprocessing.

    Attributes: ``model`` (eval mode, on ``device``), ``feature_dim``,
    ``preprocess`` (:class:`ImagePreprocess`; ``input_size`` (H, W),
    ``mean``/``std``, ``crop_pct``).
    """

    def __init__(self, model: torch.nn.Module, data_config: dict,
                 device='cpu', name: str = ''):
        self.model, self.device, self.name = model, torch.device(device), name
        self.feature_dim = int(model.num_features)
        self.preprocess = ImagePreprocess(data_config)
        self.input_size = self.preprocess.input_size
        self.crop_pct = self.preprocess.crop_pct
        self.mean, self.std = self.preprocess.mean, self.preprocess.std

    @torch.no_grad()
    def __call__(self, images: torch.Tensor,
                 batch_size: Optional[int] = None) -> np.ndarray:
        """Preprocessed (N, 3, H, W) -> (N, feature_dim) float32 array."""
        batch_size = batch_size or len(images) or 1
        out = []
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(self.device)
            out.append(self.model(x).float().cpu())
        if not out:
            return np.zeros((0, self.feature_dim), np.float32)
        return torch.cat(out).numpy().astype(np.float32)


def build_backbone(name: str = 'resnet18', pretrained: bool = False,
                   weights: Optional[str] = None, device='cpu',
                   image_size: Optional[Sequence[int]] = None) -> Backbone:
    """A timm model without classifier (pooled features), in eval mode.

    Args:
        name: a timm model name (``resnet18`` in the paper).
        pretrained: download timm's pretrained weights (needs the Hub).
        weights: a local ``.safetensors``/``.pth`` file to load instead,
            for offline use.
        device: where the model runs.
        image_size: override the input size (H, W) or int; smaller is
            faster (tests), the paper's is the model's default (224).
    """
    import timm
    import timm.data
    if pretrained and weights:
        raise InputError('give either pretrained=True or weights, not both')
    model = timm.create_model(name, pretrained=pretrained, num_classes=0)
    if weights:
        load_backbone_weights(model, weights)
    model.eval().to(device)
    cfg = timm.data.resolve_data_config({}, model=model)
    if image_size is not None:
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        cfg['input_size'] = (3, int(image_size[0]), int(image_size[1]))
    return Backbone(model, cfg, device, name)
