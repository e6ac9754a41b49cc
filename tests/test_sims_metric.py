"""CH-SIMS metrics against a transcription of MMSA's
``MetricsTop.__eval_sims_regression`` (thuiar/MMSA, utils/metricsTop.py)."""
import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from normtr_plugin.evaluation import SIMSMetric, sims_metrics


def mmsa_eval_sims_regression(y_pred, y_true):
    """MMSA's code, transcribed line by line; only ``.view(-1).cpu()
    .detach().numpy()`` of the tensors is the same as here."""
    def multiclass_acc(y_pred, y_true):
        return np.sum(np.round(y_pred) == np.round(y_true)) / \
            float(len(y_true))

    test_preds = y_pred.view(-1).cpu().detach().numpy()
    test_truth = y_true.view(-1).cpu().detach().numpy()
    test_preds = np.clip(test_preds, a_min=-1., a_max=1.)
    test_truth = np.clip(test_truth, a_min=-1., a_max=1.)

    # two classes{[-1.0, 0.0], (0.0, 1.0]}
    ms_2 = [-1.01, 0.0, 1.01]
    test_preds_a2 = test_preds.copy()
    test_truth_a2 = test_truth.copy()
    for i in range(2):
        test_preds_a2[np.logical_and(
            test_preds > ms_2[i], test_preds <= ms_2[i + 1])] = i
    for i in range(2):
        test_truth_a2[np.logical_and(
            test_truth > ms_2[i], test_truth <= ms_2[i + 1])] = i

    # three classes{[-1.0, -0.1], (-0.1, 0.1], (0.1, 1.0]}
    ms_3 = [-1.01, -0.1, 0.1, 1.01]
    test_preds_a3 = test_preds.copy()
    test_truth_a3 = test_truth.copy()
    for i in range(3):
        test_preds_a3[np.logical_and(
            test_preds > ms_3[i], test_preds <= ms_3[i + 1])] = i
    for i in range(3):
        test_truth_a3[np.logical_and(
            test_truth > ms_3[i], test_truth <= ms_3[i + 1])] = i

    # five classes{[-1.0, -0.7], (-0.7, -0.1], (-0.1, 0.1], (0.1, 0.7],
    # (0.7, 1.0]}
    ms_5 = [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]
    test_preds_a5 = test_preds.copy()
    test_truth_a5 = test_truth.copy()
    for i in range(5):
        test_preds_a5[np.logical_and(
            test_preds > ms_5[i], test_preds <= ms_5[i + 1])] = i
    for i in range(5):
        test_truth_a5[np.logical_and(
            test_truth > ms_5[i], test_truth <= ms_5[i + 1])] = i

    mae = np.mean(np.absolute(test_preds - test_truth)).astype(np.float64)
    corr = np.corrcoef(test_preds, test_truth)[0][1]
    mult_a2 = multiclass_acc(test_preds_a2, test_truth_a2)
    mult_a3 = multiclass_acc(test_preds_a3, test_truth_a3)
    mult_a5 = multiclass_acc(test_preds_a5, test_truth_a5)
    f_score = f1_score(test_truth_a2, test_preds_a2, average='weighted')

    return {
        'Mult_acc_2': round(mult_a2, 4),
        'Mult_acc_3': round(mult_a3, 4),
        'Mult_acc_5': round(mult_a5, 4),
        'F1_score': round(f_score, 4),
        'MAE': round(mae, 4),
        'Corr': round(corr, 4),
    }


KEYS = {'Acc-2': 'Mult_acc_2', 'Acc-3': 'Mult_acc_3', 'Acc-5': 'Mult_acc_5',
        'F1': 'F1_score', 'MAE': 'MAE', 'Corr': 'Corr'}

# Hand cases: the bucket edges themselves (0, +-0.1, +-0.7, +-1), values
# outside [-1, 1] (clipped, MAE on clipped values), CH-SIMS label values.
CASES = {
    'edges': ([0.0, 0.1, -0.1, 0.7, -0.7, 1.0, -1.0, 0.05],
              [0.0, 0.2, -0.1, 0.6, -0.8, 0.8, -1.0, -0.05]),
    'clipped': ([1.7, -2.5, 0.3, -0.4, 0.0, 0.9],
                [1.0, -1.0, 0.2, 0.0, -0.2, 0.8]),
    'sims_labels': ([-0.83, -0.41, -0.05, 0.02, 0.12, 0.55, 0.68, 0.95,
                     -0.62, 0.31],
                    [-0.8, -0.4, 0.0, 0.0, 0.2, 0.6, 0.8, 1.0, -0.6, 0.4]),
    'all_wrong_side': ([0.5, 0.4, -0.3, -0.9], [-0.5, -0.4, 0.3, 0.9]),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_sims_metrics_match_mmsa(name):
    pred, truth = (np.asarray(v, np.float32) for v in CASES[name])
    ours = sims_metrics(pred, truth)
    theirs = mmsa_eval_sims_regression(torch.from_numpy(pred)[:, None],
                                       torch.from_numpy(truth))
    assert list(ours) == list(KEYS)
    for key, mmsa_key in KEYS.items():
        value = ours[key] / 100 if key.startswith(('Acc', 'F1')) else \
            ours[key]
        assert round(value, 4) == pytest.approx(theirs[mmsa_key], abs=1e-12)


def test_sims_edges_by_hand():
    # 0.0 is negative for Acc-2 ([-1, 0]) and neutral for Acc-3/5
    # ((-0.1, 0.1]); 0.7 is "weakly positive" ((0.1, 0.7]) for Acc-5.
    pred = np.float32([0.0, 0.1, 0.7, 0.71])
    truth = np.float32([-0.5, 0.0, 0.5, 1.0])
    out = sims_metrics(pred, truth)
    assert out['Acc-2'] == 75.0   # 0.1 (positive) vs 0.0 (negative)
    assert out['Acc-3'] == 75.0   # 0.0 (neutral) vs -0.5 (negative)
    assert out['Acc-5'] == 75.0   # 0.0 (neutral) vs -0.5 (weak negative)
    assert out['MAE'] == pytest.approx(np.mean([0.5, 0.1, 0.2, 0.29]),
                                       abs=1e-6)
    # compared in float32 as MMSA does: a label of 0.1 is neutral, 0.11 not
    out = sims_metrics(np.float32([0.11, 0.1]), np.float32([0.1, 0.1]))
    assert out['Acc-3'] == 50.0


def test_constant_predictions_give_corr_zero_not_nan():
    out = sims_metrics(np.zeros(4, np.float32),
                       np.float32([0.2, -0.2, 0.4, 0.0]))
    assert out['Corr'] == 0.0 and np.isfinite(list(out.values())).all()


def test_sims_metric_in_the_evaluator_loop():
    metric = SIMSMetric()
    pred, truth = (np.asarray(v, np.float32) for v in CASES['sims_labels'])
    metric.process(None, [dict(pred_score=torch.tensor([p]),
                               gt_label=torch.tensor(t))
                          for p, t in zip(pred, truth)])
    assert metric.compute_metrics(metric.results) == sims_metrics(pred,
                                                                  truth)
    with pytest.raises(ValueError, match='one score per sample'):
        metric.process(None, [dict(pred_score=torch.zeros(2),
                                   gt_label=torch.tensor(0.))])
