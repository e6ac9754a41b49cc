"""``NormTRInferencer``: mmengine's ``BaseInferencer`` for published or
saved NORM-TR models.

    inferencer = NormTRInferencer('org/name')        # or a folder / a model
    inferencer({'audio': a, 'video': v, 'text': t})  # (N, T_i, D) arrays
    inferencer('features.npz', batch_size=64)
    inferencer(DatasetInputs('data/my_set', 'test'))  # labels not needed

Returns ``dict(predictions=[...], visualization=None)``; each prediction
is a plain JSON-able dict: ``id`` and what the model's head makes of its
outputs (``head.format_prediction``: ``score``; ``label`` and ``scores``;
or ``labels`` {name: {``present``, ``probability``}}).

The model comes from ``normtr_plugin.hub.from_pretrained`` (config.json
types allow-listed, safetensors weights only; nothing is unpickled or
executed). Every sample goes through the model's saved ``test_pipeline``
with ``NormalizeFeatures`` bound to the statistics saved with the model, is
collated with ``multimodal_collate`` and predicted by ``model.test_step``
(the model's data preprocessor puts it on the model's device).
"""
import os
from typing import Optional, Union

import torch
from mmengine.config import ConfigDict
from mmengine.dataset import Compose
from mmengine.infer import BaseInferencer

from ..datasets import multimodal_collate
from ..datasets.transforms import NormalizeFeatures, PackMultimodalInputs
from ..hub import from_pretrained
from ..hub.config_guard import check_pretrained_config
from ..models.heads import BaseEmotionHead
from ..registry import SCOPE, TRANSFORMS, build_in_scope
from ..utils import non_finite_paths
from .inputs import (DatasetInputs, DatasetRows, InferenceError,
                     array_samples, read_npz)

__all__ = ['NormTRInferencer', 'build_test_pipeline']


def _meta(model) -> dict:
    return dict(getattr(model, 'pretrained_config', {}).get(
        'dataset_meta') or {})


def build_test_pipeline(model) -> Compose:
    """The model's saved ``test_pipeline`` with its feature statistics bound.

    Without a saved pipeline, samples are only packed (they must then already
    have the model's ``seq_len`` steps).
    """
    config = getattr(model, 'pretrained_config', {})
    cfgs = list(config.get('test_pipeline') or [dict(
        type='PackMultimodalInputs')])
    # Checked again here (from_pretrained did): only registered transforms.
    check_pretrained_config(dict(test_pipeline=cfgs), "the model's saved "
                            'test_pipeline')
    transforms = [build_in_scope(TRANSFORMS, dict(t)) for t in cfgs]
    stats = _meta(model).get('feature_stats')
    for t in transforms:
        if isinstance(t, NormalizeFeatures):
            t.bind_stats(stats, "the model's saved dataset_meta")
    if not isinstance(transforms[-1], PackMultimodalInputs):
        raise InferenceError(f'the saved test_pipeline must end with '
                             f'PackMultimodalInputs; found {cfgs}')
    return Compose(transforms)


class NormTRInferencer(BaseInferencer):
    """Predictions of a NORM-TR model (module docstring).

    Args:
        model: a Hub model id (``org/name``), a ``save_pretrained`` folder,
            or a model already loaded by ``from_pretrained``.
        revision, cache_dir: for a Hub id.
        device: where the model runs (default: where it is, or 'cpu').
        show_progress: a progress bar over batches.
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = set()
    postprocess_kwargs: set = set()

    def __init__(self, model: Union[str, torch.nn.Module],
                 revision: Optional[str] = None,
                 device: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 show_progress: bool = False):
        # BaseInferencer.__init__ would read a Python config file or a
        # metafile; a published model is config.json + safetensors only.
        self.scope = SCOPE
        if isinstance(model, (str, os.PathLike)):
            model = from_pretrained(str(model), revision=revision,
                                    cache_dir=cache_dir,
                                    map_location=device or 'cpu')
        elif device is not None:
            model = model.to(device)
        if not isinstance(getattr(model, 'head', None), BaseEmotionHead):
            raise InferenceError(f'{type(model).__name__} has no '
                                 'BaseEmotionHead (model.head): its outputs '
                                 'cannot be named')
        self.model = model.eval()
        self.cfg = ConfigDict(getattr(model, 'pretrained_config', {}))
        self.dataset_meta = _meta(model)
        self.pipeline = self._init_pipeline(self.cfg)
        self.collate_fn = multimodal_collate
        self.visualizer = None
        self.show_progress = show_progress
        self.names = self._output_names()

    def _output_names(self):
        try:
            return self.model.head.output_names(self.dataset_meta)
        except ValueError as err:
            raise InferenceError(str(err)) from None

    def _init_pipeline(self, cfg) -> Compose:
        return build_test_pipeline(self.model)

    def _inputs_to_list(self, inputs):
        """Raw samples: a list, or a lazy sequence for a dataset."""
        modalities = self.model.modalities
        if isinstance(inputs, DatasetInputs):
            return DatasetRows(inputs, modalities)
        if isinstance(inputs, (str, bytes, os.PathLike)):
            where = os.fsdecode(inputs)
            return array_samples(read_npz(where), modalities, where)
        if isinstance(inputs, dict):
            return array_samples(dict(inputs), modalities, 'the inputs')
        raise TypeError(f'inputs must be a dict of modality -> features, an '
                        f'.npz path or DatasetInputs, got '
                        f'{type(inputs).__name__}')

    def preprocess(self, inputs, batch_size: int = 64, **kwargs):
        """Test pipeline per sample, ``multimodal_collate`` per batch."""
        chunks = self._get_chunk_data(
            (self.pipeline(dict(r)) for r in inputs), batch_size)
        yield from map(self.collate_fn, chunks)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        preds = self.model.test_step(inputs)
        for pred in preds:
            bad = non_finite_paths(pred.pred_score, 'score')
            if bad:
                raise InferenceError(
                    f"the model's output for sample "
                    f"{pred.metainfo.get('id')!r} is not finite "
                    f'({", ".join(bad[:4])}): the inputs hold values too '
                    'large for the model (overflow) or the model is '
                    'damaged; no predictions are reported')
        return preds

    def visualize(self, inputs, preds, **kwargs):
        return None

    def postprocess(self, preds, visualization, return_datasamples=False,
                    **kwargs) -> dict:
        """``predictions``: the data samples, or the head's JSON form."""
        if not return_datasamples:
            head = self.model.head
            preds = [dict(id=p.metainfo.get('id'),
                          **head.format_prediction(p.cpu(), self.names))
                     for p in preds]
        return dict(predictions=preds, visualization=visualization)

    def __call__(self, inputs, return_datasamples: bool = False,
                 batch_size: int = 64, **kwargs) -> dict:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        return super().__call__(inputs, return_datasamples, batch_size,
                                **kwargs)
