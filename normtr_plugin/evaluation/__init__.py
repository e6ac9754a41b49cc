"""Evaluation metrics (mmengine ``BaseMetric``), their numpy functions, and
the robustness evaluation (test-time masking, AUILC)."""
from .auilc import auilc, auilc_table
from .classification_metric import ClassificationMetric
from .dump_predictions import DumpPredictions
from .functional import (classification_metrics, multi_binary_metrics,
                         multilabel_metrics, regression_metrics,
                         sentiment_metrics, weighted_accuracy)
from .invariance_metric import InvarianceMetric
from .multi_binary_metric import MultiBinaryMetric
from .multilabel_metric import MultiLabelMetric
from .robustness import evaluate_under_masking, parse_ratios, write_report
from .sentiment_metric import RegressionMetric, SentimentMetric
from .sims_metric import SIMSMetric, sims_metrics

__all__ = [
    'ClassificationMetric', 'DumpPredictions', 'InvarianceMetric',
    'MultiBinaryMetric',
    'MultiLabelMetric', 'RegressionMetric', 'SIMSMetric', 'SentimentMetric',
    'auilc', 'auilc_table', 'classification_metrics',
    'evaluate_under_masking', 'multi_binary_metrics', 'multilabel_metrics',
    'parse_ratios', 'regression_metrics', 'sentiment_metrics',
    'sims_metrics', 'weighted_accuracy', 'write_report'
]
