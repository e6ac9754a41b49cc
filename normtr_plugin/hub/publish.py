"""Turn a training checkpoint into a Hub model repo folder (and push it).

``publish`` reads one of the project's mmengine checkpoints (without
unpickling anything beyond mmengine's own types), checks that it was trained
with the model the given config describes, loads its weights strictly, then
writes ``config.json`` + ``model.safetensors`` (``save_pretrained``),
``README.md`` (the model card), ``metrics.json`` and ``SHA256SUMS`` (the
digest of each, verified by ``from_pretrained``), and optionally uploads
the folder.

The folder is written whole: staged beside ``out_dir`` and renamed into
place in one step (``utils.atomic_dir``), so a killed publish leaves the
previous folder as it was, never new weights beside an old config or card.
An existing ``out_dir`` is replaced only with ``overwrite`` and only when
it holds exactly what ``publish`` wrote, unchanged (its marker file lists
that); a folder of one's own is refused, naming its files.

The test metrics come from, in order: a metrics JSON given (``metrics``),
a fresh test through mmengine's Runner (only with ``test=True``), or
``tools/train.py``'s ``test_metrics.json`` beside the checkpoint when it
was measured on that checkpoint; with none, the model is published without
results. Published files hold no local paths: ``metrics.json`` names the
checkpoint by its file name.
"""
import json
import logging
import math
import os.path as osp
import tempfile
import uuid
from typing import Dict, List, Optional, Tuple

from ..utils import atomic_dir, check_replaceable, require_finite, write_text
from .checksums import CHECKSUMS_NAME, write_checksums
from .config_text import ConfigTextError, read_assignment, redact_paths
from .dataset_info import dataset_info
from .card_safety import check_repo_id
from .model_card import render_model_card
from .pretrained import (CONFIG_NAME, WEIGHTS_NAME, PretrainedError,
                         load_state_dict_strict, push_to_hub, save_pretrained)
from ..utils.errors import MissingFileError

__all__ = ['PublishError', 'compare_model_configs', 'default_dataset_name',
           'evaluate_checkpoint', 'publish', 'read_metrics',
           'training_metrics']

README_NAME = 'README.md'
#: what tools/train.py writes into its work dir after the final test
TRAIN_METRICS_NAME = 'test_metrics.json'
METRICS_NAME = 'metrics.json'
#: What ``publish`` writes (and uploads): nothing else.
OUTPUT_FILES = (CONFIG_NAME, WEIGHTS_NAME, README_NAME, METRICS_NAME,
                CHECKSUMS_NAME)
_MISSING = object()


class PublishError(PretrainedError):
    """A checkpoint, config or metrics file that cannot be published."""


def _plain(value):
    """ConfigDicts/tuples -> plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _flatten(value, prefix: str) -> Dict[str, object]:
    if isinstance(value, dict) and value:
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f'{prefix}.{k}'))
        return out
    return {prefix: value}


def compare_model_configs(trained: dict, given: dict) -> List[str]:
    """Differences between two ``model`` sections, one line per dotted key
    (``'checkpoint was trained with model.embed_dim=128, --config says
    256'``). Key order is ignored (mmengine stores configs with sorted keys),
    tuples equal lists."""
    a = _flatten(_plain(trained), 'model')
    b = _flatten(_plain(given), 'model')
    diffs = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, _MISSING), b.get(key, _MISSING)
        if va == vb:
            continue
        if va is _MISSING:
            diffs.append(f'--config sets {key}={vb!r}, the checkpoint was '
                         'trained without it')
        elif vb is _MISSING:
            diffs.append(f'checkpoint was trained with {key}={va!r}, '
                         '--config does not set it')
        else:
            diffs.append(f'checkpoint was trained with {key}={va!r}, '
                         f'--config says {vb!r}')
    return diffs


def read_metrics(path: str) -> Tuple[Dict[str, float], Optional[str]]:
    """Metrics from ``tools/test.py --out`` (a flat dict) or from
    ``tools/train.py``'s ``test_metrics.json`` (both flat, ``checkpoint``
    relative to the file). Returns ``(metrics, checkpoint or None)``."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise PublishError(f'metrics file {path!r} not found') from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PublishError(f'metrics file {path!r} is not readable JSON: '
                           f'{err}') from None
    checkpoint = None
    if isinstance(data, dict) and isinstance(data.get('checkpoint'), str):
        data = dict(data)  # the tools' layout: checkpoint relative to path
        checkpoint = osp.join(osp.dirname(osp.abspath(path)),
                              data.pop('checkpoint'))
    if not isinstance(data, dict) or not data:
        raise PublishError(
            f'metrics file {path!r} holds {type(data).__name__} '
            f'{str(data)[:80]}, expected a non-empty object of metric '
            'values (tools/test.py --out, tools/train.py '
            'test_metrics.json)')
    bad = sorted(k for k, v in data.items()
                 if isinstance(v, bool) or not isinstance(v, (int, float)))
    if bad:
        raise PublishError(f'metrics file {path!r}: values of {bad} are not '
                           'numbers')
    bad = sorted(k for k, v in data.items() if not math.isfinite(v))
    if bad:
        raise PublishError(f'metrics file {path!r}: values of {bad} are not '
                           'finite (NaN/Inf); they are never published')
    return {str(k): float(v) for k, v in data.items()}, checkpoint


