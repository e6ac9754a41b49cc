"""Inference on saved or published models: :class:`NormTRInferencer`
(mmengine's ``BaseInferencer``) and one-call wrappers."""
from .inference import load_model, predict, predict_dataset
from .inferencer import NormTRInferencer, build_test_pipeline
from .inputs import DatasetInputs, InferenceError

__all__ = ['DatasetInputs', 'InferenceError', 'NormTRInferencer',
           'build_test_pipeline', 'load_model', 'predict', 'predict_dataset']
