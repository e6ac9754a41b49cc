from .checkpoint_scheme import load_from_hub, register_hub_scheme
from .model_card import render_model_card
from .pretrained import (CONFIG_NAME, WEIGHTS_NAME, PretrainedError,
                         from_pretrained, load_pretrained_config, push_to_hub,
                         resolve_files, save_pretrained)

# ``hf://`` is a scheme of its own: it adds a prefix and replaces none of
# mmengine's checkpoint loaders (checked by tests/test_import_side_effects).
register_hub_scheme()

__all__ = [
    'CONFIG_NAME', 'PretrainedError', 'WEIGHTS_NAME', 'from_pretrained',
    'load_pretrained_config', 'load_from_hub', 'push_to_hub',
    'register_hub_scheme', 'render_model_card', 'resolve_files',
    'save_pretrained'
]