def default_dataset_name(cfg) -> str:
    """The test dataset's Hub id when it has one (``data_root`` as
    ``org/name`` or a Hub cache folder), ``synthetic-iemocap`` for the demo,
    else the data folder's name (``hub/dataset_info.py``)."""
    return dataset_info(cfg).name


def evaluate_checkpoint(checkpoint: str, config_path: str,
                        cfg_options: Optional[dict] = None
                        ) -> Dict[str, float]:
    """Test-split metrics of ``checkpoint`` through mmengine's Runner, as
    ``tools/test.py`` computes them (logs go to a temporary work dir)."""
    from mmengine.config import Config

    from ..engine import build_runner, merge_cfg_options
    with tempfile.TemporaryDirectory(prefix='normtr-publish-') as tmp:
        cfg = merge_cfg_options(Config.fromfile(config_path), cfg_options)
        cfg.work_dir, cfg.load_from = tmp, checkpoint
        # A fresh name per run: mmengine keeps one logger/visualizer/message
        # hub per experiment name in the process.
        cfg.experiment_name = f'publish_{uuid.uuid4().hex[:12]}'
        runner = build_runner(cfg)
        try:
            metrics = runner.test()
        finally:
            for handler in list(runner.logger.handlers):
                if isinstance(handler, logging.FileHandler):
                    handler.close()
                    runner.logger.removeHandler(handler)
    metrics = {str(k): float(v) for k, v in metrics.items()}
    require_finite(metrics, f'test metrics of checkpoint {checkpoint!r}')
    return metrics


def _same_file(a: str, b: str) -> bool:
    try:
        return osp.samefile(a, b)
    except OSError:
        return False


def _measured_on(measured: str, metrics_path: str) -> str:
    """The checkpoint a metrics file names, relative to its folder when it
    is a relative path that does not exist from here."""
    if osp.isabs(measured) or osp.exists(measured):
        return measured
    return osp.join(osp.dirname(osp.abspath(metrics_path)), measured)


def training_metrics(checkpoint: str) -> Optional[str]:
    """``tools/train.py``'s ``test_metrics.json`` in the checkpoint's
    folder, when it was measured on ``checkpoint`` (else None)."""
    path = osp.join(osp.dirname(osp.abspath(checkpoint)), TRAIN_METRICS_NAME)
    if not osp.isfile(path):
        return None
    try:
        _, measured = read_metrics(path)
    except PublishError:
        return None
    if measured and _same_file(_measured_on(measured, path), checkpoint):
        return path
    return None


