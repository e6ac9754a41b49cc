"""One training run per work dir at a time.

Two ``tools/train.py`` on one work dir interleave their checkpoints (one
run's best overwrites the other's, which deletes it). :func:`work_dir_lock`
holds an exclusive lock on ``WORK_DIR/.normtr_lock`` for the run's
lifetime: an ``flock`` on the file, which the kernel drops when the holder
dies (a killed run leaves a stale file, never a stale lock), and the
holder's pid and host in the file for the message. A second run is refused
with one line naming that pid. Under ``accelerate launch``/torchrun only
rank 0 locks (:func:`~.distributed.launch_rank`).

Holding the lock, the run removes what killed saves of earlier runs left
in the work dir (:func:`clean_leftovers`): temporary files of the project's
own names (``.tmp-<run file>-XXXXXXXX``, see
:func:`normtr_plugin.utils.atomic.atomic_path`) and stale staging folders
(:func:`normtr_plugin.utils.atomic.clean_stale_staging`).
"""
import fcntl
import json
import os
import os.path as osp
import re
import socket
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional

from ..utils.atomic import TMP_PREFIX, clean_stale_staging
from ..utils.errors import NormTRError
from .run_files import LEDGER, RUN_FILE

__all__ = ['LOCK_NAME', 'WorkDirBusyError', 'clean_leftovers',
           'work_dir_lock']

LOCK_NAME = '.normtr_lock'
# atomic_path's temporary name: prefix, target name, '-', mkstemp's 8 chars
_TMP_FILE = re.compile('^' + re.escape(TMP_PREFIX) +
                       r'(?P<name>.+)-[a-z0-9_]{8}$')


class WorkDirBusyError(NormTRError, RuntimeError):
    """Another training run holds the work dir."""


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode() or '{}')
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict):
        info = {}
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')}"
            + (f", started {info['started']}" if 'started' in info else ''))


def _try_lock(path: str) -> Optional[int]:
    """An fd holding the lock on ``path`` (the file that ``path`` names
    now), or None when another process holds it."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as err:  # a link, a folder, no permission
            raise WorkDirBusyError(
                f'cannot lock work dir {osp.dirname(path)!r}: {path} cannot'
                f' be opened as a lock file ({err.strerror}); remove it or '
                'choose another --work-dir') from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _busy(fd, path)
        try:  # the holder may have removed the file while we opened it
            same = os.stat(path, follow_symlinks=False).st_ino == \
                os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _busy(fd: int, path: str):
    holder = _holder(fd)
    os.close(fd)
    raise WorkDirBusyError(
        f'work dir {osp.dirname(path)!r} is in use by another training run '
        f'({holder}; lock file {path}): wait for it to finish, or choose '
        'another --work-dir')


@contextmanager
def work_dir_lock(work_dir: str, enabled: bool = True) -> Iterator[None]:
    """Hold the work dir's lock (creating the folder; removed again if the
    block leaves it empty) while the block runs; :class:`WorkDirBusyError`
    when another run holds it. ``enabled=False`` (ranks other than 0) does
    nothing."""
    if not enabled:
        yield
        return
    created = not osp.isdir(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    try:
        fd = _try_lock(path)
    except BaseException:
        _remove_if_empty(work_dir, created)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(dict(
            pid=os.getpid(), host=socket.gethostname(),
            started=time.strftime('%Y-%m-%d %H:%M:%S'))).encode(), 0)
        yield
    finally:
        try:
            os.remove(path)
        finally:
            os.close(fd)
        _remove_if_empty(work_dir, created)


def _remove_if_empty(work_dir: str, created: bool) -> None:
    """A work dir the lock created stays only if the run wrote into it."""
    if created:
        try:
            os.rmdir(work_dir)
        except OSError:  # not empty
            pass


def clean_leftovers(work_dir: str) -> List[str]:
    """Remove temporary files that killed saves left in ``work_dir`` (only
    the project's own names, regular files) and stale staging folders.
    Call it holding the lock: no run of ours writes there meanwhile.
    Returns the removed paths."""
    removed = clean_stale_staging(work_dir)
    try:
        names = os.listdir(work_dir)
    except OSError:
        return removed
    for name in names:
        match = _TMP_FILE.match(name)
        path = osp.join(work_dir, name)
        if match and (RUN_FILE.match(match.group('name')) or
                      match.group('name') == LEDGER) and \
                not osp.islink(path) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed
