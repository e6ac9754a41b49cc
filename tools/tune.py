"""Hyperparameter search with Optuna over a NORM-TR config.

    python tools/tune.py CONFIG --space SPACE.py --trials N [--cv K]
        [--storage URL] [--study-name NAME] [--sampler tpe|random]
        [--seed S] [--work-dir DIR] [--cfg-options KEY=VALUE ...]

Each trial samples the space (``tools/tune_spaces/*.py``; format in
``normtr_plugin/engine/search_space.py``), trains the config with
mmengine's Runner and scores it on validation by the config's selection
metric (``default_hooks.checkpoint.save_best``; its ``rule`` gives the
direction: MAE is minimised, Acc maximised). ``--cv K`` scores it by K-fold
cross-validation over train + validation instead
(``model_selection=dict(by='cv', folds=K)``). A trial reports its
validation metric every epoch and a median pruner stops poor ones early.
Nothing is tested.

The study lives in Optuna RDB storage, ``sqlite:///WORK_DIR/study.db``
unless ``--storage`` names another (e.g. a PostgreSQL URL): running the
command again resumes it, and several processes (or machines, on a shared
database) given the same storage and ``--study-name`` join one study.
``--trials N`` is the study's total: a process stops once the study holds
N trials (concurrent processes may overshoot by one each).

Outputs in WORK_DIR: ``trial_<n>/`` (each trial's logs), ``best_config.py``
(the config with the best parameters, a normal config:
``python tools/train.py WORK_DIR/best_config.py``), ``trials.json`` and,
when matplotlib is installed, Optuna's plots as ``plot_*.png``. A line per
trial and a summary table are printed.
"""
import argparse
import os
import os.path as osp
import time

from mmengine.config import Config

from normtr_plugin.engine import (ConfigError, add_cfg_options,
                                  default_work_dir, merge_cfg_options,
                                  read_tool_config, selection_metric)
from normtr_plugin.engine.search_space import (apply_params, load_space,
                                               suggest)
from normtr_plugin.engine.tuning import run_trial, trial_work_dir
from normtr_plugin.evaluation.metrics_table import print_metrics
from normtr_plugin.utils import atomic
from normtr_plugin.utils.errors import (MissingDependencyError,
                                        add_debug_argument, run_tool)

