"""Trained NORM-TR models as Hub repos: config.json + model.safetensors.

The conventions of huggingface_hub's ``PyTorchModelHubMixin``: the config
is captured from plain JSON init arguments, weights are safetensors only,
files come through ``huggingface_hub`` (cache, revisions, offline mode).
Pickled weights (.bin/.pt/.pth/.ckpt) from a repo are never loaded.
``SHA256SUMS`` (``checksums.py``) records the digest of both files; they
are verified on every load where it is present.
"""
import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..registry import MODELS, build_in_scope
from ..utils import atomic_path, require_finite, write_text
from ..utils.errors import InputError
from ..utils.hub_id import check_revision, parse_hub_id
from ..utils.state_dict import state_dict_problems
from ..version import __version__
from .checksums import CHECKSUMS_NAME, verify_checksums, write_checksums
from .config_guard import check_pretrained_config

CONFIG_NAME = 'config.json'
WEIGHTS_NAME = 'model.safetensors'
PICKLE_SUFFIXES = ('.bin', '.pt', '.pth', '.ckpt', '.pkl')
ARCHITECTURES = ('NormTR',)


class PretrainedError(InputError):
    """A pretrained repo or folder that cannot be used as it is."""


def save_pretrained(model, save_dir: str, dataset_meta: Optional[dict] = None,
                    test_pipeline: Optional[list] = None,
                    extra: Optional[dict] = None) -> str:
    """Write ``config.json`` and ``model.safetensors`` to ``save_dir``.

    ``config.json`` holds the full component config (``model.config``), the
    dataset meta (task, label names, classes, feature statistics) and the
    test pipeline, so ``from_pretrained`` rebuilds the model from the
    registry alone. Each file is written atomically (temporary name, fsync,
    rename; umask permissions); the weights first, ``SHA256SUMS`` of both
    last.
    """
    config = dict(architecture=model.config['type'],
                  library_name='normtr_plugin', library_version=__version__,
                  model=model.config, dataset_meta=dataset_meta or {},
                  test_pipeline=test_pipeline or [], **(extra or {}))
    require_finite(config, f'{CONFIG_NAME} for {save_dir}')
    text = json.dumps(config, indent=2, allow_nan=False)
    weights = {k: v.detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    os.makedirs(save_dir, exist_ok=True)
    with atomic_path(osp.join(save_dir, WEIGHTS_NAME)) as tmp:
        save_file(weights, tmp, metadata={'format': 'pt'})
    write_text(osp.join(save_dir, CONFIG_NAME), text)
    write_checksums(save_dir, (CONFIG_NAME, WEIGHTS_NAME))
    return save_dir


def glob_escape(name: str) -> str:
    """``name`` as an fnmatch pattern that matches only itself."""
    return ''.join(f'[{c}]' if c in '*?[' else c for c in name)


def _remote_files(repo_id: str, revision: Optional[str]) -> list:
    from huggingface_hub import HfApi, constants
    if constants.HF_HUB_OFFLINE:
        return []
    try:
        return HfApi().list_repo_files(repo_id, revision=revision)
    except Exception:  # noqa: BLE001 (listing only improves the message)
        return []


def _cached_files(repo_id: str, revision: Optional[str],
                  cache_dir: Optional[str]) -> Optional[list]:
    """Files of the cached snapshot for ``revision``, or None if not cached.
    """
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name
    repo = osp.join(cache_dir or constants.HF_HUB_CACHE,
                    repo_folder_name(repo_id=repo_id, repo_type='model'))
    commit = revision or 'main'
    ref = osp.join(repo, 'refs', commit)
    if osp.isfile(ref):
        with open(ref) as f:
            commit = f.read().strip()
    snapshot = osp.join(repo, 'snapshots', commit)
    if not osp.isdir(snapshot):
        return None
    return [osp.relpath(osp.join(d, f), snapshot)
            for d, _, files in os.walk(snapshot) for f in files]


def _refuse_pickles(where: str, files) -> None:
    pickles = sorted(f for f in files if f.endswith(PICKLE_SUFFIXES))
    detail = (f' It holds pickled weights {pickles}: they are never '
              'unpickled from a repo, as unpickling can run code. Convert '
              'them to model.safetensors (tools/publish.py does this).'
              if pickles else '')
    raise PretrainedError(f'{where} has no {WEIGHTS_NAME}.{detail}')


def resolve_files(repo_id_or_dir: str, revision: Optional[str] = None,
                  cache_dir: Optional[str] = None,
                  log: Optional[Callable[[str], None]] = None
                  ) -> Tuple[str, str]:
    """Local paths of ``config.json`` and ``model.safetensors``, verified
    against the ``SHA256SUMS`` beside them where there is one (logged
    either way, to ``log`` or the ``normtr_plugin`` logger; a mismatch is a
    :class:`~.checksums.ChecksumError`).
    """
    paths = _resolve_files(repo_id_or_dir, revision, cache_dir)
    verify_checksums(_checksums_path(repo_id_or_dir, revision, cache_dir),
                     dict(zip((CONFIG_NAME, WEIGHTS_NAME), paths)),
                     repr(repo_id_or_dir), log)
    return paths


def _checksums_path(repo_id_or_dir: str, revision: Optional[str],
                    cache_dir: Optional[str]) -> Optional[str]:
    """``SHA256SUMS`` of a folder or Hub repo, None where it has none."""
    repo_id = parse_hub_id(repo_id_or_dir)
    if repo_id is None:
        path = osp.join(repo_id_or_dir, CHECKSUMS_NAME)
        return path if osp.isfile(path) else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    try:
        return hf_hub_download(repo_id, CHECKSUMS_NAME, revision=revision,
                               cache_dir=cache_dir)
    except EntryNotFoundError:  # also: offline and not in the cache
        return None
    except Exception as err:  # noqa: BLE001
        raise PretrainedError(f'could not fetch {CHECKSUMS_NAME} of Hub '
                              f'model {repo_id!r}: {type(err).__name__}: '
                              f'{err}') from None


def _resolve_files(repo_id_or_dir: str, revision: Optional[str] = None,
                   cache_dir: Optional[str] = None) -> Tuple[str, str]:
    """Local paths of ``config.json`` and ``model.safetensors``.

    A folder is used as it is; a Hub model id (``org/name`` or
    ``hf://org/name``, decided by :func:`~normtr_plugin.utils.hub_id.
    parse_hub_id`) is fetched through ``hf_hub_download`` (so the cache,
    ``revision`` and ``HF_HUB_OFFLINE`` work as everywhere in the Hugging
    Face stack); anything else is a :class:`PretrainedError`.
    """
    revision = check_revision(revision)
    repo_id = parse_hub_id(repo_id_or_dir)
    if repo_id is None and osp.isdir(repo_id_or_dir):
        paths = [osp.join(repo_id_or_dir, n)
                 for n in (CONFIG_NAME, WEIGHTS_NAME)]
        if not osp.isfile(paths[0]):
            raise PretrainedError(f'folder {repo_id_or_dir!r} has no '
                                  f'{CONFIG_NAME}')
        if not osp.isfile(paths[1]):
            _refuse_pickles(f'folder {repo_id_or_dir!r}',
                            os.listdir(repo_id_or_dir))
        return paths[0], paths[1]
    if repo_id is None:
        raise PretrainedError(f'{repo_id_or_dir!r} is neither a folder nor '
                              'a Hub model id (ORG/NAME or hf://ORG/NAME)')
    repo_id_or_dir = repo_id
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError,
                                        LocalEntryNotFoundError)
    where = f'Hub model {repo_id_or_dir!r}' + (
        f' at revision {revision!r}' if revision else '')
    paths = []
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        try:
            paths.append(hf_hub_download(repo_id_or_dir, name,
                                         revision=revision,
                                         cache_dir=cache_dir))
        except LocalEntryNotFoundError:
            # Offline (or Hub unreachable) and not in the cache. A subclass
            # of EntryNotFoundError: must come first.
            cached = _cached_files(repo_id_or_dir, revision, cache_dir)
            if cached is None:
                raise PretrainedError(
                    f'{where} is not in the local Hugging Face cache and the '
                    'Hub cannot be reached (HF_HUB_OFFLINE=1 or no network):'
                    ' download it while online, or pass a local folder'
                    ) from None
            if name == WEIGHTS_NAME:
                _refuse_pickles(where + ' (cached snapshot)', cached)
            raise PretrainedError(f'{where} has no {name} (cached snapshot '
                                  f'holds {sorted(cached)})') from None
        except EntryNotFoundError:
            if name == WEIGHTS_NAME:
                _refuse_pickles(where, _remote_files(repo_id_or_dir,
                                                     revision))
            raise PretrainedError(f'{where} has no {name}') from None
        except Exception as err:  # noqa: BLE001
            raise PretrainedError(
                f'could not fetch {name} of {where}: '
                f'{type(err).__name__}: {err}') from None
    return paths[0], paths[1]


