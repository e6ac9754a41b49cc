"""``NormTRInferencer``: mmengine's ``BaseInferencer`` for NORM-TR.

    inferencer = NormTRInferencer('configs/normtr_mmmo.py',
                                  'work_dirs/.../best_MAE_epoch_9.pth')
    inferencer = NormTRInferencer('org/name')      # or a published folder
    inferencer({'audio': a, 'video': v})           # (N, T, D) arrays
    inferencer('features.npz', batch_size=64)
    inferencer(DatasetInputs('data/my_set', 'test'))  # labels not needed

As mmengine's inferencers: ``model`` is a config (path or ``Config``) and
``weights`` its training checkpoint, or ``model`` is a published folder or
Hub model id (``config.json`` + safetensors, no ``weights``), or a loaded
model. Returns ``dict(predictions=[...], visualization=None)``; each
prediction is the record of
:func:`~normtr_plugin.evaluation.dump_predictions.prediction_record`
(``id``, ``pred_score``, ``pred_label``), the schema of
``tools/test.py --dump``.

Inputs go the way training data goes: raw batches
(:mod:`~normtr_plugin.apis.inputs`, lengths ``(B, M)``) through the test
pipeline (batch transforms; ``NormalizeFeatures`` bound to the training
split's statistics saved with the model or checkpoint) and
``model.test_step``. Arrays given without lengths are stripped of zero
padding as the converters strip it, with one warning.

Nothing from a file is executed: a checkpoint is read by
``load_checkpoint_safely`` (mmengine's own types only), a published model
by ``from_pretrained`` (registered types, safetensors weights).
"""
import os
import warnings
from typing import Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.infer import BaseInferencer

from ..datasets import multimodal_collate
from ..datasets.transforms import NormalizeFeatures, PackMultimodalInputs
from ..engine import load_checkpoint_safely, propagate
from ..evaluation.dump_predictions import prediction_record
from ..hub import from_pretrained
from ..hub.config_guard import check_pretrained_config
from ..hub.pretrained import load_state_dict_strict
from ..models.heads import BaseEmotionHead
from ..registry import MODELS, SCOPE, TRANSFORMS, build_in_scope
from ..utils import non_finite_paths
from .inputs import (DatasetBatches, DatasetInputs, InferenceError,
                     array_batches, read_npz)

__all__ = ['NormTRInferencer', 'build_test_pipeline', 'model_from_checkpoint']

STRIPPED_WARNING = (
    'inputs without lengths: each (N, T, D) array was taken as zero-padded '
    'and its padding steps found as the dataset converters find them '
    '(all-zero steps at either end, modalities of one T aligned); give '
    "'<modality>_lengths' (N,) or 'lengths' (N, M) to state them")


def build_test_pipeline(cfgs, feature_stats: Optional[dict],
                        where: str) -> Compose:
    """Batch test pipeline from transform configs, ``NormalizeFeatures``
    bound to ``feature_stats``; it must end with ``PackMultimodalInputs``.
    Without configs, batches are only packed (they must then already have
    the model's ``seq_len`` steps)."""
    cfgs = list(cfgs or [dict(type='PackMultimodalInputs')])
    transforms = [build_in_scope(TRANSFORMS, dict(t)) for t in cfgs]
    for t in transforms:
        if isinstance(t, NormalizeFeatures):
            t.bind_stats(feature_stats, where)
    if not isinstance(transforms[-1], PackMultimodalInputs):
        raise InferenceError(f'the test pipeline must end with '
                             f'PackMultimodalInputs; found {cfgs}')
    return Compose(transforms)


def model_from_checkpoint(config: Union[str, Config], checkpoint: str,
                          cfg_options: Optional[dict] = None,
                          device: str = 'cpu'):
    """``(model, cfg, dataset_meta)`` of a training checkpoint: the model of
    ``config`` (``cfg_options`` merged, top-level keys propagated as for
    training), its weights loaded strictly, ``dataset_meta`` (feature
    statistics, names) as the Runner saved it in the checkpoint."""
    if isinstance(config, (str, os.PathLike)):
        if not os.path.isfile(config):
            raise InferenceError(f'config file {os.fspath(config)!r} not '
                                 'found')
        config = Config.fromfile(os.fspath(config))
    cfg = config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    propagate(cfg)
    ckpt = load_checkpoint_safely(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict) or not isinstance(
            ckpt.get('state_dict'), dict):
        raise InferenceError(f'checkpoint {checkpoint!r} has no state_dict: '
                             'not an mmengine training checkpoint')
    model = build_in_scope(MODELS, cfg.model)
    load_state_dict_strict(model, ckpt['state_dict'],
                           f'checkpoint {checkpoint!r}')
    meta = dict((ckpt.get('meta') or {}).get('dataset_meta') or {})
    return model.to(device), cfg, meta


