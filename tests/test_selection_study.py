"""tools/analysis_tools/selection_study.py: the 3-class set ``make``
writes (on tiny generated data), its table rendering, and the 3-class
config (issue 19, item 2)."""
import json
import os.path as osp
import sys

import datasets as hf
import numpy as np
import pytest
from mmengine.config import Config

import normtr_plugin  # noqa: F401 (registers the plugin's modules)
from conftest import ROOT, write_dataset
from normtr_plugin.datasets import MultimodalFeatureDataset
from normtr_plugin.registry import MODELS
from normtr_plugin.utils.errors import InputError
from safety_helpers import run_tool, snapshot

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import selection_study as study  # noqa: E402

MODS = dict(audio=5, video=7)
SIZES = dict(train=40, validation=11, test=12)


@pytest.fixture
def source(tmp_path):
    """A tiny 'converted MMMO': regression scores, train/validation/test."""
    return write_dataset(tmp_path / 'mmmo', MODS, sizes=SIZES, seq_len=4)


def _labels(root, split):
    table = hf.load_from_disk(root)[split]
    return dict(zip(table['id'], np.asarray(table['label'], np.float64)))


def test_make_bins_at_tertiles_and_splits_stratified(source, tmp_path):
    out = str(tmp_path / 'three')
    info = study.make(source, out, val_size=9, seed=0)
    pooled = {**_labels(source, 'train'), **_labels(source, 'validation')}
    scores = np.array(list(pooled.values()))
    e1, e2 = np.quantile(scores, [1 / 3, 2 / 3])
    assert info['edges'] == pytest.approx([e1, e2])
    # sizes: 9 validate, the rest of the 51 pooled clips train, test kept
    new = hf.load_from_disk(out)
    assert {s: len(new[s]) for s in new} == dict(train=42, validation=9,
                                                test=12)
    assert set(new['train']['id']) | set(new['validation']['id']) == set(
        pooled)
    assert not set(new['train']['id']) & set(new['validation']['id'])
    assert new['test']['id'] == hf.load_from_disk(source)['test']['id']
    # every clip's class follows its score and the edges
    originals = {**pooled, **_labels(source, 'test')}
    for split in new:
        for i, c in zip(new[split]['id'], new[split]['label']):
            y = originals[i]
            assert c == (0 if y <= e1 else 1 if y <= e2 else 2)
    # stratified: 9 validation clips, 3 of each (near-equal tertiles)
    assert info['counts']['validation'] == [3, 3, 3]
    assert sum(info['counts']['train']) == 42
    test_counts = np.bincount(new['test']['label'], minlength=3)
    assert info['counts']['test'] == test_counts.tolist()
    major = int(np.argmax(info['counts']['train']))
    assert info['majority_rate_test'] == pytest.approx(
        100 * test_counts[major] / 12)
    with open(osp.join(out, study.INFO_FILE)) as f:
        assert json.load(f)['edges'] == info['edges']
    # loads as the config reads it: ClassLabel, 3 classes, both modalities
    ds = MultimodalFeatureDataset(out, 'validation', MODS,
                                  task='classification')
    assert ds.classes == ['low', 'mid', 'high'] and len(ds) == 9
    sample = ds[0]
    assert sample['audio'].shape[-1] == 5 and sample['video'].shape[-1] == 7
    assert int(sample['gt_label'][0]) == new['validation']['label'][0]


def test_make_refuses_too_small_and_existing_output(source, tmp_path):
    with pytest.raises(InputError, match='too few'):
        study.make(source, str(tmp_path / 'x'), val_size=60)
    assert not (tmp_path / 'x').exists()
    out = tmp_path / 'three'
    study.make(source, str(out), val_size=9)
    before = snapshot(out)
    proc = run_tool(['tools/analysis_tools/selection_study.py', 'make',
                     source, '--out', out, '--val-size', '9'])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith('selection_study.py: error:')
    assert len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(out) == before


def test_render_mean_std_and_majority_row():
    runs = {str(s): dict(metrics={'Acc-3': a, 'F1': f}, epoch=e)
            for s, a, f, e in ((0, 40.0, 30.0, 3), (1, 50.0, 40.0, 7))}
    table = study.render(dict(
        parts=dict(three_class={'best on validation': runs}),
        three_class=dict(majority_rate_test=46.25)))
    row = next(r for r in table.splitlines()
               if r.startswith('| best on validation'))
    assert row.split(' | ')[1:5] == ['2', '45.0 ± 7.07', '35.0 ± 7.07',
                                     '40, 50']
    assert row.endswith('| 3, 7 | - |')
    assert '| always the majority class (train) | - | 46.2 |' in table
    runs['0']['metrics'].update({'cv_Acc-3_mean': 55.0, 'cv_Acc-3_std': 9.9,
                                 'cv_epoch': 5})
    table = study.render(dict(parts=dict(three_class={'cv': runs})))
    row = next(r for r in table.splitlines() if r.startswith('| cv'))
    assert row.endswith('| 5, 7 | 55 ± 9.9 |')
    assert 'majority' not in table


def test_three_class_config_builds():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'normtr_mmmo_3class.py'))
    model = MODELS.build(cfg.model)
    assert model.head.num_classes == 3
    assert cfg.default_hooks.checkpoint.save_best == 'Acc-3'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.task == 'classification'
        assert cfg[loader].dataset.data_root == 'data/mmmo_3class'
    assert cfg.val_evaluator == [dict(type='ClassificationMetric')]
    # the measured default (docs/model_selection.md): cv was not better
    assert cfg.model_selection.by == 'best'


def test_run_skips_finished_runs_and_collects_them(tmp_path):
    """A run folder with test_metrics.json is not trained again;
    --collect-only tabulates the finished ones and trains nothing."""
    work = tmp_path / 'work'
    done = work / 'three_class' / 'rule0' / 'seed1'
    done.mkdir(parents=True)
    (done / 'test_metrics.json').write_text(json.dumps(
        {'Acc-3': 50.0, 'F1': 40.0, 'checkpoint': 'best_Acc-3_epoch_4.pth'}))
    args = study.parse_args([
        'run', '--three-class', str(tmp_path / 'none'), '--work-dir',
        str(work), '--parts', 'three_class', '--seeds', '0', '1',
        '--collect-only'])
    result = study.run(args)
    (rule, runs), = result['parts']['three_class'].items()
    assert rule == 'best on validation' and list(runs) == ['1']
    assert runs['1']['epoch'] == 4
    assert runs['1']['metrics'] == {'Acc-3': 50.0, 'F1': 40.0}
    assert json.loads((work / 'selection_study.json').read_text()) == result
    assert '| best on validation | 1 | 50.0 | 40.0 |' in (
        work / 'selection_study.md').read_text()
    assert sorted(p.name for p in (work / 'three_class').iterdir()) == [
        'rule0']  # nothing else was started