def load_pretrained_config(path: str) -> dict:
    """Read and check a ``config.json`` written by ``save_pretrained`` (not
    an mmengine config file: that is ``Config.fromfile``).

    Nothing is built here; every ``type`` in it is checked against this
    plugin's registries (``config_guard``) and the saved feature statistics
    must be finite, so that ``from_pretrained`` builds only known parts.
    """
    try:
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
    except (OSError, ValueError) as err:  # ValueError: not UTF-8 / JSON
        raise PretrainedError(f'{path}: not a readable JSON config '
                              f'({err})') from None
    arch = config.get('architecture') if isinstance(config, dict) else None
    if arch not in ARCHITECTURES or not isinstance(config.get('model'),
                                                   dict):
        found = arch or (config.get('model_type') or config.get(
            'architectures') if isinstance(config, dict) else None)
        raise PretrainedError(
            f'{path} describes architecture {found!r}, not one of '
            f'{list(ARCHITECTURES)}: it was not written by normtr_plugin')
    check_pretrained_config(config, path)
    meta = config.get('dataset_meta')
    if isinstance(meta, dict) and meta.get('feature_stats') is not None:
        from ..datasets.feature_format import check_feature_stats
        check_feature_stats(meta['feature_stats'],
                            f'{path} dataset_meta.feature_stats')
    return config


