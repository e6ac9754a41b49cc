"""README.md's measured numbers are what tools/analysis_tools/
readme_numbers.py last wrote to docs/numbers.json (render only, no
training)."""
import importlib.util
import json
import os.path as osp

import pytest

from conftest import ROOT

SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'readme_numbers.py')


@pytest.fixture(scope='module')
def rn():
    spec = importlib.util.spec_from_file_location('readme_numbers', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_agrees_with_numbers_json(rn):
    with open(rn.README) as f:
        text = f.read()
    with open(rn.NUMBERS) as f:
        numbers = json.load(f)
    names = [m['name'] for m in rn.REGION.finditer(text)]
    assert len(set(names)) == len(names), names  # each region once
    assert {'demo', 'mmmo', 'mmmo_selection'} <= set(names) <= \
        set(rn.REGIONS), names
    assert rn.render(text, numbers) == text, \
        'README.md differs from docs/numbers.json: run ' \
        'tools/analysis_tools/readme_numbers.py --render-only'


def test_each_figure_appears_once_so_tables_cannot_disagree(rn):
    """The MMMO seeds table and the model-selection table render the same
    runs: seed s's MAE is the same figure in both."""
    with open(rn.NUMBERS) as f:
        numbers = json.load(f)
    default = numbers['mmmo']['runs'][rn.DEFAULT_SELECTION]
    seeds = rn.render_mmmo(numbers['mmmo']['runs'])
    selection = rn.render_mmmo_selection(numbers['mmmo']['runs'])
    for seed, run in zip(rn.SEEDS, default):
        mae = f"{run['metrics']['MAE']:.3f}"
        assert f'| NORM-TR, seed {seed} | {mae} |' in seeds
        row = next(line for line in selection.splitlines()
                   if line.startswith(f'| {rn.DEFAULT_SELECTION} |'))
        assert row.split(' | ')[1 + seed] == mae


def test_render_writes_the_values_and_keeps_the_rest(rn):
    metrics = {f'{k}_{e}': 50.0 + i for i, e in enumerate(rn.EMOTIONS)
               for k in ('Acc-2', 'F1')}
    metrics.update({'Acc-2_mean': 51.5, 'F1_mean': 51.25})
    numbers = dict(demo=dict(runs=dict(metrics=metrics)))
    text = 'before\n<!-- numbers:demo -->\nold\n<!-- /numbers:demo -->\nafter'
    out = rn.render(text, numbers)
    assert out.startswith('before\n<!-- numbers:demo -->\n| emotion |')
    assert '| Sad | 52.00 | 52.00 |' in out
    assert '| **mean** | **51.50** | **51.25** |' in out
    assert 'old' not in out and out.endswith('<!-- /numbers:demo -->\nafter')
    assert rn.render(out, numbers) == out  # idempotent
    with pytest.raises(KeyError, match='numbers:nope'):
        rn.render('<!-- numbers:nope -->\n<!-- /numbers:nope -->', numbers)
    with pytest.raises(KeyError, match="no 'mmmo' entry"):
        rn.render('<!-- numbers:mmmo -->\n<!-- /numbers:mmmo -->', numbers)


def test_numbers_json_records_commands_without_local_paths(rn):
    with open(rn.NUMBERS) as f:
        text = f.read()
    numbers = json.loads(text)
    assert ROOT not in text and '"/' not in text and ' /' not in text
    for name, entry in numbers.items():
        runs = entry['runs']
        if name == 'comparison':  # real_data_comparison.py: tune, then train
            for variant in runs['variants'].values():
                assert variant['tune']['command'].startswith(
                    'python tools/tune.py ')
                assert variant['tune']['best_config'].startswith(
                    '$WORK_DIR/')
                for run in variant['runs']:
                    assert run['command'].startswith(
                        'python tools/train.py $WORK_DIR/')
            continue
        for run in ([runs] if 'command' in runs else
                    [r for rs in runs.values() for r in rs]):
            assert run['command'].startswith('python tools/train.py ')


def test_comparison_renders_one_row_per_variant(rn):
    """real_data_comparison.py's entry: CV score of the best trial, test
    MAE/Corr mean ± std over the seeds, the best parameters."""
    def run(mae, corr):
        return dict(command='python tools/train.py x', seconds=1.0,
                    metrics=dict(MAE=mae, Corr=corr))
    variants = {
        'NORM-TR': dict(
            tune=dict(best=dict(trial='trial 2', state='complete', MAE=1.01,
                                epoch=12, lr='1e-4'), trials=4, pruned=1,
                      seconds=600.0),
            runs=[run(1.0, 0.4), run(1.1, 0.5), run(1.2, 0.6)]),
    }
    table = rn.render_comparison(dict(trials=4, cv=3, variants=variants))
    assert '| NORM-TR | 1.010 | 1.100 ± 0.100 | 0.500 ± 0.100 |' in table
    params = rn.render_tuned_params(dict(variants=variants))
    assert params == ('- **NORM-TR** (trial 2 of 4, 1 pruned, 10 min): '
                      '`lr`=1e-4\n')
