"""What a checkpoint was trained on, so that ``--resume`` cannot continue
another run.

Every checkpoint's ``meta['run_identity']`` (written by
:class:`RunIdentityHook`) holds:

- ``config_hash``: SHA-256 of the settings that decide what the weights
  and the optimizer state mean: ``model``, the train dataset (its
  pipeline, modalities, labels, task; not where it lives: ``data_root``),
  the train batch size and sampler, the optimizer, the parameter
  schedulers and ``train_cfg``. Logging, workers, devices, work dirs and
  mixed precision are left out.
- ``data``: the data's name (the folder or Hub id) and a content
  fingerprint: per split its size, schema, ids, labels and number of time
  steps per modality, plus the train feature statistics when present. A
  copy or a moved folder of the same data matches, other data does not.

``tools/train.py --resume`` compares them with the run it is asked for
(:func:`check_resume`) and refuses a mismatch unless ``--force``.
"""
import hashlib
import json
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.hooks import Hook

from ..registry import HOOKS
from .propagate import dataset_cfgs
from ..utils.errors import InputError

__all__ = ['IDENTITY_KEY', 'ResumeMismatchError', 'RunIdentityHook',
           'check_resume', 'config_hash', 'data_identity', 'data_name',
           'run_identity']

IDENTITY_KEY = 'run_identity'
_DATASET_SKIP = ('data_root', 'resident', 'revision', 'check_finite')


class ResumeMismatchError(InputError):
    """The checkpoint to resume was trained with other data or config."""


def _plain(value):
    return value.to_dict() if hasattr(value, 'to_dict') else value


def _train_dataset(cfg: Config) -> dict:
    leaves = [{k: v for k, v in _plain(ds).items() if k not in _DATASET_SKIP}
              for ds in dataset_cfgs(cfg.get('train_dataloader'))]
    loader = _plain(cfg.get('train_dataloader') or {})
    outer = _plain(loader.get('dataset') or {})
    wrapper = None
    if 'dataset' in outer or 'datasets' in outer:
        wrapper = {k: v for k, v in outer.items()
                   if k not in ('dataset', 'datasets')}
    return dict(leaves=leaves, wrapper=wrapper,
                batch_size=loader.get('batch_size'),
                sampler=loader.get('sampler'))


def config_hash(cfg: Config) -> str:
    """SHA-256 (hex) of the settings listed in the module docstring."""
    optim = _plain(cfg.get('optim_wrapper') or {})
    settings = dict(
        model=_plain(cfg.get('model')), train_data=_train_dataset(cfg),
        optimizer=_plain(optim.get('optimizer')),
        accumulative_counts=optim.get('accumulative_counts', 1),
        clip_grad=_plain(optim.get('clip_grad')),
        param_scheduler=_plain(cfg.get('param_scheduler')),
        train_cfg=_plain(cfg.get('train_cfg')))
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def data_name(root: Optional[str]) -> Optional[str]:
    """A short name for ``data_root``: the folder's name, or ``org__name``
    for a Hub id (what the default work dir and the identity show)."""
    if not root:
        return None
    root = str(root).rstrip('/')
    if not osp.exists(root) and root.count('/') == 1 and \
            not root.startswith(('.', '/', '~', 'data/')):
        return root.replace('/', '__')
    return osp.basename(osp.normpath(osp.abspath(root)))


def _train_root(cfg: Config) -> Optional[str]:
    roots = [ds.get('data_root') for ds in
             dataset_cfgs(cfg.get('train_dataloader'))]
    return next((r for r in roots if r), cfg.get('data_root'))


def data_identity(cfg: Config) -> dict:
    """``dict(name, root, fingerprint)`` of the train data (fingerprint
    None when the data cannot be read now)."""
    from .data_check import read_splits
    root = _train_root(cfg)
    identity = dict(name=data_name(root), root=str(root), fingerprint=None)
    if root is None:
        return identity
    try:
        splits = read_splits(str(root), cfg)
    except Exception:  # noqa: BLE001 (no data, no fingerprint)
        return identity
    digest = hashlib.sha256()
    for name in sorted(splits):
        digest.update(_split_summary(name, splits[name]).encode())
    stats = osp.join(str(root), 'feature_stats.json')
    if osp.isfile(stats):
        with open(stats, 'rb') as f:
            digest.update(f.read())
    identity['fingerprint'] = digest.hexdigest()[:16]
    return identity


def _steps(column) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    total = 0
    for chunk in column.chunks:
        rows = chunk.storage if isinstance(chunk, pa.ExtensionArray) \
            else chunk
        total += int(pc.sum(pc.list_value_length(rows)).as_py() or 0)
    return total


def _split_summary(name: str, ds) -> str:
    """Size, schema, ids, labels and time steps of one split."""
    table = ds.data
    arrays = [c for c, f in ds.features.items()
              if getattr(f, 'shape', None) is not None]
    others = [c for c in ds.column_names if c not in arrays]
    content = dict(
        split=name, rows=ds.num_rows, features=repr(ds.features),
        columns={c: hashlib.sha256(json.dumps(
            table.column(c).to_pylist(), default=repr).encode()
        ).hexdigest() for c in others},
        steps={c: _steps(table.column(c)) for c in arrays})
    return json.dumps(content, sort_keys=True)


def run_identity(cfg: Config) -> dict:
    return dict(config_hash=config_hash(cfg), data=data_identity(cfg))


def _describe(identity: dict) -> str:
    data = identity.get('data') or {}
    fp = data.get('fingerprint')
    return (f"data {data.get('name')!r} ({data.get('root')}"
            + (f', fingerprint {fp}' if fp else '') + '), config hash '
            f"{str(identity.get('config_hash'))[:12]}")


def check_resume(cfg: Config, checkpoint: dict, path: str,
                 force: bool = False) -> Optional[str]:
    """Refuse to resume ``checkpoint`` (at ``path``) into ``cfg``'s run when
    their data or config differ (:class:`ResumeMismatchError`); with
    ``force``, or for a checkpoint without an identity, return a warning
    line instead (None when they match)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    stored = meta.get(IDENTITY_KEY) if isinstance(meta, dict) else None
    if not isinstance(stored, dict):
        return (f'--resume: checkpoint {path!r} records no run identity '
                '(written before it was stored); cannot check that it was '
                'trained on the same data and config')
    current = run_identity(cfg)
    differ = []
    old_fp = (stored.get('data') or {}).get('fingerprint')
    new_fp = current['data']['fingerprint']
    if old_fp and new_fp and old_fp != new_fp:
        differ.append('data')
    if stored.get('config_hash') != current['config_hash']:
        differ.append('config')
    if not differ:
        return None
    message = (f"--resume: checkpoint {path!r} was trained with "
               f"{_describe(stored)}; this run has {_describe(current)}: "
               f"the {' and the '.join(differ)} differ")
    if force:
        return message + '; resuming anyway (--force)'
    raise ResumeMismatchError(
        message + '. Resuming would continue another run\'s weights and '
        'optimizer state: train afresh (e.g. another --work-dir), or pass '
        '--force to resume anyway')


@HOOKS.register_module()
class RunIdentityHook(Hook):
    """Store :func:`run_identity` of the run's config in every checkpoint's
    ``meta['run_identity']`` (computed once, at the first save)."""

    priority = 'LOW'

    def __init__(self):
        self._identity = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._identity is None:
            self._identity = run_identity(runner.cfg)
        checkpoint.setdefault('meta', {})[IDENTITY_KEY] = self._identity
