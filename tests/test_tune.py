"""``tools/tune.py``: Optuna search over a config, on the tiny demo data."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import ROOT
from normtr_plugin.engine import ConfigError, merge_cfg_options
from normtr_plugin.engine.search_space import (apply_params, load_space,
                                               set_max_epochs)
from normtr_plugin.engine.trial_pruning_hook import TrialPruningHook
from safety_helpers import DEMO, run_tool, tiny_cfg, tiny_demo_data

optuna = pytest.importorskip('optuna')

SPACE = """
lr = dict(key='optim_wrapper.optimizer.lr', type='float', low=1e-4,
          high=3e-3, log=True)
dropout = dict(key=['model.fusion.dropout'], type='float', low=0.0,
               high=0.3)
epochs = dict(key='train_cfg.max_epochs', type='int', low=1, high=2)
"""


def _tune_module():
    spec = importlib.util.spec_from_file_location(
        'tune_tool', osp.join(ROOT, 'tools', 'tune.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('tune')
    space = root / 'space.py'
    space.write_text(SPACE)
    return dict(root=root, data=tiny_demo_data(root / 'data'), space=space)


def tune_args(setup, work, trials, *extra):
    return [DEMO, '--space', str(setup['space']), '--trials', str(trials),
            '--work-dir', str(work), *extra, '--cfg-options',
            f"data_root={setup['data']}", 'model.embed_dim=32']


def load(work, name='normtr_demo'):
    return optuna.load_study(study_name=name,
                             storage=f'sqlite:///{work}/study.db')


def test_space_file_and_params(setup, tmp_path):
    space = load_space(str(setup['space']))
    assert set(space) == {'lr', 'dropout', 'epochs'}
    cfg = Config.fromfile(DEMO)
    end = cfg.param_scheduler[1].end
    options = apply_params(cfg, space, dict(lr=1e-3, dropout=0.2, epochs=2))
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.model.fusion.dropout == 0.2
    assert options['train_cfg.max_epochs'] == 2 == cfg.train_cfg.max_epochs
    # the cosine schedule still ends with the run
    assert (end, cfg.param_scheduler[1].end) == (4, 2)
    assert cfg.param_scheduler[1].T_max == 2 and cfg.max_epochs == 2
    # named choices: the sampler sees the name, the config the value
    shipped = load_space(osp.join(ROOT, 'tools', 'tune_spaces',
                                  'normtr_space.py'))
    cfg = Config.fromfile(DEMO)
    apply_params(cfg, shipped, dict(noise_probs='clean_half', N=64))
    assert list(cfg.model.noise.probs) == [0.5, 0.25, 0.25]
    assert cfg.model.embed_dim == 64
    bad = tmp_path / 'bad.py'
    bad.write_text("lr = dict(key='x', type='float', low=1.0)\n")
    with pytest.raises(ConfigError, match="missing \\['high'\\]"):
        load_space(str(bad))
    bad.write_text("lr = dict(key='x', type='beta', low=0, high=1)\n")
    with pytest.raises(ConfigError, match="type 'beta'"):
        load_space(str(bad))


def test_shipped_spaces_fit_their_configs():
    for config, space in (('normtr_mmmo.py', 'normtr_space.py'),
                          ('ablations/mmmo/standard_transformer.py',
                           'transformer_space.py')):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
        params = load_space(osp.join(ROOT, 'tools', 'tune_spaces', space))
        for name, spec in params.items():
            for key in spec['key']:
                node = cfg
                for part in key.split('.')[:-1]:
                    node = node[part]
                assert isinstance(node, dict), (config, key)
        set_max_epochs(cfg, 12)
        assert cfg.param_scheduler[-1].end == 12


class FakeTrial:
    """Prunes once step ``prune_at`` is reported."""

    def __init__(self, prune_at):
        self.prune_at, self.reports = prune_at, []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.reports[-1][0] >= self.prune_at


def test_pruning_hook_stops_the_run_cleanly(setup, tmp_path):
    from normtr_plugin.engine import NormTRRunner
    cfg = tiny_cfg(DEMO, setup['data'], tmp_path / 'w',
                   **{'train_cfg.max_epochs': 3})
    runner = NormTRRunner.from_cfg(cfg)
    hook = TrialPruningHook(FakeTrial(prune_at=2), 'Acc-2_mean')
    runner.register_hook(hook)
    runner.train()
    assert hook.pruned and runner.epoch == 2
    assert [s for s, _ in hook.trial.reports] == [1, 2]


def test_three_trials_then_resume(setup, tmp_path, capsys):
    tune = _tune_module()
    work = tmp_path / 'w'
    tune.main(tune_args(setup, work, 2, '--sampler', 'random'))
    first = capsys.readouterr().out
    assert sum(line.startswith('trial ') for line in
               first.splitlines()) == 2
    assert len(load(work).trials) == 2
    tune.main(tune_args(setup, work, 3, '--sampler', 'random'))
    out = capsys.readouterr().out
    assert "2 trials so far, 1 to go; maximize Acc-2_mean" in out
    assert 'trial 2 complete: Acc-2_mean' in out
    study = load(work)
    assert len(study.trials) == 3
    rows = json.loads((work / 'trials.json').read_text())
    assert sorted(rows) == ['trial 0', 'trial 1', 'trial 2']
    assert [rows[f'trial {t.number}']['Acc-2_mean'] for t in study.trials] \
        == [t.value for t in study.trials]
    # the best config is a normal config with the best trial's values
    best = Config.fromfile(str(work / 'best_config.py'))
    params = study.best_trial.params
    assert best.optim_wrapper.optimizer.lr == pytest.approx(params['lr'])
    assert best.train_cfg.max_epochs == params['epochs']
    assert best.data_root == str(setup['data'])
    assert osp.isfile(work / 'plot_optimization_history.png')
    # nothing is tested during the search
    assert not list(work.glob('trial_*/test_metrics.json'))
    # the best config trains with tools/train.py
    res = run_tool(['tools/train.py', work / 'best_config.py',
                    '--work-dir', tmp_path / 'best', '--cfg-options',
                    'model.embed_dim=32'])
    assert res.returncode == 0, res.stderr[-1500:]
    assert osp.isfile(tmp_path / 'best' / 'test_metrics.json')


def test_two_processes_share_one_study(setup, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1',
               OMP_NUM_THREADS='1')
    procs = [subprocess.Popen(
        [sys.executable, 'tools/tune.py', *tune_args(
            setup, tmp_path / f'w{i}', 3, '--storage', storage,
            '--study-name', 'shared', '--seed', str(i))],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-1500:]
    study = optuna.load_study(study_name='shared', storage=storage)
    numbers = [t.number for t in study.trials]
    # each process stops once the study holds 3 trials (each may start one
    # more while the other finishes)
    assert 3 <= len(numbers) <= 4 and sorted(numbers) == list(
        range(len(numbers)))
    pids = {t.user_attrs['pid'] for t in study.trials}
    assert pids <= {p.pid for p in procs}
    ran = [sum(line.startswith('trial ') for line in out.splitlines())
           for out, _ in outs]
    assert sum(ran) == len(numbers)


def test_bad_input_is_one_line(setup, tmp_path):
    res = run_tool(['tools/tune.py', DEMO, '--space', tmp_path / 'no.py',
                    '--trials', '1'])
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"tune.py: error: space file '{tmp_path / 'no.py'}' not found"]
    cfg = merge_cfg_options(Config.fromfile(DEMO), {
        'default_hooks.checkpoint.save_best': 'auto'})
    from normtr_plugin.engine import selection_metric
    with pytest.raises(ConfigError, match='one named metric'):
        selection_metric(cfg)
