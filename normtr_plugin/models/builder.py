import inspect
from typing import Optional

import torch.nn as nn

from ..registry import MODELS, build_in_scope


def build_component(cfg: Optional[dict], **defaults) -> Optional[nn.Module]:
    """Build ``cfg`` from MODELS, filling in sizes the parent model knows.

    ``None`` disables the component. An unknown ``type`` raises a KeyError
    that lists the registered names.
    """
    if cfg is None:
        return None
    cfg = dict(cfg)
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    type_ = cfg.get('type')
    if isinstance(type_, str) and MODELS.get(type_) is None:
        names = sorted(MODELS.module_dict)
        raise KeyError(f'unknown component type {type_!r}; registered in '
                       f'{MODELS.scope}: {names}')
    return build_in_scope(MODELS, cfg)


def accepts(cfg: dict, name: str) -> bool:
    """Whether the class that ``cfg`` builds takes the init argument
    ``name`` (or ``**kwargs``)."""
    type_ = cfg.get('type')
    cls = MODELS.get(type_) if isinstance(type_, str) else type_
    if cls is None:
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD
               for p in inspect.signature(cls).parameters.values())
