"""Where a dataset comes from: a saved folder, a Hub-style folder, a Hub id.

Everything goes through Hugging Face ``datasets`` (no download code of our
own); the data stays memory-mapped Arrow.
"""
import os
import os.path as osp
from typing import Optional, Tuple

import datasets as hf

from ..utils.hub_id import check_revision, is_hub_id, parse_hub_id
from .feature_format import STATS_FILE, read_feature_stats
from ..utils.errors import InputError, MissingFileError

PREPARE_HINT = (
    'Prepare it with `python tools/convert_dataset.py FORMAT SRC --out DIR` '
    '(formats: mmsa, mult, cmu-h5; see docs/datasets.md) and point data_root '
    'at DIR, e.g. `--cfg-options data_root=DIR`')


def _offline() -> bool:
    return any(os.environ.get(v, '').lower() in ('1', 'true', 'yes', 'on')
               for v in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE'))


def load_splits(source: str, revision: Optional[str] = None
                ) -> Tuple[hf.DatasetDict, Optional[dict]]:
    """Return all splits of ``source`` and its feature statistics (or None).

    ``source`` is a folder written by ``save_to_disk`` (the converters'
    output), a Hub-style folder (parquet files and a README that declares
    configs and splits), or a Hub dataset id (``org/name``, at
    ``revision``).
    """
    if osp.isdir(source):
        if osp.isfile(osp.join(source, 'dataset_dict.json')):
            splits = hf.load_from_disk(source)
        else:
            splits = _load_dataset(source, None, f'folder {source!r}')
        return splits, _read_stats(osp.join(source, STATS_FILE))
    if not is_hub_id(source):
        raise MissingFileError(
            f'dataset folder {source!r} not found (and it is not a Hub id '
            f'of the form org/name). {PREPARE_HINT}')
    source = parse_hub_id(source)
    revision = check_revision(revision)
    where = f'Hub dataset {source!r}' + (f' at revision {revision!r}'
                                         if revision else '')
    splits = _load_dataset(source, revision, where)
    return splits, _hub_stats(source, revision)


def _load_dataset(path: str, revision: Optional[str],
                  where: str) -> hf.DatasetDict:
    try:
        splits = hf.load_dataset(path, revision=revision)
    except (ConnectionError, FileNotFoundError, OSError, ValueError) as err:
        mode = (' HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set, so only the '
                'local cache was tried.' if _offline() else '')
        raise MissingFileError(
            f'could not load {where}: {type(err).__name__}: {err}.{mode} '
            f'{PREPARE_HINT}') from None
    if not isinstance(splits, hf.DatasetDict):
        raise InputError(f'{where} did not give named splits')
    return splits


def _hub_stats(repo_id: str, revision: Optional[str]) -> Optional[dict]:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    try:
        path = hf_hub_download(repo_id, STATS_FILE, repo_type='dataset',
                               revision=revision)
    except EntryNotFoundError:
        return None
    return _read_stats(path)


def _read_stats(path: str) -> Optional[dict]:
    """``feature_stats.json`` (every statistic checked finite), or None."""
    if not osp.isfile(path):
        return None
    return read_feature_stats(path)
