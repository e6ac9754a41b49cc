"""The one rule that decides whether a name is a Hugging Face Hub id.

Datasets (``data_root``), pretrained models and model cards all ask
:func:`parse_hub_id`; nothing else guesses. The rule, in order:

1. ``hf://org/name`` is always a Hub id (``org/name``), even when a local
   path of that name exists; a malformed one is an :class:`InputError`.
2. An existing local path (file or folder) is always local.
3. ``org/name`` (exactly two non-empty parts of letters, digits, ``-``,
   ``_`` and ``.``; not starting with ``.`` or ``~``) is a Hub id, unless
   its first part is ``data`` (the project's local data folder, so a
   missing ``data/mosi`` is reported as a missing folder, not fetched)
   or an existing local folder.
4. Anything else (absolute paths, ``./x``, ``a/b/c``) is local.
"""
import os.path as osp
import re
from typing import Optional

from .errors import InputError

__all__ = ['HUB_SCHEME', 'is_hub_id', 'parse_hub_id']

HUB_SCHEME = 'hf://'
#: first path parts that are always local folders
LOCAL_ROOTS = ('data',)
_PART = r'[A-Za-z0-9_][A-Za-z0-9_.-]*'
_ID = re.compile(rf'^{_PART}/{_PART}$')


def parse_hub_id(name) -> Optional[str]:
    """The Hub id ``org/name`` that ``name`` denotes, or ``None`` when it is
    a local path (see the module docstring for the rule)."""
    if not isinstance(name, str) or not name:
        return None
    if name.startswith(HUB_SCHEME):
        repo = name[len(HUB_SCHEME):].strip('/')
        if not _ID.match(repo):
            raise InputError(f'{name!r} is not a Hub id: expected '
                             f'{HUB_SCHEME}ORG/NAME')
        return repo
    if osp.exists(name):
        return None
    repo = name.rstrip('/')
    if not _ID.match(repo):
        return None
    first = repo.split('/', 1)[0]
    if first in LOCAL_ROOTS or osp.isdir(first):
        return None
    return repo


def is_hub_id(name) -> bool:
    """Whether ``name`` denotes a Hub repo (:func:`parse_hub_id`)."""
    return parse_hub_id(name) is not None
