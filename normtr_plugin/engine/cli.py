"""What the tools share: ``--cfg-options``, ``--amp`` and the final
metrics (a table on the terminal, one metrics-file layout).
"""
import ast
import json
import os
import os.path as osp
import re
from typing import Optional, Tuple

import torch
from mmengine.config import Config, DictAction

from ..utils import atomic
from ..utils.errors import add_debug_argument
from .config_check import ConfigError

__all__ = ['CfgOptions', 'add_cfg_options', 'add_launcher_arguments',
           'add_overwrite_argument',
           'parse_runner_args', 'merge_runner_args',
           'enable_amp', 'merge_cfg_options',
           'read_metrics', 'set_mixed_precision',
           'write_json', 'write_metrics']

_NOT_LITERAL = object()


def _literal(node: ast.AST):
    """A Python literal, ``dict(k=v, ...)`` included; nothing is run."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args and \
            all(k.arg for k in node.keywords):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v)
                for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def parse_value(text: str):
    """``text`` as a Python literal (``[dict(type='EMAHook')]``, ``{...}``,
    ``'a b'``, ``3``), or ``_NOT_LITERAL``."""
    try:
        return _literal(ast.parse(text.strip(), mode='eval').body)
    except (SyntaxError, ValueError, TypeError):
        return _NOT_LITERAL


def _inner_space(text: str) -> bool:
    """Whether ``text`` holds whitespace inside a value (not only around
    it or around commas): mmengine's ``DictAction`` would drop it."""
    return any(c.isspace() for c in re.sub(r'\s*,\s*', ',', text.strip()))


class CfgOptions(DictAction):
    """mmengine's ``--cfg-options`` (``KEY=VALUE``; ``a,b`` and ``[a,b]``
    are lists) that also takes Python literals with ``dict(...)``, kept
    whole (spaces included): quote them for the shell, e.g.
    ``--cfg-options "custom_hooks=[dict(type='GRLLambdaHook')]"``.

    A plain value with a space inside (``"data_root=/x/my data"``) is kept
    exactly as given (``DictAction`` would make it ``/x/mydata``); a
    ``a b,c`` list is refused (give ``"['a b', 'c']"``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        plain, literal = [], {}
        for kv in values:
            key, sep, val = kv.partition('=')
            if not sep:
                parser.error(f'--cfg-options takes KEY=VALUE, got {kv!r}')
            # brackets, quotes or dict(...): a Python literal, spaces kept;
            # anything else as mmengine parses it (1,2 is a list)
            parsed = parse_value(val) if val.strip().startswith(
                ('[', '(', '{', '"', "'", 'dict(')) else _NOT_LITERAL
            if parsed is not _NOT_LITERAL:
                literal[key] = parsed
            elif _inner_space(val) and ',' in val:
                raise ConfigError(
                    f'--cfg-options {kv!r}: a list item holds a space, which'
                    " mmengine's KEY=a,b parsing would drop; give the list "
                    f"as a Python literal: \"{key}=['a b', 'c']\"")
            elif _inner_space(val):
                literal[key] = val  # a string: kept exactly, spaces too
            else:
                plain.append(kv)
        super().__call__(parser, namespace, plain, option_string)
        getattr(namespace, self.dest).update(literal)


def add_cfg_options(parser, help: str = 'override config settings: '
                    'KEY=VALUE, e.g. data_root=DIR, seq_len.audio=375, '
                    '"custom_hooks=[dict(type=\'GRLLambdaHook\')]"') -> None:
    """Give a tool's parser ``--cfg-options`` (:class:`CfgOptions`)."""
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions,
                        help=help)


def add_launcher_arguments(parser) -> None:
    """``--launcher`` and ``--local-rank``, as OpenMMLab's tools have them
    (the rank goes to ``LOCAL_RANK`` when the tool parses it)."""
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_overwrite_argument(parser, help: str) -> None:
    """Give a tool's parser ``--overwrite`` (what it replaces: ``help``)."""
    parser.add_argument('--overwrite', action='store_true', help=help)


