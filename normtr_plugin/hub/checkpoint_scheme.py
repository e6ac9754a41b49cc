"""``hf://`` checkpoints for mmengine: ``load_from`` and ``init_cfg``.

``load_from = 'hf://org/name'`` (or ``hf://org/name@revision``, or
``hf:///path/to/folder``) starts training from published weights;
``init_cfg=dict(type='Pretrained', checkpoint='hf://org/name',
prefix='nrgf.')`` gives one component the weights of a published model.
Only ``model.safetensors`` is read: nothing is unpickled.
"""
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from ..utils.hub_id import split_revision
from .pretrained import (load_pretrained_config, load_pretrained_weights,
                         resolve_files)

PREFIX = 'hf://'


def split_hub_path(path: str):
    """``hf://org/name@rev`` -> (``org/name``, ``rev``); an empty or
    malformed ``rev`` is an ``InputError`` (``utils/hub_id.py``)."""
    target, revision = split_revision(path)
    return target[len(PREFIX):], revision


def load_from_hub(filename: str, map_location=None) -> dict:
    target, revision = split_hub_path(filename)
    # hf://org/name is always a Hub id (utils/hub_id.py); hf:///path a folder
    config_path, weights_path = resolve_files(
        target if target.startswith('/') else PREFIX + target, revision,
        log=lambda message: print_log(message, logger='current'))
    config = load_pretrained_config(config_path)
    state = load_pretrained_weights(weights_path)
    if map_location is not None:
        state = {k: v.to(map_location) for k, v in state.items()}
    return dict(state_dict=state,
                meta=dict(dataset_meta=config.get('dataset_meta', {}),
                          source=filename))


def register_hub_scheme() -> None:
    """Add ``hf://`` to mmengine's CheckpointLoader (idempotent).

    A scheme of its own: it replaces none of mmengine's loaders, and a
    loader someone else registered under ``hf://`` is left in place."""
    try:
        CheckpointLoader.register_scheme(PREFIX, load_from_hub)
    except KeyError:  # already registered (by us or someone else)
        pass
