"""Progress bars (tqdm, on stderr) for conversions: bytes while a source
file is read, samples while each split is written.

Shown when stderr is a terminal, unless ``NORMTR_PROGRESS=0``;
``NORMTR_PROGRESS=1`` (or ``set_progress(True)``) shows them anywhere
(e.g. in a log file), ``tools/convert_dataset.py --no-progress`` hides them.
"""
import os
import sys
from typing import Optional

from tqdm import tqdm

__all__ = ['ProgressReader', 'progress_bar', 'progress_enabled',
           'set_progress']

_FORCED: Optional[bool] = None


def set_progress(enabled: Optional[bool]) -> None:
    """Force progress bars on (True) or off (False); None: automatic."""
    global _FORCED
    _FORCED = enabled


def progress_enabled() -> bool:
    if _FORCED is not None:
        return _FORCED
    env = os.environ.get('NORMTR_PROGRESS', '').strip().lower()
    if env in ('0', 'false', 'no', 'off'):
        return False
    if env in ('1', 'true', 'yes', 'on'):
        return True
    return sys.stderr.isatty()


def progress_bar(total: Optional[int], desc: str, unit: str = 'sample',
                 **kwargs) -> tqdm:
    """A tqdm bar on stderr (disabled per :func:`progress_enabled`)."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=not progress_enabled(), dynamic_ncols=True,
                mininterval=0.5, **kwargs)


class ProgressReader:
    """A binary file object that advances a byte bar as it is read (for
    ``pickle``, which calls ``read``, ``readinto`` and ``readline``)."""

    def __init__(self, f, desc: str):
        self._f = f
        try:
            size = os.fstat(f.fileno()).st_size
        except (AttributeError, OSError):
            size = None
        self.bar = progress_bar(size, desc, unit='B', unit_scale=True,
                                unit_divisor=1024)

    def read(self, *args):
        data = self._f.read(*args)
        self.bar.update(len(data))
        return data

    def readinto(self, buffer):
        n = self._f.readinto(buffer)
        self.bar.update(n or 0)
        return n

    def readline(self, *args):
        line = self._f.readline(*args)
        self.bar.update(len(line))
        return line

    def seek(self, *args):
        pos = self._f.seek(*args)
        self.bar.reset(total=self.bar.total)
        self.bar.update(pos)
        return pos

    def close(self):
        self.bar.close()

    def __getattr__(self, name):
        return getattr(self._f, name)
