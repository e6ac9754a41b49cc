"""Metrics: hand-computed expectations (SPEC section 4)."""
import math

import numpy as np
import pytest
import torch

from normtr_plugin.evaluation import (ClassificationMetric, MultiBinaryMetric,
                                      MultiLabelMetric, SentimentMetric,
                                      classification_metrics,
                                      multi_binary_metrics, multilabel_metrics,
                                      sentiment_metrics, weighted_accuracy)
from normtr_plugin.registry import METRICS, build_in_scope

SENT_KEYS = ['Acc-7', 'Acc-5', 'Acc-2_has0', 'Acc-2_non0', 'F1_has0',
             'F1_non0', 'MAE', 'Corr']


# ---------------------------------------------------------------- sentiment
def test_sentiment_keys_and_types():
    out = sentiment_metrics([1.0, -1.0, 0.2], [0.5, -2.0, 1.0])
    assert list(out) == SENT_KEYS
    assert all(type(v) is float for v in out.values())


def test_acc7_round_half_to_even():
    truth = [0.5, 1.5, 2.5, -2.5]  # np.round -> 0, 2, 2, -2
    out = sentiment_metrics([0.0, 2.0, 2.0, -2.0], truth)
    assert out['Acc-7'] == pytest.approx(100.0)
    # half-away-from-zero rounding would make these match instead; with
    # half-to-even only 1.5 -> 2 == 2 matches.
    out = sentiment_metrics([1.0, 2.0, 3.0, -3.0], truth)
    assert out['Acc-7'] == pytest.approx(25.0)
    # predictions are rounded the same way (half-up would give 1, 3, -2).
    out = sentiment_metrics(truth, [0.0, 2.0, 2.0, -2.0])
    assert out['Acc-7'] == pytest.approx(100.0)
    assert out['Acc-5'] == pytest.approx(100.0)


def test_acc5_clips_before_rounding():
    # 2.7: Acc-7 round(2.7)=3 != 2; Acc-5 clip -> 2 == 2.
    # -3.0 vs -2.4: Acc-7 -3 != -2; Acc-5 clip(-3)=-2 == round(-2.4)=-2.
    # 0.4 vs 1.0: mismatch in both.
    out = sentiment_metrics([2.0, -2.4, 0.4], [2.7, -3.0, 1.0])
    assert out['Acc-7'] == pytest.approx(0.0)
    assert out['Acc-5'] == pytest.approx(200.0 / 3)


def test_has0_vs_non0():
    truth = [0.0, 0.0, 1.0, -1.0, 2.0]
    pred = [-0.5, 0.3, 0.8, 0.2, -1.0]
    # has0: truth>=0 = T T T F T ; pred>=0 = F T T T F -> match idx1, idx2
    #   Acc = 2/5 = 40%.
    #   class True (support 4): TP=2 (1,2) FP=1 (3) FN=2 (0,4)
    #     P=2/3 R=1/2 F1=4/7 ; class False (support 1): TP=0 -> F1=0
    #   weighted F1 = 4/5 * 4/7 = 16/35
    # non0: drop idx0, idx1 -> truth>0 = T F T ; pred>0 = T T F
    #   Acc = 1/3.  class True (support 2): TP=1 FP=1 FN=1 -> F1=1/2 ;
    #   class False (support 1): F1=0 -> weighted = 2/3 * 1/2 = 1/3
    out = sentiment_metrics(pred, truth)
    assert out['Acc-2_has0'] == pytest.approx(40.0)
    assert out['Acc-2_non0'] == pytest.approx(100.0 / 3)
    assert out['F1_has0'] == pytest.approx(100.0 * 16 / 35)
    assert out['F1_non0'] == pytest.approx(100.0 / 3)


def test_zero_truth_is_nonnegative_in_has0():
    # pred 0 and truth 0 agree in has0 (both >= 0); a negative pred does not.
    out = sentiment_metrics([0.0, -0.1, 1.0], [0.0, 0.0, 1.0])
    assert out['Acc-2_has0'] == pytest.approx(200.0 / 3)
    assert out['Acc-2_non0'] == pytest.approx(100.0)


