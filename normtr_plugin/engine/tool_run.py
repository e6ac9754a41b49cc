"""The steps ``tools/train.py`` and ``tools/test.py`` share, in their order:
read the config named on the command line, build the runner (joining an
``accelerate launch``/``torchrun`` group first), report the final metrics.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from ..evaluation.metrics_table import print_metrics
from ..utils import require_finite
from .cli import write_metrics
from .config_check import ConfigError
from .distributed import launched_distributed, setup_distributed
from .runner import build_runner

__all__ = ['read_tool_config', 'start_runner', 'report_test_metrics']


def read_tool_config(config: str, launcher: str, **files: str) -> Config:
    """``Config.fromfile(config)`` with ``cfg.launcher`` set, after checking
    that ``config`` and every other named file (``checkpoint=PATH``) exist.
    """
    for what, path in (('config', config), *files.items()):
        if not osp.isfile(path):
            raise ConfigError(f'{what} file {path!r} not found')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    return cfg


def start_runner(cfg: Config) -> Runner:
    """:func:`build_runner`, inside the process group when launched by
    ``accelerate launch`` or ``torchrun``."""
    if launched_distributed():
        print(f'distributed: {setup_distributed(cfg)}', flush=True)
    return build_runner(cfg)


def report_test_metrics(metrics: dict, checkpoint: Optional[str],
                        out: Optional[str]) -> None:
    """Refuse non-finite metrics, then (main process) print them as a table
    and write them to ``out`` in the one metrics-file layout."""
    require_finite(metrics, 'test metrics')
    if is_main_process():
        print_metrics(metrics, f'test metrics ({checkpoint})')
        if out:
            write_metrics(out, metrics, checkpoint)