def publish(config_path: str, checkpoint: str, out_dir: str,
            metrics: Optional[str] = None, test: bool = False,
            cfg_options: Optional[dict] = None,
            dataset_name: Optional[str] = None,
            repo_id: Optional[str] = None, api=None,
            overwrite: bool = False, license: Optional[str] = None,
            pipeline_tag: Optional[str] = None,
            license_name: Optional[str] = None) -> dict:
    """Write a Hub model folder for ``checkpoint`` and optionally push it.

    Args:
        config_path: the config ``checkpoint`` was trained with
            (``cfg_options`` merged, as for ``tools/test.py``).
        checkpoint: an mmengine ``.pth`` checkpoint of this project.
        out_dir: the folder to write: ``config.json``, ``model.safetensors``,
            ``README.md``, ``metrics.json``, ``SHA256SUMS`` (and the
            marker file listing them); written whole, atomically.
        metrics: a metrics JSON (``tools/test.py --out`` or
            ``test_metrics.json``); default: ``test_metrics.json`` beside
            the checkpoint if it was measured on it (module docstring).
        test: measure the test metrics afresh through the Runner (not
            with ``metrics``).
        dataset_name: name or Hub id of the dataset for the card; derived
            from the config if ``None`` (its Hub id when it has one, not a
            folder name: ``hub/dataset_info.py``).
        repo_id: ``org/name`` to push to; nothing is uploaded if ``None``.
        api: an ``HfApi``-like object for the upload (tests inject one).
        overwrite: replace an existing ``out_dir`` that ``publish`` wrote
            (holding nothing else, nothing changed since).
        license: the card's licence (an id of the Hub's list; ``other``
            needs ``license_name``); default: the dataset card's, else
            ``other``.
        pipeline_tag: the card's Hub task; default from the modalities.

    Returns:
        ``dict(out_dir, files, metrics, evaluated, dataset, repo_id,
        num_parameters, commit)``.

    Raises:
        MissingFileError: ``checkpoint`` or ``config_path`` is missing.
        PublishError: the checkpoint was trained with another model config,
            has no stored config, its weights do not fit, the metrics
            file is unreadable or not finite.
        OutputExistsError: ``out_dir`` exists (without ``overwrite``) or
            holds files ``publish`` did not write there.

    The checkpoint's stored config text is read as data (``config_text``),
    never executed.
    """
    from mmengine.config import Config

    from ..engine import (load_checkpoint_safely, merge_cfg_options,
                          propagate, write_json)
    from ..registry import MODELS, build_in_scope

    if not osp.isfile(checkpoint):
        raise MissingFileError(f'checkpoint {checkpoint!r} not found')
    if test and metrics is not None:
        raise PublishError('give either a metrics file (--metrics) or '
                           '--test, not both')
    check_replaceable(out_dir, overwrite)  # fail before the slow parts
    cfg = merge_cfg_options(Config.fromfile(config_path), cfg_options)
    propagate(cfg)  # top-level data_root/modalities/seq_len everywhere
    # ids and licence for the card, checked before anything slow or written
    info = dataset_info(cfg, dataset_name, license, license_name)
    check_repo_id(repo_id, 'repo id (--push-to-hub)')
    if metrics is None and not test:
        metrics = training_metrics(checkpoint)
    metrics_data = None
    if metrics is not None:  # fail early, before the slow parts
        metrics_data, measured = read_metrics(metrics)
        measured = measured and _measured_on(measured, metrics)
        if measured and osp.exists(measured) and \
                not _same_file(measured, checkpoint):
            raise PublishError(
                f'metrics file {metrics!r} was measured on checkpoint '
                f'{measured!r}, not on {checkpoint!r}')

    ckpt = load_checkpoint_safely(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict) or not isinstance(
            ckpt.get('state_dict'), dict):
        raise PublishError(f'checkpoint {checkpoint!r} has no state_dict: '
                           'not an mmengine training checkpoint')
    meta = ckpt.get('meta') or {}
    cfg_text = meta.get('cfg')
    if not isinstance(cfg_text, str) or not cfg_text.strip():
        raise PublishError(
            f"checkpoint {checkpoint!r} has no meta['cfg'] (the config "
            'mmengine stores when training): cannot check that it matches '
            f'{config_path!r}')
    try:
        trained_model = read_assignment(
            cfg_text, 'model', f"checkpoint {checkpoint!r} meta['cfg']")
    except ConfigTextError as err:
        raise PublishError(str(err)) from None
    diffs = compare_model_configs(
        trained_model if isinstance(trained_model, dict) else {},
        cfg.model.to_dict())
    if diffs:
        raise PublishError(
            f'checkpoint {checkpoint!r} does not match config '
            f'{config_path!r}' + (f' with --cfg-options {cfg_options}'
                                  if cfg_options else '') + ': '
            + '; '.join(diffs))

    model = build_in_scope(MODELS, cfg.model)
    load_state_dict_strict(model, ckpt['state_dict'],
                           f'checkpoint {checkpoint!r}')
    model.eval()

    evaluated = bool(test)
    if evaluated:
        metrics_data = evaluate_checkpoint(checkpoint, config_path,
                                           cfg_options)
    metrics_data = metrics_data or {}  # none measured: a card without
    dataset_name = info.name
    test_pipeline = _plain(cfg.test_dataloader.dataset.get('pipeline') or [])
    dataset_meta = meta.get('dataset_meta')
    with atomic_dir(out_dir, overwrite) as tmp:
        save_pretrained(model, tmp,
                        dataset_meta=_plain(dataset_meta) if dataset_meta
                        else None,
                        test_pipeline=test_pipeline,
                        extra=dict(metrics=metrics_data,
                                   dataset=dataset_name))
        with open(osp.join(tmp, CONFIG_NAME)) as f:
            config = json.load(f)
        card = render_model_card(config, metrics_data,
                                 redact_paths(cfg_text), dataset_name,
                                 repo_id, dataset_id=info.id,
                                 license=info.license,
                                 license_source=info.license_source,
                                 pipeline_tag=pipeline_tag,
                                 license_name=info.license_name)
        write_text(osp.join(tmp, README_NAME), card)
        write_json(osp.join(tmp, METRICS_NAME), dict(
            checkpoint=osp.basename(checkpoint), dataset=dataset_name,
            split='test', evaluated=evaluated, metrics=metrics_data))
        write_checksums(tmp, [n for n in OUTPUT_FILES
                              if n != CHECKSUMS_NAME])

    commit = None
    files = list(OUTPUT_FILES)
    if repo_id:  # exactly the files written here, nothing else in out_dir
        commit = push_to_hub(out_dir, repo_id, api=api, files=files)
    return dict(out_dir=out_dir, files=files, metrics=metrics_data,
                evaluated=evaluated, dataset=dataset_name, repo_id=repo_id,
                num_parameters=sum(p.numel() for p in model.parameters()),
                commit=commit)
