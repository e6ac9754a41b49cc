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

A revision (``hf://org/name@REV`` in ``load_from``, ``--revision``) is a
branch, tag or commit: :func:`check_revision` refuses an empty one or one
that cannot be a Git ref, before anything is fetched.
"""
import os.path as osp
import re
from typing import Optional

from .errors import InputError

__all__ = ['HUB_SCHEME', 'check_revision', 'is_hub_id', 'parse_hub_id',
           'split_revision']

HUB_SCHEME = 'hf://'
#: first path parts that are always local folders
LOCAL_ROOTS = ('data',)
_PART = r'[A-Za-z0-9_][A-Za-z0-9_.-]*'
_ID = re.compile(rf'^{_PART}/{_PART}$')
#: a branch, tag or commit hash (Git ref rules, simplified)
_REVISION = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.+/-]*$')


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


def check_revision(revision, where: str = 'revision') -> Optional[str]:
    """``revision`` when it can name a branch, tag or commit (``None``:
    the default branch); else an :class:`InputError` naming ``where``."""
    if revision is None:
        return None
    if not isinstance(revision, str) or not _REVISION.match(revision) or \
            '..' in revision or revision.endswith(('/', '.lock')):
        what = 'is empty' if revision == '' else 'is not one'
        raise InputError(f'{where}: {revision!r} {what}; expected a Hub '
                         'revision (a branch, tag or commit hash, e.g. main)')
    return revision


def split_revision(name: str):
    """``'hf://org/name@REV'`` -> ``('hf://org/name', 'REV')``; without
    ``@``: ``(name, None)``. An empty or malformed ``REV`` is refused."""
    body = name[len(HUB_SCHEME):] if name.startswith(HUB_SCHEME) else name
    if '@' not in body or body.startswith('/'):
        return name, None
    target, revision = name.rsplit('@', 1)
    return target, check_revision(revision, f'revision of {name!r}')
