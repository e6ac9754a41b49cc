"""NORM-TR (Liu et al., IJCV 2024) as an mmengine plugin."""
from . import apis, datasets, engine, evaluation, hub, models  # noqa: F401
from .hub import from_pretrained
from .registry import SCOPE

__version__ = '0.1.0'
__all__ = ['SCOPE', '__version__', 'from_pretrained']
