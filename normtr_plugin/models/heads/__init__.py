from .base_head import BaseEmotionHead
from .classification_head import ClassificationHead
from .multi_binary_head import MultiBinaryHead
from .multilabel_head import MultiLabelHead
from .regression_head import RegressionHead

__all__ = ['BaseEmotionHead', 'ClassificationHead', 'MultiBinaryHead',
           'MultiLabelHead', 'RegressionHead']
