"""NORM-TR (Liu et al., IJCV 2024) as an mmengine plugin."""
from . import datasets, engine, evaluation, models  # noqa: F401  (registers)
from .registry import SCOPE

__version__ = '0.1.0'
__all__ = ['SCOPE', '__version__']
