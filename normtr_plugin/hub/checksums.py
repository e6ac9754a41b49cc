"""``SHA256SUMS`` of a model folder: written when it is saved, verified
when it is loaded.

The format of coreutils' ``sha256sum`` (``<hex>  <name>`` per line), so
``sha256sum -c SHA256SUMS`` checks a downloaded folder too. A folder
without the file (written by an older version) loads unverified, and the
log says so; a file whose digest differs is a one-line error naming it.
What was verified goes to the ``normtr_plugin`` logger, or to ``log`` (the
Runner's log when mmengine loads an ``hf://`` checkpoint).
"""
import logging
import os.path as osp
import re
from typing import Callable, Dict, Iterable, Mapping, Optional

from ..utils import write_text
from ..utils.digest import ChecksumError, file_sha256

__all__ = ['CHECKSUMS_NAME', 'ChecksumError', 'read_checksums',
           'verify_checksums', 'write_checksums']

CHECKSUMS_NAME = 'SHA256SUMS'
_LOG = logging.getLogger(__name__)
_LINE = re.compile(r'([0-9a-f]{64}) [ *]([^/\\\n]+)')


def write_checksums(folder: str, names: Iterable[str]) -> str:
    """Write ``folder/SHA256SUMS`` for the files ``names`` in ``folder``."""
    lines = [f'{file_sha256(osp.join(folder, n))}  {n}\n' for n in names]
    return write_text(osp.join(folder, CHECKSUMS_NAME), ''.join(lines))


def read_checksums(path: str) -> Dict[str, str]:
    """``{name: hex digest}`` of a ``SHA256SUMS`` file; a line of another
    form is an error naming it."""
    out = {}
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ChecksumError(f'{path}: not a readable checksum file '
                            f'({err})') from None
    for i, line in enumerate(lines, 1):
        match = _LINE.fullmatch(line)
        if not match:
            raise ChecksumError(f'{path} line {i}: expected "<64 hex '
                                f'digits>  <file name>", found {line[:80]!r}')
        out[match.group(2)] = match.group(1)
    return out


def verify_checksums(sums_path, files: Mapping[str, str], where: str,
                     log: Optional[Callable[[str], None]] = None) -> None:
    """Check each ``{name: path}`` of ``files`` against ``sums_path``
    (``None``: there is none, which is logged); every one must be listed
    and match. Logs what was verified (``log``, default the logger)."""
    log = log or _LOG.info
    if sums_path is None:
        log(f'{where} has no {CHECKSUMS_NAME}: {", ".join(files)} loaded '
            'without verifying their SHA-256')
        return
    sums = read_checksums(sums_path)
    for name, path in files.items():
        if name not in sums:
            raise ChecksumError(f'{where}: {CHECKSUMS_NAME} does not list '
                                f'{name}, so it cannot be verified')
        if file_sha256(path) != sums[name]:
            raise ChecksumError(
                f'{where}: {name} is corrupted or was changed: its SHA-256 '
                f'differs from the one in {CHECKSUMS_NAME} written with it; '
                'download or publish it again')
    log(f'{where}: SHA-256 of {", ".join(files)} verified against '
        f'{CHECKSUMS_NAME}')