def load_pretrained_weights(path: str) -> dict:
    """The tensors of a ``model.safetensors`` written by ``save_pretrained``,
    with a clear error if damaged."""
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise PretrainedError(f'{path}: corrupted or truncated safetensors '
                              f'file ({err})') from None


def load_state_dict_strict(module: torch.nn.Module, state: dict,
                           where: str) -> None:
    """``load_state_dict`` that names missing, unexpected and misshapen keys.
    """
    problems = state_dict_problems(module.state_dict(), state)
    if problems:
        raise PretrainedError(f'weights of {where} do not fit the model: '
                              + '; '.join(problems))
    module.load_state_dict(state, strict=True)


def from_pretrained(repo_id_or_dir: str, revision: Optional[str] = None,
                    cache_dir: Optional[str] = None,
                    map_location: str = 'cpu'):
    """Rebuild a model from the registry and load its weights, strictly.

    The model comes back in eval mode with ``model.pretrained_config`` (the
    whole ``config.json``: dataset meta, label names, feature statistics,
    test pipeline).
    """
    config_path, weights_path = resolve_files(repo_id_or_dir, revision,
                                              cache_dir)
    config = load_pretrained_config(config_path)
    try:  # the config is the publisher's: a bad value is its fault
        model = build_in_scope(MODELS, config['model'])
    except Exception as err:  # noqa: B902 - any error of the build
        text = ' '.join(str(err).split())[:300]
        raise PretrainedError(f'{config_path}: the model it describes '
                              f'cannot be built ({type(err).__name__}: '
                              f'{text})') from None
    state = load_pretrained_weights(weights_path)
    load_state_dict_strict(model, state, repo_id_or_dir)
    model.pretrained_config = config
    return model.to(map_location).eval()


def push_to_hub(folder: str, repo_id: str, private: bool = False,
                revision: Optional[str] = None, api=None,
                commit_message: Optional[str] = None,
                files: Optional[Sequence[str]] = None):
    """Upload a ``save_pretrained`` folder (and its README) as a model repo.

    Only the named ``files`` are uploaded (default: ``config.json``,
    ``model.safetensors``, ``SHA256SUMS`` and ``README.md`` if present),
    never whatever
    else lies in ``folder`` (a stray JSON could hold credentials).
    ``api`` defaults to ``huggingface_hub.HfApi()``; tests inject their own.
    """
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not osp.isfile(osp.join(folder, name)):
            raise PretrainedError(f'{folder!r} has no {name}: write it with '
                                  'save_pretrained first')
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi()
    api.create_repo(repo_id, repo_type='model', private=private,
                    exist_ok=True)
    if revision:
        api.create_branch(repo_id, branch=revision, repo_type='model',
                          exist_ok=True)
    if files is None:
        files = [CONFIG_NAME, WEIGHTS_NAME] + [
            n for n in (CHECKSUMS_NAME, 'README.md')
            if osp.isfile(osp.join(folder, n))]
    missing = [f for f in files if not osp.isfile(osp.join(folder, f))]
    if missing:
        raise PretrainedError(f'{folder!r} has no {missing}: nothing was '
                              'uploaded')
    return api.upload_folder(
        folder_path=folder, repo_id=repo_id, repo_type='model',
        revision=revision, allow_patterns=[glob_escape(f) for f in files],
        commit_message=commit_message or 'Upload NORM-TR (normtr_plugin)')
