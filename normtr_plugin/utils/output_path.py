"""Check an output path before any work is done.

A tool that writes a file at the end of a long run (``tools/test.py
--out/--dump``, ``tools/infer.py --out``, the report of
``tools/robustness.py``) checks first that it may: the path names no
folder, its folder exists or can be made and is writable, and an existing
file is replaced only with ``--overwrite``.
"""
import fnmatch
import os
import os.path as osp
from typing import Iterable

from .errors import InputError, OutputExistsError

__all__ = ['check_output_file', 'check_output_folder']


def _check_parent(folder: str, what: str) -> None:
    """``folder`` exists as a writable folder, or can be made in one."""
    probe = osp.abspath(folder)
    while not osp.lexists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise InputError(f'{what}: {probe!r} is a file, so no folder can be '
                         'made there')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f'{what}: folder {probe!r} is not writable')


def check_output_file(path: str, overwrite: bool,
                      option: str = '--out') -> str:
    """Refuse ``path`` (given as ``option``) unless a file can be written
    there: it is no folder, its folder is writable (or can be made), and an
    existing file needs ``overwrite``. Returns ``path``."""
    what = f'{option} {path!r}'
    if osp.isdir(path):
        raise InputError(f'{what} is a folder; give a file name')
    if osp.lexists(path):
        if not overwrite:
            raise OutputExistsError(f'{what} exists; pass --overwrite to '
                                    'replace it')
        if not osp.isfile(path):
            raise InputError(f'{what} exists and is not a regular file')
    _check_parent(osp.dirname(osp.abspath(path)), what)
    return path


def check_output_folder(folder: str, patterns: Iterable[str],
                        overwrite: bool, option: str = '--out') -> str:
    """Refuse ``folder`` unless files matching ``patterns`` (file names or
    globs, e.g. ``robustness_*.png``) can be written into it: it is no
    file, it is writable (or can be made), and existing files that match
    need ``overwrite``. Other files in it are never touched. Returns
    ``folder``."""
    what = f'{option} {folder!r}'
    if osp.lexists(folder) and not osp.isdir(folder):
        raise InputError(f'{what} exists and is not a folder')
    _check_parent(folder, what)
    patterns = list(patterns)
    if osp.isdir(folder) and not overwrite:
        present = sorted(n for n in os.listdir(folder)
                         if any(fnmatch.fnmatchcase(n, p) for p in patterns))
        if present:
            raise OutputExistsError(f'{what} already holds {present}; pass '
                                    '--overwrite to replace them')
    return folder
