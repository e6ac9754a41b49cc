"""tools/train.py and tools/test.py on a train+test-only dataset: training
selects the last epoch, ``--dump`` writes one row per test sample, and
``--resume`` refuses a checkpoint of other data unless ``--force``."""
import json
import os.path as osp

import datasets as hf
import numpy as np
import pytest
import torch

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.evaluation import DumpPredictions
from safety_helpers import run_tool

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
SIZES = dict(train=96, test=20)  # no validation split
FAST = ['model.embed_dim=32', 'train_cfg.max_epochs=2']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(data root, work dir, train output) of one run on train+test data."""
    tmp = tmp_path_factory.mktemp('tt')
    data = make_synthetic_iemocap(str(tmp / 'data'), seed=0, sizes=SIZES)
    work = tmp / 'work'
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', work,
                     '--cfg-options', f'data_root={data}', *FAST])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return data, work, proc


def test_train_and_test_only_dataset_trains_and_tests(trained):
    data, work, proc = trained
    assert "model selection: the data has no 'validation' split: no " \
        'validation; the last epoch is tested' in proc.stdout
    result = json.loads((work / 'test_metrics.json').read_text())
    # one layout: flat metrics, the checkpoint relative to the file
    assert result['checkpoint'] == 'epoch_2.pth'
    assert 0 <= result['Acc-2_mean'] <= 100
    assert all(isinstance(v, float) for k, v in result.items()
               if k != 'checkpoint')
    assert 'Epoch(val)' not in proc.stdout + proc.stderr
    # the final metrics end the output as a table, one row per metric
    table = proc.stdout[proc.stdout.rindex('test metrics'):]
    assert f"Acc-2_mean | {result['Acc-2_mean']:10.4f}".replace(
        ' ', '') in table.replace(' ', '').replace('│', '|')


def test_dump_holds_one_row_per_test_sample(trained, tmp_path):
    data, work, _ = trained
    dump = tmp_path / 'preds.jsonl'
    proc = run_tool(['tools/test.py', DEMO, work / 'epoch_2.pth',
                     '--work-dir', tmp_path / 't', '--dump', dump,
                     '--out', tmp_path / 'm.json', '--cfg-options',
                     f'data_root={data}', 'model.embed_dim=32'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in dump.read_text().splitlines()]
    test_ids = hf.load_from_disk(data)['test']['id']
    assert len(rows) == SIZES['test']
    assert sorted(r['id'] for r in rows) == sorted(test_ids)
    for row in rows:
        assert len(row['pred_label']) == 4 and len(row['gt_label']) == 4
        assert set(row['pred_label'].values()) <= {0, 1}
        assert set(row['pred_score']) == set(row['pred_label'])
    # the dumped predictions give the reported metrics
    # one schema: {emotion: 0 | 1} for multi-binary labels
    assert list(rows[0]['pred_label']) == list(rows[0]['gt_label'])
    pred = np.array([list(r['pred_label'].values()) for r in rows])
    gt = np.array([list(r['gt_label'].values()) for r in rows])
    metrics = json.loads((tmp_path / 'm.json').read_text())
    assert metrics['checkpoint'] == osp.relpath(work / 'epoch_2.pth',
                                                tmp_path)
    assert 'test metrics' in proc.stdout and 'Acc-2_mean' in proc.stdout
    assert metrics['Acc-2_mean'] == pytest.approx(
        100 * (pred == gt).mean(), abs=1e-9)
    bad = run_tool(['tools/test.py', DEMO, work / 'epoch_2.pth', '--dump',
                    tmp_path / 'preds.csv'])
    assert bad.returncode == 2 and '.jsonl or .parquet' in bad.stderr
    assert bad.stderr.startswith('test.py: error: --dump')


def test_resume_on_other_data_is_refused_without_force(trained, tmp_path):
    data, work, _ = trained
    other = make_synthetic_iemocap(str(tmp_path / 'other'), seed=1,
                                   sizes=SIZES)
    args = ['tools/train.py', DEMO, '--work-dir', tmp_path / 'w',
            '--resume', work / 'epoch_2.pth', '--cfg-options',
            f'data_root={other}', *FAST]
    proc = run_tool(args)
    assert proc.returncode != 0
    err = proc.stderr
    assert "--resume: checkpoint" in err and 'the data differ' in err
    assert "data 'data'" in err and "data 'other'" in err
    assert '--force' in err and 'Config:' not in proc.stdout
    forced = run_tool(args + ['--force'])
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert 'resuming anyway (--force)' in forced.stderr


def test_dump_metric_writes_parquet(tmp_path):
    import pyarrow.parquet as pq
    metric = DumpPredictions(str(tmp_path / 'p.parquet'))
    metric.dataset_meta = dict(classes=['a', 'b', 'c'])
    metric.process(None, [dict(id=f's{i}', gt_label=torch.tensor(i % 3),
                               pred_label=torch.tensor(2),
                               pred_score=torch.tensor([.1, .2, .7]))
                          for i in range(5)])
    assert metric.evaluate(5) == {}
    table = pq.read_table(tmp_path / 'p.parquet').to_pylist()
    assert [r['id'] for r in table] == [f's{i}' for i in range(5)]
    assert table[1]['gt_label'] == 'b' and table[1]['pred_label'] == 'c'
    assert table[0]['pred_score'] == pytest.approx(dict(a=.1, b=.2, c=.7))
