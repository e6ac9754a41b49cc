"""Inference on saved or published models (see ``apis/inference.py``)."""
from .inference import (InferenceError, build_test_pipeline, load_model,
                        predict, predict_dataset)

__all__ = ['InferenceError', 'build_test_pipeline', 'load_model', 'predict',
           'predict_dataset']
