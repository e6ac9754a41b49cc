"""Crash-safe writes: a file or a folder appears complete, or not at all.

The one place where this project writes files that must survive a kill:

- :func:`atomic_write` / :func:`atomic_path`: one file, written to a hidden
  temporary name in the same folder, flushed and fsynced, given the
  permissions the umask allows (``0o666 & ~umask``), then ``os.replace``-d
  over the target.
- :class:`StagingDir` / :func:`atomic_dir`: a whole folder, staged in a
  hidden ``.tmp-*`` sibling that carries the project's marker file
  (:data:`MARKER`), then renamed into place. An existing folder is replaced
  only with ``overwrite`` *and* only when it carries the marker, i.e. when
  this project wrote it. Staging folders left by a killed run (their writer's
  process is gone) are removed by the next run in the same parent folder.
"""
import json
import os
import os.path as osp
import shutil
import socket
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator, Optional

from .errors import InputError, OutputExistsError

__all__ = ['MARKER', 'TMP_PREFIX', 'StagingDir', 'atomic_dir',
           'atomic_path', 'atomic_write', 'check_replaceable',
           'clean_stale_staging', 'current_umask', 'is_ours', 'write_json',
           'write_text']

#: File written into every folder this project creates as a whole.
MARKER = '.normtr_plugin'
#: Prefix of temporary files and staging folders.
TMP_PREFIX = '.tmp-'


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:  # pragma: no cover - not Linux
        pass
    mask = os.umask(0o022)  # pragma: no cover
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def _fsync_dir(folder: str) -> None:
    """Persist a rename in ``folder`` (best effort: not every OS allows it).
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it replaces
    ``path`` (fsynced, umask permissions), on error it is removed.

    For libraries that want a file name (``safetensors.save_file``).
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder,
                               prefix=f'{TMP_PREFIX}{osp.basename(path)}-')
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


@contextmanager
def atomic_write(path: str, mode: str = 'w',
                 encoding: Optional[str] = None) -> Iterator[IO]:
    """``open(path, mode)`` that never leaves a half-written ``path``.

    ``mode`` is ``'w'`` or ``'wb'``; text defaults to UTF-8.
    """
    if mode not in ('w', 'wb'):
        raise InputError(f"atomic_write mode must be 'w' or 'wb', got "
                         f'{mode!r}')
    if mode == 'w' and encoding is None:
        encoding = 'utf-8'
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    with atomic_write(path) as f:
        f.write(text)
    return path


def write_json(path: str, data, indent: int = 2) -> str:
    """Write strict JSON atomically. NaN/Inf are refused (they are not JSON,
    and never a result) with :class:`~.finite.NonFiniteError`."""
    from .finite import require_finite
    require_finite(data, f'refusing to write {path}: the data')
    text = json.dumps(data, indent=indent, allow_nan=False)
    return write_text(path, text)


# ---------------------------------------------------------------- folders
def is_ours(folder: str) -> bool:
    """Whether ``folder`` carries this project's marker file."""
    return osp.isdir(folder) and not osp.islink(folder) and \
        osp.isfile(osp.join(folder, MARKER))


def check_replaceable(out_dir: str, overwrite: bool) -> None:
    """Refuse an existing ``out_dir`` unless ``overwrite`` is given and this
    project wrote it (it carries :data:`MARKER`)."""
    if not osp.lexists(out_dir):
        return
    if not overwrite:
        raise OutputExistsError(f'{out_dir!r} exists; pass overwrite=True '
                                '(--overwrite) to replace it')
    if not is_ours(out_dir):
        raise OutputExistsError(
            f'refusing to replace {out_dir!r}: it was not written by '
            f'normtr_plugin (it has no {MARKER} marker file), so it may '
            'hold files of your own; remove it yourself or choose another '
            'output folder')


def _marker_data() -> dict:
    return dict(written_by='normtr_plugin', pid=os.getpid(),
                host=socket.gethostname())


def _writer_gone(marker: dict) -> bool:
    """True when the process that staged a folder no longer runs here."""
    if marker.get('host') != socket.gethostname():
        return False
    pid = marker.get('pid')
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def clean_stale_staging(parent: str) -> list:
    """Remove ``.tmp-*`` staging folders in ``parent`` left by a killed run:
    only those carrying :data:`MARKER` whose writer process is gone.
    Returns the removed paths."""
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        path = osp.join(parent, name)
        if not name.startswith(TMP_PREFIX) or not is_ours(path):
            continue
        try:
            with open(osp.join(path, MARKER)) as f:
                marker = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and _writer_gone(marker):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class StagingDir:
    """A hidden staging folder that :meth:`commit` renames to ``out_dir``.

    Created beside ``out_dir`` (same file system), with :data:`MARKER`
    inside; leftovers of killed runs in that parent are cleaned first.
    """

    def __init__(self, out_dir: str, overwrite: bool = False):
        self.out_dir, self.overwrite = os.fspath(out_dir), overwrite
        check_replaceable(self.out_dir, overwrite)
        parent = osp.dirname(osp.abspath(self.out_dir))
        os.makedirs(parent, exist_ok=True)
        clean_stale_staging(parent)
        self.path = tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent)
        with open(osp.join(self.path, MARKER), 'w') as f:
            json.dump(_marker_data(), f)

    def commit(self) -> str:
        """Move the staged folder to ``out_dir`` (replacing a folder of ours
        only with ``overwrite``); returns ``out_dir``."""
        check_replaceable(self.out_dir, self.overwrite)
        mode = 0o777 & ~current_umask()
        for root, dirs, _ in os.walk(self.path):
            for d in dirs:
                os.chmod(osp.join(root, d), mode)
        os.chmod(self.path, mode)
        parent = osp.dirname(osp.abspath(self.out_dir))
        old = None
        if osp.lexists(self.out_dir):
            old = tempfile.mkdtemp(prefix=f'{TMP_PREFIX}old-', dir=parent)
            os.replace(self.out_dir, osp.join(old, 'previous'))
        try:
            os.replace(self.path, self.out_dir)
        except BaseException:
            if old is not None:
                os.replace(osp.join(old, 'previous'), self.out_dir)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(parent)
        return self.out_dir

    def discard(self) -> None:
        """Remove the staging folder (a no-op after :meth:`commit`)."""
        shutil.rmtree(self.path, ignore_errors=True)


@contextmanager
def atomic_dir(out_dir: str, overwrite: bool = False) -> Iterator[str]:
    """Yield a staging folder; on success it becomes ``out_dir``."""
    staging = StagingDir(out_dir, overwrite)
    try:
        yield staging.path
        staging.commit()
    finally:
        staging.discard()
