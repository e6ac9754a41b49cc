"""Evaluation metrics (mmengine ``BaseMetric``) and their numpy functions."""
from .classification_metric import ClassificationMetric
from .functional import (classification_metrics, multi_binary_metrics,
                         multilabel_metrics, regression_metrics,
                         sentiment_metrics, weighted_accuracy)
from .multi_binary_metric import MultiBinaryMetric
from .multilabel_metric import MultiLabelMetric
from .sentiment_metric import RegressionMetric, SentimentMetric

__all__ = ['RegressionMetric', 'SentimentMetric', 'MultiBinaryMetric', 'ClassificationMetric',
           'MultiLabelMetric', 'sentiment_metrics', 'multi_binary_metrics',
           'classification_metrics', 'multilabel_metrics',
           'regression_metrics', 'weighted_accuracy']