def test_non0_nan_when_all_truth_zero():
    out = sentiment_metrics([0.3, -0.2], [0.0, 0.0])
    assert math.isnan(out['Acc-2_non0']) and math.isnan(out['F1_non0'])
    assert out['Acc-2_has0'] == pytest.approx(50.0)


def test_mae_unclipped():
    # clipping to [-3, 3] would give |3-3| = 0; unclipped |5-3| = 2.
    out = sentiment_metrics([5.0, -1.0], [3.0, -1.0])
    assert out['MAE'] == pytest.approx(1.0)


def test_corr_hand_value_and_constant():
    # deviations p = (-1, 0, 1), t = (-1, 1, 0): r = 1 / sqrt(2 * 2) = 0.5
    assert sentiment_metrics([1., 2., 3.], [1., 3., 2.])['Corr'] == \
        pytest.approx(0.5)
    assert sentiment_metrics([1., 1., 1.], [1., 3., 2.])['Corr'] == 0.0
    assert sentiment_metrics([0.7], [0.2])['Corr'] == 0.0


def test_sentiment_accepts_column_vectors():
    a = sentiment_metrics(np.array([[1.0], [2.0]]), np.array([1.0, 3.0]))
    assert a['MAE'] == pytest.approx(0.5)


# ------------------------------------------------------------- multi-binary
MB_TRUTH = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
MB_PRED = np.array([[1, 0], [1, 1], [1, 0], [0, 0]])
# Happy: truth 1 0 1 0, pred 1 1 1 0 -> Acc 3/4.
#   class1 (sup 2): TP2 FP1 FN0 P=2/3 R=1 F1=4/5 ; class0 (sup 2): TP1 FN1
#   P=1 R=1/2 F1=2/3 -> weighted (4/5 + 2/3) / 2 = 11/15
# Sad: truth 0 0 1 1, pred 0 1 0 0 -> Acc 1/4.
#   class1: TP0 -> 0 ; class0: TP1 FP2 FN1 P=1/3 R=1/2 F1=2/5
#   -> weighted (0 + 2/5) / 2 = 1/5
MB_EXPECTED = {'Acc-2_Happy': 75.0, 'F1_Happy': 100 * 11 / 15,
               'Acc-2_Sad': 25.0, 'F1_Sad': 20.0,
               'Acc-2_mean': 50.0, 'F1_mean': (100 * 11 / 15 + 20.0) / 2}


def test_multi_binary_hand():
    out = multi_binary_metrics(MB_PRED, MB_TRUTH, ['Happy', 'Sad'])
    assert out == pytest.approx(MB_EXPECTED)
    assert set(out) == set(MB_EXPECTED)


def test_multi_binary_default_names():
    out = multi_binary_metrics(MB_PRED, MB_TRUTH)
    assert out['Acc-2_task0'] == pytest.approx(75.0)
    assert out['Acc-2_task1'] == pytest.approx(25.0)


# ----------------------------------------------------------- classification
def test_classification_weighted_f1_hand():
    # truth 0 0 0 1 1 2, pred 0 0 1 1 2 2 -> Acc 4/6
    # class0 sup3: TP2 FN1 P=1 R=2/3 F1=4/5 ; class1 sup2: TP1 FP1 FN1 F1=1/2
    # class2 sup1: TP1 FP1 P=1/2 R=1 F1=2/3
    # weighted = (3*4/5 + 2*1/2 + 1*2/3) / 6 = 61/90 (macro would be 59/90)
    out = classification_metrics([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2], 3)
    assert out == pytest.approx({'Acc-3': 400 / 6, 'F1': 100 * 61 / 90})


