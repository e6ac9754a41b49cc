"""Evaluation metrics (mmengine ``BaseMetric``), their numpy functions, and
the numbers of the robustness evaluation (ratio grid, AUILC, spreads; the
loop is ``normtr_plugin.engine.RobustnessTestLoop``, the reports live in
``normtr_plugin.visualization``)."""
from .auilc import auilc, auilc_table
from .classification_metric import ClassificationMetric
from .dump_predictions import DumpPredictions
from .functional import (classification_metrics, multi_binary_metrics,
                         multilabel_metrics, regression_metrics,
                         sentiment_metrics, weighted_accuracy)
from .invariance_metric import InvarianceMetric
from .multi_binary_metric import MultiBinaryMetric
from .multilabel_metric import MultiLabelMetric
from .robustness_grid import parse_ratios, parse_seeds
from .robustness_summary import summarise_checkpoints, summarise_masking
from .sentiment_metric import RegressionMetric, SentimentMetric
from .sims_metric import SIMSMetric, sims_metrics

__all__ = [
    'ClassificationMetric', 'DumpPredictions', 'InvarianceMetric',
    'MultiBinaryMetric', 'MultiLabelMetric', 'RegressionMetric',
    'SIMSMetric', 'SentimentMetric', 'auilc', 'auilc_table',
    'classification_metrics', 'multi_binary_metrics', 'multilabel_metrics',
    'parse_ratios', 'parse_seeds', 'regression_metrics', 'sentiment_metrics',
    'sims_metrics', 'summarise_checkpoints', 'summarise_masking',
    'weighted_accuracy'
]
