"""Which checkpoint ``tools/train.py --resume`` continues from.

mmengine resumes from whatever ``work_dir/last_checkpoint`` names, logs
"resumed from None" when there is none and starts afresh, and dies with a
raw ``RuntimeError`` on a truncated file. :func:`resolve_resume` instead
checks the checkpoint can be read before the run starts and otherwise
says what is wrong and which checkpoint would work.
"""
import glob
import os.path as osp
from typing import List, Optional

from .checkpoint_loader import load_checkpoint_safely
from ..utils.errors import MissingFileError

__all__ = ['ResumeError', 'newest_readable_checkpoint', 'resolve_resume']


class ResumeError(MissingFileError):
    """Nothing to resume from, or the checkpoint cannot be read."""


def _readable(path: str) -> Optional[dict]:
    try:
        checkpoint = load_checkpoint_safely(path, map_location='cpu')
    except Exception:  # noqa: BLE001 (any failure means unreadable)
        return None
    return checkpoint if isinstance(checkpoint, dict) else None


def newest_readable_checkpoint(folders: List[str],
                               exclude: Optional[str] = None
                               ) -> Optional[str]:
    """The most recently written ``*.pth`` in ``folders`` that loads and is
    a full training checkpoint (it has the optimizer state)."""
    paths = {osp.abspath(p) for folder in folders if folder
             for p in glob.glob(osp.join(folder, '*.pth'))}
    paths.discard(osp.abspath(exclude) if exclude else None)
    for path in sorted(paths, key=osp.getmtime, reverse=True):
        checkpoint = _readable(path)
        if checkpoint is not None and 'optimizer' in checkpoint:
            return path
    return None


def resolve_resume(work_dir: str, path: Optional[str] = None) -> str:
    """The checkpoint to resume from: ``path``, or the one
    ``work_dir/last_checkpoint`` names; raises :class:`ResumeError` if
    there is none or it cannot be read (naming the newest readable one).
    """
    named_by = ''
    if path is None:
        pointer = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            raise ResumeError(
                f'--resume: there is no checkpoint to resume from in '
                f'{work_dir!r} (no last_checkpoint file); train without '
                '--resume, or give --resume PATH')
        with open(pointer) as f:
            path = f.read().strip()
        if not path:
            raise ResumeError(f'--resume: {pointer} is empty; give '
                              '--resume PATH')
        named_by = f' (named by {pointer})'
    if not osp.isfile(path):
        problem = 'does not exist'
    else:
        try:
            load_checkpoint_safely(path, map_location='cpu')
            return path
        except Exception as err:  # noqa: BLE001
            detail = str(err).strip().splitlines()
            problem = (f'cannot be read ({type(err).__name__}: '
                       f'{detail[0] if detail else ""}); it may be '
                       'truncated by a crash')
    newest = newest_readable_checkpoint(
        [work_dir, osp.dirname(osp.abspath(path))], exclude=path)
    advice = (f'the newest readable checkpoint is {newest!r}: resume with '
              f'--resume {newest}' if newest else
              f'no readable training checkpoint was found in {work_dir!r}')
    raise ResumeError(f'--resume: checkpoint {path!r}{named_by} {problem}; '
                      f'{advice}')