RML_TRUTH = [0, 1, 2, 3, 4, 5, 0, 1]
RML_PRED = [0, 1, 2, 3, 4, 4, 0, 2]
# Acc-6 = 6/8. F1 per class (support): c0 1 (2), c1 2/3 (2), c2 2/3 (1),
# c3 1 (1), c4 2/3 (1), c5 0 (1) -> (2 + 4/3 + 2/3 + 1 + 2/3) / 8 = 17/24
RML_EXPECTED = {'Acc-6': 75.0, 'F1': 100 * 17 / 24}


def test_classification_acc6():
    assert classification_metrics(RML_PRED, RML_TRUTH, 6) == \
        pytest.approx(RML_EXPECTED)


# --------------------------------------------------------------- multilabel
ML_TRUTH = np.array([[1, 0], [0, 0], [0, 0], [0, 0], [1, 0], [0, 0]])
ML_PRED = np.array([[1, 0], [0, 0], [1, 0], [0, 0], [0, 0], [0, 1]])
# label a: p=2 n=4 TP=1 TN=3 -> wAcc=(1*4/2+3)/(2*4)=5/8 (plain acc 4/6)
#   F1: class1 (sup2) TP1 FP1 FN1 -> 1/2 ; class0 (sup4) TP3 FP1 FN1 -> 3/4
#   weighted (2*1/2 + 4*3/4)/6 = 2/3
# label b: p=0 -> plain accuracy 5/6 ; F1: class0 (sup6) TP5 FN1 P=1
#   R=5/6 -> 10/11, class1 has support 0 -> weighted = 10/11
ML_EXPECTED = {'wAcc_a': 62.5, 'F1_a': 200 / 3,
               'wAcc_b': 500 / 6, 'F1_b': 1000 / 11,
               'wAcc_mean': (62.5 + 500 / 6) / 2,
               'F1_mean': (200 / 3 + 1000 / 11) / 2}


def test_weighted_accuracy_hand():
    assert weighted_accuracy(ML_PRED[:, 0], ML_TRUTH[:, 0]) == \
        pytest.approx(62.5)
    assert weighted_accuracy(np.array([1, 1]), np.array([1, 1])) == 100.0


def test_multilabel_hand():
    out = multilabel_metrics(ML_PRED, ML_TRUTH, ['a', 'b'])
    assert out == pytest.approx(ML_EXPECTED)
    assert set(out) == set(ML_EXPECTED)