PLOTS = ('plot_optimization_history', 'plot_intermediate_values',
         'plot_param_importances', 'plot_slice')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Tune NORM-TR with Optuna')
    parser.add_argument('config', help='config file to tune')
    parser.add_argument('--space', required=True,
                        help='search space file (tools/tune_spaces/*.py)')
    parser.add_argument('--trials', type=int, required=True,
                        help="the study's total number of trials")
    parser.add_argument('--cv', type=int, metavar='K',
                        help='score each trial by K-fold cross-validation '
                        'over train + validation')
    parser.add_argument('--storage', help='Optuna storage URL (default: '
                        'sqlite:///WORK_DIR/study.db)')
    parser.add_argument('--study-name', help='default: the config name')
    parser.add_argument('--sampler', choices=('tpe', 'random'),
                        default='tpe')
    parser.add_argument('--seed', type=int, default=0,
                        help="the sampler's seed")
    parser.add_argument('--work-dir', help='default: <the config\'s work '
                        'dir>/tune')
    add_cfg_options(parser)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError(
            'tools/tune.py needs optuna: pip install -e ".[tune]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def base_config(args) -> Config:
    """The config every trial starts from: the file, ``--cfg-options``
    and ``--cv``."""
    cfg = read_tool_config(args.config, 'none')
    merge_cfg_options(cfg, args.cfg_options)
    if args.cv is not None:
        if args.cv < 2:
            raise ConfigError(f'--cv needs K >= 2, got {args.cv}')
        cfg.merge_from_dict({'model_selection.by': 'cv',
                             'model_selection.folds': args.cv})
    if args.trials < 1:
        raise ConfigError(f'--trials needs N >= 1, got {args.trials}')
    return cfg


def open_study(optuna, args, work_dir: str, direction: str):
    """Create or load the study (``load_if_exists``)."""
    from sqlalchemy.exc import SQLAlchemyError  # optuna's RDB storage
    url = args.storage or f'sqlite:///{osp.abspath(work_dir)}/study.db'
    sampler = (optuna.samplers.TPESampler(seed=args.seed)
               if args.sampler == 'tpe' else
               optuna.samplers.RandomSampler(seed=args.seed))
    name = args.study_name or osp.splitext(osp.basename(args.config))[0]
    for attempt in range(5):  # processes starting together race to create
        try:                  # the tables: the loser retries
            storage = url
            if url.startswith('sqlite:'):  # wait for the file lock
                storage = optuna.storages.RDBStorage(url, engine_kwargs=dict(
                    connect_args=dict(timeout=120)))
            study = optuna.create_study(
                storage=storage, study_name=name, direction=direction,
                sampler=sampler, pruner=optuna.pruners.MedianPruner(),
                load_if_exists=True)
            break
        except SQLAlchemyError:
            if attempt == 4:
                raise
            time.sleep(1 + attempt)
    if study.direction.name.lower() != direction:
        raise ConfigError(f'study {name!r} in {url} is set to '
                          f'{study.direction.name.lower()}, the config '
                          f'selects by {direction}: use another '
                          '--study-name')
    return study


def objective(optuna, cfg: Config, space: dict, work_dir: str):
    def run(trial):
        params = suggest(trial, space)
        trial_cfg = Config(cfg.to_dict())
        apply_params(trial_cfg, space, params)
        trial.set_user_attr('pid', os.getpid())
        out = run_trial(trial_cfg, trial,
                        trial_work_dir(work_dir, trial.number))
        if out is None:
            raise optuna.TrialPruned()
        trial.set_user_attr('epoch', out[1])
        return out[0]
    return run


def progress(metric: str):
    def line(study, trial):
        value = '-' if trial.value is None else f'{trial.value:.4g}'
        try:
            best = f'{study.best_value:.4g} (trial {study.best_trial.number})'
        except ValueError:  # no complete trial yet
            best = '-'
        params = ', '.join(f'{k}={_short(v)}' for k, v in trial.params.items())
        print(f'trial {trial.number} {trial.state.name.lower()}: {metric} '
              f'{value}; best {best}; {params}', flush=True)
    return line


def _short(value):
    return f'{value:.4g}' if isinstance(value, float) else value


def summary(study, metric: str) -> dict:
    """trial -> params and value, for the table and ``trials.json``."""
    rows = {}
    for t in study.get_trials(deepcopy=False):
        row = {k: _short(v) for k, v in t.params.items()}
        row.update(state=t.state.name.lower(), epoch=t.user_attrs.get(
            'epoch'), **{metric: t.value})
        rows[f'trial {t.number}'] = row
    return rows


def save_plots(optuna, study, work_dir: str) -> list:
    """Optuna's matplotlib plots as ``plot_*.png`` (none without
    matplotlib, or where a plot needs more trials than there are)."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as vis
    except ImportError:
        return []
    import warnings
    complete = study.get_trials(deepcopy=False, states=(
        optuna.trial.TrialState.COMPLETE,))
    saved = []
    for name in PLOTS:
        if name == 'plot_param_importances' and len(complete) < 2:
            continue  # importances need two finished trials
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                ax = getattr(vis, name)(study)
        except ValueError as err:  # e.g. parameters that never varied
            print(f'{name}: not drawn ({err})', flush=True)
            continue
        fig = (ax.flat[0] if hasattr(ax, 'flat') else ax).figure
        path = osp.join(work_dir, f'{name}.png')
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format='png', dpi=120, bbox_inches='tight')
        plt.close(fig)
        saved.append(path)
    return saved


def write_best_config(cfg: Config, space: dict, params: dict,
                      path: str) -> None:
    """``cfg`` with the best parameters, as a config file train.py runs."""
    best = Config(cfg.to_dict())
    apply_params(best, space, params)
    atomic.write_text(path, best.pretty_text)


def main(argv=None):
    args = parse_args(argv)
    optuna = _optuna()
    cfg = base_config(args)
    space = load_space(args.space)
    metric, rule = selection_metric(cfg)
    work_dir = args.work_dir or osp.join(default_work_dir(cfg), 'tune')
    os.makedirs(work_dir, exist_ok=True)
    study = open_study(optuna, args, work_dir,
                       'maximize' if rule == 'greater' else 'minimize')
    left = args.trials - len(study.trials)
    print(f'study {study.study_name!r}: {len(study.trials)} trials so far, '
          f'{max(left, 0)} to go; {study.direction.name.lower()} {metric}'
          + (f' ({args.cv}-fold cv)' if args.cv else ''), flush=True)
    if left > 0:
        study.optimize(
            objective(optuna, cfg, space, work_dir), n_trials=left,
            callbacks=[progress(metric), optuna.study.MaxTrialsCallback(
                args.trials, states=None)])
    rows = summary(study, metric)
    atomic.write_json(osp.join(work_dir, 'trials.json'), rows)
    print_metrics(rows, f'trials ({metric}, {study.direction.name.lower()})')
    complete = [t for t in study.trials
                if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        print('no trial completed: no best config', flush=True)
        return 1
    best = study.best_trial
    path = osp.join(work_dir, 'best_config.py')
    write_best_config(cfg, space, best.params, path)
    plots = save_plots(optuna, study, work_dir)
    print(f'best: trial {best.number}, {metric} {best.value:.4g}; config '
          f'{path}' + (f'; {len(plots)} plots in {work_dir}' if plots
                       else ''), flush=True)


if __name__ == '__main__':
    run_tool(main)
