"""Which dataset a published model was trained on: its Hub id, a display
name and its licence, for the model card.

- **id**: the Hub dataset id when there is one: ``data_root`` given as
  ``org/name``, or a folder inside the Hugging Face cache
  (``.../datasets--org--name/snapshots/<commit>``), or an explicit id.
  A local folder's name is not an id: then the card's ``datasets``
  metadata is left out and the text names the folder.
- **license**: an explicit one, else the ``license`` of the dataset's card
  (``README.md`` front matter of the folder, or of the Hub dataset), else
  ``other`` (the weights inherit the dataset's terms; see the card).
  The synthetic demo task is this project's own: Apache-2.0.

Ids and licences follow the Hub's rules (``card_safety.py``): a licence
from the Hub's list (``other`` with a ``license_name``), a dataset id
that ``huggingface_hub`` accepts; a dataset card or an option that says
otherwise is refused, naming the value and where it came from.
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import Optional

from ..utils.errors import InputError
from ..utils.hub_id import is_hub_id, parse_hub_id
from .card_safety import check_license, check_repo_id

__all__ = ['DatasetInfo', 'card_license', 'dataset_info', 'hub_id_of']

SYNTHETIC = 'synthetic-iemocap'
_CACHE = re.compile(r'datasets--([^/]+?)--([^/]+?)(?:/|$)')


@dataclass
class DatasetInfo:
    name: str                 # shown in the card (id, or folder name)
    id: Optional[str]         # Hub dataset id, or None
    license: str              # licence id for the model card
    license_source: str       # where the licence came from (for the text)
    license_name: Optional[str] = None  # the name of a `license: other`


def hub_id_of(root: Optional[str]) -> Optional[str]:
    """The Hub dataset id of ``data_root`` (see the module docstring)."""
    if not root:
        return None
    root = str(root).rstrip('/')
    if is_hub_id(root):
        return parse_hub_id(root)
    match = _CACHE.search(osp.abspath(root) + '/')
    if match:
        return f'{match.group(1)}/{match.group(2)}'
    return None


def card_license(root: Optional[str]) -> Optional[tuple]:
    """``(license, license_name)`` from the front matter of the dataset's
    card (a local folder's README.md or a Hub dataset's card), checked
    against the Hub's rules, or None when it names no licence."""
    if not root:
        return None
    from huggingface_hub import DatasetCard
    local = osp.join(str(root), 'README.md')
    try:
        card = DatasetCard.load(local if osp.isfile(local) else str(root),
                                repo_type='dataset')
    except Exception:  # noqa: BLE001 (no card, offline, not a dataset)
        return None
    data = card.data.to_dict()
    value = data.get('license')
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else value
    if not value:
        return None
    name = data.get('license_name') if value == 'other' else None
    return check_license(value, name if name is not None else (
        'unknown' if value == 'other' else None),
        where=f"the dataset card of {str(root)!r}: license")


def dataset_info(cfg, name: Optional[str] = None,
                 license: Optional[str] = None,
                 license_name: Optional[str] = None) -> DatasetInfo:
    """The card's dataset facts for ``cfg``'s test data; ``name`` (an id
    when it has the form org/name) and ``license`` (with ``license_name``
    for ``other``) override."""
    ds = cfg.test_dataloader.dataset
    root = str(ds.get('data_root') or cfg.get('data_root') or '') or None
    synthetic = ds.get('type') == 'SyntheticIEMOCAPDataset'
    if name:
        hub_id = parse_hub_id(name)
    else:
        hub_id = None if synthetic else hub_id_of(root)
        name = SYNTHETIC if synthetic else hub_id or (
            osp.basename(osp.normpath(root)) if root else 'unknown')
    check_repo_id(hub_id, 'dataset id')
    if license:
        license, license_name = check_license(license, license_name,
                                              '--license')
        source = 'given'
    elif license_name is not None:
        raise InputError(f'--license-name {license_name!r} needs '
                         '--license other')
    elif synthetic:
        license, source = 'apache-2.0', 'synthetic data of this project'
    else:
        found = card_license(root) or (card_license(hub_id) if hub_id and
                                       hub_id != root else None)
        (license, license_name), source = (found, 'dataset card') if found \
            else (('other', 'unknown'), 'unknown')
    return DatasetInfo(name, hub_id, license, source, license_name)
