"""Crash-safe writes: a file or a folder appears complete, or not at all.

The one place where this project writes files that must survive a kill:

- :func:`atomic_write` / :func:`atomic_path`: one file, written to a hidden
  temporary name in the same folder, flushed and fsynced, given the
  permissions the umask allows (``0o666 & ~umask``), then ``os.replace``-d
  over the target.
- :class:`StagingDir` / :func:`atomic_dir`: a whole folder, staged in a
  hidden ``.tmp-*`` sibling that carries the project's marker file
  (:data:`MARKER`), then renamed into place; at that moment the marker
  lists every file written (size, SHA-256). An existing folder is replaced
  only with ``overwrite`` *and* only when its marker proves that this
  project wrote everything in it, unchanged (a marker copied into a folder
  of one's own proves nothing: the foreign files are named and nothing is
  touched). Staging folders left by a killed run (their marker names them
  and their writer's process is gone) are removed by the next run in the
  same parent folder.
"""
import json
import os
import os.path as osp
import shutil
import socket
import stat
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator, Optional

from .errors import InputError, OutputExistsError

__all__ = ['MARKER', 'TMP_PREFIX', 'StagingDir', 'atomic_dir',
           'atomic_path', 'atomic_write', 'check_replaceable',
           'clean_stale_staging', 'current_umask', 'folder_listing',
           'is_ours', 'ownership_problem', 'write_json', 'write_text']

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
#: How many names an error message lists before "(+N more)".
_LIST_NAMES = 5


def _names(paths) -> str:
    paths = sorted(paths)
    more = len(paths) - _LIST_NAMES
    return ', '.join(paths[:_LIST_NAMES]) + (f' (+{more} more)'
                                              if more > 0 else '')


def folder_listing(folder: str) -> dict:
    """What :meth:`StagingDir.commit` records in :data:`MARKER`: every file
    (size, SHA-256), folder and symbolic link under ``folder``, by path
    relative to it (the marker itself left out); ``other`` names what is
    none of these (a FIFO, a socket)."""
    from .digest import file_sha256
    out = dict(files={}, dirs=[], links={}, other=[])
    for rel, path in _entries(folder):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            out['links'][rel] = os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            out['dirs'].append(rel)
        elif stat.S_ISREG(st.st_mode):
            out['files'][rel] = dict(size=st.st_size,
                                     sha256=file_sha256(path))
        else:
            out['other'].append(rel)
    out['dirs'].sort()
    return out


def _entries(folder: str):
    """(path relative to ``folder``, path) of everything under ``folder``
    but its :data:`MARKER`."""
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = osp.join(root, name)
            rel = osp.relpath(path, folder)
            if rel != MARKER:
                yield rel, path


def _read_marker(folder: str) -> Optional[dict]:
    path = osp.join(folder, MARKER)
    if osp.islink(path) or not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _unchanged(path: str, entry) -> bool:
    """A regular file (never opened otherwise: a FIFO would block) of the
    size and SHA-256 listed in ``entry``."""
    from .digest import file_sha256
    try:
        st = os.lstat(path)
        return (isinstance(entry, dict) and stat.S_ISREG(st.st_mode) and
                st.st_size == entry.get('size') and
                file_sha256(path) == entry.get('sha256'))
    except OSError:
        return False


def ownership_problem(folder: str) -> Optional[str]:
    """Why ``folder`` is not a complete, unchanged output of this project
    (None when it is): it must carry :data:`MARKER` listing every file in
    it (names, sizes, SHA-256) with nothing else present and no listed
    file changed. A marker copied into a folder of one's own thus proves
    nothing."""
    if osp.islink(folder):
        return 'it is a symbolic link'
    if not osp.isdir(folder):
        return 'it is not a folder'
    marker = _read_marker(folder)
    if marker is None or marker.get('written_by') != 'normtr_plugin':
        return (f'it was not written by normtr_plugin (it has no {MARKER} '
                'marker file)')
    listed = marker.get('files')
    if not isinstance(listed, dict):
        return (f'its {MARKER} marker lists no files (an older '
                'normtr_plugin, or a copied marker), so its content cannot '
                'be proven to be an output of normtr_plugin')
    dirs = set(marker.get('dirs') or [])
    links = marker.get('links') or {}
    foreign, changed = [], []
    for rel, path in _entries(folder):
        if osp.islink(path):
            if rel not in links:
                foreign.append(rel)
            elif links[rel] != os.readlink(path):
                changed.append(rel)
        elif osp.isdir(path):
            if rel not in dirs:
                foreign.append(rel + '/')
        elif rel not in listed:
            foreign.append(rel)
        elif not _unchanged(path, listed[rel]):
            changed.append(rel)
    problems = []
    if foreign:
        problems.append('it holds files normtr_plugin did not write there: '
                        + _names(foreign))
    if changed:
        problems.append('files changed since normtr_plugin wrote them: '
                        + _names(changed))
    return '; '.join(problems) or None


def is_ours(folder: str) -> bool:
    """Whether ``folder`` is a complete, unchanged output of this project
    (:func:`ownership_problem` finds nothing)."""
    return ownership_problem(folder) is None


def check_replaceable(out_dir: str, overwrite: bool) -> None:
    """Refuse an existing ``out_dir`` unless it is an empty folder, or
    ``overwrite`` is given and this project wrote everything in it, unchanged
    (:func:`ownership_problem`); the error names the foreign files."""
    if not osp.lexists(out_dir):
        return
    if osp.isdir(out_dir) and not osp.islink(out_dir) and \
            not os.listdir(out_dir):
        return  # an empty folder: nothing in it can be lost
    if not overwrite:
        raise OutputExistsError(f'{out_dir!r} exists; pass overwrite=True '
                                '(--overwrite) to replace it')
    problem = ownership_problem(out_dir)
    if problem:
        raise OutputExistsError(
            f'refusing to replace {out_dir!r}: {problem}; it may hold files '
            'of your own: remove it yourself or choose another output '
            'folder')


def _marker_data(staging: str) -> dict:
    """The marker of a staging folder: who writes it (for
    :func:`clean_stale_staging`) and its own name (a marker copied
    elsewhere names another folder)."""
    return dict(written_by='normtr_plugin', pid=os.getpid(),
                host=socket.gethostname(), staging=osp.basename(staging))


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
    only those whose :data:`MARKER` names the folder itself and whose
    writer process is gone. Returns the removed paths."""
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        path = osp.join(parent, name)
        if not name.startswith(TMP_PREFIX) or osp.islink(path) or \
                not osp.isdir(path):
            continue
        marker = _read_marker(path)
        if marker and marker.get('written_by') == 'normtr_plugin' and \
                marker.get('staging') == name and _writer_gone(marker):
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
            json.dump(_marker_data(self.path), f)

    def commit(self) -> str:
        """Move the staged folder to ``out_dir`` (replacing a folder of ours
        only with ``overwrite``); returns ``out_dir``."""
        check_replaceable(self.out_dir, self.overwrite)
        # The marker now lists what was written: the proof that a later
        # overwrite replaces only this project's files.
        with open(osp.join(self.path, MARKER), 'w') as f:
            json.dump(dict(written_by='normtr_plugin', version=2,
                           **folder_listing(self.path)), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
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
