"""Hub-style dataset folders (parquet + card) and publishing to the Hub."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional

import datasets as hf

from ..utils import atomic_dir, check_replaceable
from .feature_format import STATS_FILE


def _split_card(card: str):
    """(YAML header lines, body) of a card with an optional front matter."""
    if card.startswith('---\n'):
        end = card.find('\n---', 4)
        if end != -1:
            return card[4:end].strip('\n'), card[end + 4:].lstrip('\n')
    return '', card


def hub_card(card: str, splits) -> str:
    """The card with a ``configs`` header declaring the parquet splits."""
    header, body = _split_card(card)
    files = '\n'.join(f'  - split: {s}\n    path: data/{s}-*' for s in splits)
    configs = f'configs:\n- config_name: default\n  data_files:\n{files}'
    header = f'{header}\n{configs}' if header else configs
    return f'---\n{header}\n---\n{body}'


def _parquet_name(split: str) -> str:
    return f'{split}-00000-of-00001.parquet'


def export_hub_folder(saved_dir: str, out_dir: str,
                      overwrite: bool = False) -> str:
    """Turn a converted (``save_to_disk``) dataset into a Hub repo folder.

    Layout: ``data/{split}-00000-of-00001.parquet``, ``README.md`` (the
    card, with a header that declares configs and splits), and
    ``feature_stats.json``. Splits get the union of all columns (a modality
    a split lacks is null there), as one Hub config needs one schema.
    Written to a staging folder, then renamed (``utils.atomic_dir``); an
    existing ``out_dir`` is replaced only with ``overwrite`` and only if
    this project wrote it.
    """
    check_replaceable(out_dir, overwrite)
    splits = hf.load_from_disk(saved_dir)
    features = {}
    for ds in splits.values():
        features.update(ds.features)
    features = hf.Features(features)
    with atomic_dir(out_dir, overwrite) as tmp:
        os.makedirs(osp.join(tmp, 'data'))
        for name, ds in splits.items():
            for column in features:
                if column not in ds.column_names:
                    ds = ds.add_column(column, [None] * len(ds))
            ds = ds.select_columns(list(features)).cast(features)
            ds.to_parquet(osp.join(tmp, 'data', _parquet_name(name)))
        card_path = osp.join(saved_dir, 'README.md')
        card = open(card_path).read() if osp.isfile(card_path) else ''
        with open(osp.join(tmp, 'README.md'), 'w') as f:
            f.write(hub_card(card, list(splits)))
        stats = osp.join(saved_dir, STATS_FILE)
        if osp.isfile(stats):
            shutil.copy(stats, osp.join(tmp, STATS_FILE))
    return out_dir


def push_feature_dataset(saved_dir: str, repo_id: str,
                         private: bool = False, api=None,
                         commit_message: Optional[str] = None) -> str:
    """Publish a converted dataset as a Hub dataset repo ``repo_id``.

    ``api`` defaults to ``huggingface_hub.HfApi()``; tests inject their own.
    Uploads exactly the files written for it (parquet splits, card,
    statistics). Returns the commit URL (whatever ``upload_folder`` returns).
    """
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi()
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_hub_folder(saved_dir, osp.join(tmp, 'repo'))
        files = ['README.md'] + [f'data/{_parquet_name(s)}' for s in
                                 hf.load_from_disk(saved_dir)]
        if osp.isfile(osp.join(folder, STATS_FILE)):
            files.append(STATS_FILE)
        api.create_repo(repo_id, repo_type='dataset', private=private,
                        exist_ok=True)
        return api.upload_folder(
            folder_path=folder, repo_id=repo_id, repo_type='dataset',
            allow_patterns=files,
            commit_message=commit_message or
            f'Upload {osp.basename(osp.abspath(saved_dir))} (normtr_plugin)')
