"""NORM-TR (Liu et al., IJCV 2024) as an mmengine plugin."""
from . import apis, datasets, engine, evaluation, hub, models  # noqa: F401
from .hub import from_pretrained
from .registry import SCOPE
from .version import __version__

__all__ = ['SCOPE', '__version__', 'from_pretrained']