# ------------------------------------------------------------------- errors
def test_length_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r'\(3,\).*\(2,\)|\(2,\).*\(3,\)'):
        sentiment_metrics([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r'\(4, 2\).*\(3, 2\)'):
        multi_binary_metrics(MB_PRED[:3], MB_TRUTH)
    with pytest.raises(ValueError, match='shape'):
        classification_metrics([0, 1], [0], 2)
    with pytest.raises(ValueError, match='shape'):
        multilabel_metrics(ML_PRED, ML_TRUTH[:, :1])


def test_empty_and_bad_inputs():
    with pytest.raises(ValueError, match='empty'):
        sentiment_metrics([], [])
    with pytest.raises(ValueError, match='empty'):
        multilabel_metrics(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match='names'):
        multi_binary_metrics(MB_PRED, MB_TRUTH, ['only_one'])
    with pytest.raises(ValueError, match='0/1'):
        multilabel_metrics(ML_PRED, ML_TRUTH * 2.5)
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        classification_metrics([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match=r'\(N,\)'):
        sentiment_metrics(np.zeros((2, 2)), np.zeros((2, 2)))


# --------------------------------------------------------- BaseMetric e2e
def test_sentiment_metric_end_to_end():
    pred = [-0.5, 0.3, 0.8, 0.2, -1.0]
    truth = [0.0, 0.0, 1.0, -1.0, 2.0]
    metric = build_in_scope(METRICS, dict(type='SentimentMetric'))
    assert isinstance(metric, SentimentMetric)
    samples = [dict(pred_score=torch.tensor(p), gt_label=torch.tensor(t))
               for p, t in zip(pred, truth)]
    metric.process([], samples[:2])
    metric.process([], samples[2:])
    assert len(metric.results) == 5
    out = metric.evaluate(5)
    assert list(out) == SENT_KEYS  # bare keys, no prefix
    assert out == pytest.approx(sentiment_metrics(pred, truth), nan_ok=True)
    assert out['Acc-2_has0'] == pytest.approx(40.0)
    assert metric.results == []


def test_multi_binary_metric_end_to_end():
    metric = MultiBinaryMetric()
    metric.dataset_meta = dict(label_names=['Happy', 'Sad'])
    samples = []
    for p, t in zip(MB_PRED, MB_TRUTH):
        score = torch.nn.functional.one_hot(torch.tensor(p), 2).float()
        samples.append(dict(gt_label=torch.tensor(t),
                            pred_score=score * 0.8 + 0.1))
    metric.process([], samples)
    assert len(metric.results) == 4
    assert metric.evaluate(4) == pytest.approx(MB_EXPECTED)
    # pred_label takes precedence; names from the constructor win
    metric = MultiBinaryMetric(names=['x', 'y'])
    metric.process([], [dict(s, pred_label=torch.tensor(p))
                        for s, p in zip(samples, MB_TRUTH)])
    assert metric.evaluate(4)['Acc-2_x'] == 100.0


def test_classification_metric_end_to_end():
    samples = [dict(gt_label=torch.tensor(t),
                    pred_score=torch.eye(6)[p] * 0.5 + 0.05,
                    pred_label=torch.tensor(p))
               for p, t in zip(RML_PRED, RML_TRUTH)]
    metric = ClassificationMetric()
    metric.dataset_meta = dict(classes=list('ADFHSU'))
    metric.process([], samples)
    assert len(metric.results) == 8
    assert metric.evaluate(8) == pytest.approx(RML_EXPECTED)
    # no meta: width of pred_score; argmax when pred_label is absent
    metric = ClassificationMetric()
    metric.process([], [{k: v for k, v in s.items() if k != 'pred_label'}
                        for s in samples])
    assert metric.evaluate(8) == pytest.approx(RML_EXPECTED)
    metric = ClassificationMetric(num_classes=7)
    metric.process([], samples)
    assert set(metric.evaluate(8)) == {'Acc-7', 'F1'}


def test_multilabel_metric_end_to_end():
    metric = MultiLabelMetric()
    metric.dataset_meta = dict(label_names=['a', 'b'])
    samples = [dict(gt_label=torch.tensor(t, dtype=torch.float32),
                    pred_score=torch.tensor(p * 0.6 + 0.2))
               for p, t in zip(ML_PRED, ML_TRUTH)]
    metric.process([], samples)
    assert len(metric.results) == 6
    assert metric.evaluate(6) == pytest.approx(ML_EXPECTED)
    metric = MultiLabelMetric()
    metric.process([], [dict(s, pred_label=torch.tensor(p))
                        for s, p in zip(samples, ML_PRED)])
    out = metric.evaluate(6)
    assert out['wAcc_task0'] == pytest.approx(62.5)


def test_regression_metric_mae_and_corr_by_hand():
    from normtr_plugin.evaluation import regression_metrics
    # pred = 2 * truth + 1: Corr exactly 1; MAE = mean(|truth + 1|) = 3.5
    truth = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = regression_metrics(2 * truth + 1, truth)
    assert set(out) == {'MAE', 'Corr'}
    assert out['Corr'] == pytest.approx(1.0)
    assert out['MAE'] == pytest.approx(np.mean(np.abs(truth + 1)))
    metric = build_in_scope(METRICS, dict(type='RegressionMetric'))
    metric.process(None, [dict(pred_score=torch.tensor(p),
                               gt_label=torch.tensor(t))
                          for p, t in [(1.0, 2.0), (3.0, 3.0), (2.0, 1.0)]])
    # |1-2| + 0 + |2-1| = 2 -> MAE 2/3; corr of (1,3,2) vs (2,3,1) = 0.5
    res = metric.evaluate(3)
    assert res['MAE'] == pytest.approx(2 / 3) and res['Corr'] == \
        pytest.approx(0.5)