class NormTRInferencer(BaseInferencer):
    """Predictions of a NORM-TR model (module docstring).

    Args:
        model: a config path or ``Config`` (with ``weights``), a published
            folder or Hub model id, or a loaded model.
        weights: the training checkpoint of a config.
        device: where the model runs (default 'cpu', or where a given
            model is).
        revision, cache_dir: for a Hub id.
        cfg_options: merged into a config (as ``--cfg-options``).
        show_progress: a progress bar over batches.
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = set()
    postprocess_kwargs: set = set()

    def __init__(self, model: Union[str, Config, torch.nn.Module],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 revision: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 show_progress: bool = False):
        # BaseInferencer.__init__ would load weights with torch.load and
        # read metafiles; the checkpoint/published-model readers here
        # execute nothing.
        self.scope = SCOPE
        if weights is not None:
            model, cfg, meta = model_from_checkpoint(
                model, weights, cfg_options, device or 'cpu')
            pipeline = cfg.test_dataloader.dataset.get('pipeline')
            where = f'checkpoint {weights!r}'
        else:
            if isinstance(model, (str, os.PathLike)):
                if os.fspath(model).endswith('.py'):
                    raise InferenceError(
                        f'config {os.fspath(model)!r} needs its checkpoint: '
                        'NormTRInferencer(CONFIG, CKPT)')
                model = from_pretrained(os.fspath(model), revision=revision,
                                        cache_dir=cache_dir,
                                        map_location=device or 'cpu')
            elif isinstance(model, (Config, ConfigDict, dict)):
                raise InferenceError('a config needs its checkpoint: '
                                     'NormTRInferencer(CONFIG, CKPT)')
            elif device is not None:
                model = model.to(device)
            saved = getattr(model, 'pretrained_config', {}) or {}
            meta = dict(saved.get('dataset_meta') or {})
            pipeline = saved.get('test_pipeline')
            # checked again here (from_pretrained did): registered types
            check_pretrained_config(dict(test_pipeline=list(pipeline or [])),
                                    "the model's saved test_pipeline")
            where = "the model's saved dataset_meta"
        if not isinstance(getattr(model, 'head', None), BaseEmotionHead):
            raise InferenceError(f'{type(model).__name__} has no '
                                 'BaseEmotionHead (model.head): its outputs '
                                 'cannot be named')
        self.model = model.eval()
        self.dataset_meta = meta
        self.cfg = ConfigDict(test_pipeline=list(pipeline or []),
                              dataset_meta=meta)
        self._stats_where = where
        self.pipeline = self._init_pipeline(self.cfg)
        self.collate_fn = multimodal_collate
        self.visualizer = None
        self.show_progress = show_progress
        try:
            self.names = model.head.output_names(meta)
        except ValueError as err:
            raise InferenceError(str(err)) from None

    def _init_pipeline(self, cfg) -> Compose:
        return build_test_pipeline(cfg.test_pipeline,
                                   cfg.dataset_meta.get('feature_stats'),
                                   self._stats_where)

    def _inputs_to_list(self, inputs):
        """A source of raw batches (``inputs.py``), read lazily."""
        modalities = self.model.modalities
        if isinstance(inputs, DatasetInputs):
            return DatasetBatches(inputs, modalities)
        if isinstance(inputs, (str, bytes, os.PathLike)):
            where = os.fsdecode(inputs)
            return array_batches(read_npz(where), modalities, where)
        if isinstance(inputs, dict):
            return array_batches(dict(inputs), modalities, 'the inputs')
        raise TypeError(f'inputs must be a dict of modality -> features, an '
                        f'.npz path or DatasetInputs, got '
                        f'{type(inputs).__name__}')

    def preprocess(self, inputs, batch_size: int = 64, **kwargs):
        """Raw batches of ``batch_size`` through the test pipeline."""
        if inputs.stripped:
            warnings.warn(STRIPPED_WARNING, stacklevel=4)
        for batch in inputs.batches(batch_size):
            yield self.collate_fn(self.pipeline(batch))

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
        """``predictions``: the data samples, or their output records."""
        if not return_datasamples:
            preds = [prediction_record(p.cpu(), self.names) for p in preds]
        return dict(predictions=preds, visualization=visualization)

    def __call__(self, inputs, return_datasamples: bool = False,
                 batch_size: int = 64, **kwargs) -> dict:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        return super().__call__(inputs, return_datasamples, batch_size,
                                **kwargs)
