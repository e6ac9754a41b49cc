"""Predictions from a published or saved NORM-TR model, in one call.

    model = load_model('org/name')      # or a save_pretrained folder
    predict(model, {'audio': a, 'video': v, 'text': t})   # (N, T, D) arrays
    predict(model, 'features.npz')     # one array per modality (+ lengths)
    predict_dataset(model, 'data/my_set', 'test')  # a dataset folder or Hub id

Thin wrappers around :class:`~normtr_plugin.apis.inferencer.
NormTRInferencer` (see there for the pipeline, the safety guarantees and
the prediction format); each returns the list of predictions.
"""
from typing import List, Optional, Union

from ..hub import from_pretrained
from .inferencer import NormTRInferencer
from .inputs import DatasetInputs

__all__ = ['load_model', 'predict', 'predict_dataset']


def load_model(model_id_or_dir: str, revision: Optional[str] = None,
               device: str = 'cpu', cache_dir: Optional[str] = None):
    """A model from a Hub id or a ``save_pretrained`` folder, in eval mode.

    Goes through ``normtr_plugin.hub.from_pretrained`` (safetensors only,
    strict loading; the Hugging Face cache and ``HF_HUB_OFFLINE`` apply).
    """
    return from_pretrained(model_id_or_dir, revision=revision,
                           cache_dir=cache_dir, map_location=device)


def predict(model, inputs: Union[str, dict], batch_size: int = 64
            ) -> List[dict]:
    """Predict from in-memory features or an ``.npz`` file.

    ``inputs``: a dict modality -> ``(N, T, D)`` array or list of
    ``(T_i, D)`` arrays (optionally ``id``: N names, and lengths
    ``<modality>_lengths`` (N,) or ``lengths`` (N, M)), or the path of an
    ``.npz`` with the same keys. Arrays without lengths are stripped of
    zero padding (with a warning). Lengths may differ from the model's
    ``seq_len``: the saved test pipeline unifies them.
    """
    return NormTRInferencer(model)(inputs, batch_size=batch_size)[
        'predictions']


def predict_dataset(model, data_root: str, split: str = 'test',
                    revision: Optional[str] = None,
                    batch_size: int = 64) -> List[dict]:
    """Predict every sample of one split of a dataset in the project format
    (a folder or a Hub dataset id), with or without label columns. The
    model's own test pipeline and feature statistics are applied (not the
    dataset's)."""
    return NormTRInferencer(model)(
        DatasetInputs(data_root, split, revision), batch_size=batch_size)[
        'predictions']
