"""Inference from a config and checkpoint, a published folder or a Hub id:
:class:`NormTRInferencer` (mmengine's ``BaseInferencer``) and one-call
wrappers."""
from .inference import load_model, predict, predict_dataset
from .inferencer import (NormTRInferencer, build_test_pipeline,
                         model_from_checkpoint)
from .inputs import DatasetInputs, InferenceError

__all__ = ['DatasetInputs', 'InferenceError', 'NormTRInferencer',
           'build_test_pipeline', 'load_model', 'model_from_checkpoint',
           'predict', 'predict_dataset']