def parse_runner_args(parser):
    """Add what ``tools/train.py`` and ``tools/test.py`` share
    (``--cfg-options``, ``--launcher``, ``--local-rank``, ``--debug``), parse
    the command line and pass the rank on in ``LOCAL_RANK``."""
    add_cfg_options(parser)
    add_launcher_arguments(parser)
    add_debug_argument(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_runner_args(cfg: Config, args) -> Config:
    """``--cfg-options`` and ``--work-dir`` into ``cfg`` (the shared start
    of mmpretrain's ``merge_args``)."""
    merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    return cfg


def _current(cfg: Config, key: str):
    first, *rest = key.split('.')
    node = cfg.get(first)
    for part in rest:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """``cfg.merge_from_dict(options)``, where ``seq_len.<modality>=T``
    also works on an int ``seq_len`` (it becomes a per-modality dict) and
    a dict replaces a value that is no dict (``seq_len=dict(...)``).
    ``NormTRRunner`` then sends the top-level keys everywhere."""
    options = {k: dict(v, _delete_=True) if isinstance(v, dict) and
               not isinstance(_current(cfg, k), (dict, type(None))) else v
               for k, v in (options or {}).items()}
    per_modality = {k: v for k, v in options.items()
                    if k.startswith('seq_len.')}
    cfg.merge_from_dict({k: v for k, v in options.items()
                         if k not in per_modality})
    if per_modality:
        if isinstance(cfg.get('seq_len'), int):
            cfg.seq_len = {m: cfg.seq_len for m in cfg.modalities}
        if not isinstance(cfg.get('seq_len'), dict):
            raise ConfigError(f'{sorted(per_modality)} need an int or dict '
                              f"seq_len, found {cfg.get('seq_len')!r}")
        cfg.merge_from_dict(per_modality)
    return cfg


def set_mixed_precision(cfg: Config, dtype: str = None) -> None:
    """Mixed precision: mmengine's AmpOptimWrapper on GPU (fp16 by default,
    with a dynamic loss scale), bf16 autocast on CPU (no scaler needed)."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in ('OptimWrapper', 'AmpOptimWrapper',
                       'AutocastOptimWrapper'):
        raise ConfigError(f'mixed precision needs OptimWrapper, found '
                          f'{wrapper}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if dtype:
            cfg.optim_wrapper.dtype = dtype
    else:
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'


def enable_amp(cfg: Config) -> None:
    """``--amp``: fp16 AmpOptimWrapper on GPU, bf16 autocast on CPU."""
    set_mixed_precision(cfg)


def write_json(path: str, data: dict) -> None:
    """Write atomically (``normtr_plugin.utils.write_json``): never a
    half-written file, never NaN/Inf."""
    atomic.write_json(path, data)


def write_metrics(path: str, metrics: dict,
                  checkpoint: Optional[str] = None) -> dict:
    """The one metrics-file layout: flat ``{metric: value}`` plus
    ``checkpoint``, a path relative to the metrics file's folder (no
    absolute local path). Returns what was written."""
    data = dict(metrics)
    if checkpoint:
        data['checkpoint'] = osp.relpath(
            osp.abspath(checkpoint), osp.dirname(osp.abspath(path)))
    write_json(path, data)
    return data


def read_metrics(path: str) -> Tuple[dict, Optional[str]]:
    """``(metrics, checkpoint)`` of a file :func:`write_metrics` wrote;
    ``checkpoint`` made absolute again (None when absent)."""
    with open(path) as f:
        data = json.load(f)
    checkpoint = data.pop('checkpoint', None)
    if checkpoint is not None:
        checkpoint = osp.normpath(osp.join(osp.dirname(osp.abspath(path)),
                                           checkpoint))
    return data, checkpoint
