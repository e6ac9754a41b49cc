"""Which files in a work dir this project's training run wrote.

mmengine's ``CheckpointHook`` deletes the paths that the resumed message
hub names (``best_ckpt``, ``keep_ckpt_ids``), so a crafted checkpoint, or
one copied from another run's work dir, would make it delete a user's
folder or the other run's best checkpoint. Here a run may remove only the
files it wrote: :class:`~.checkpoint_hook.AtomicCheckpointHook` lists every
checkpoint it saves in the work dir's ledger (:data:`LEDGER`) and removes
nothing the ledger does not list; a resumed run continues the ledger only
when it resumes from a checkpoint the ledger lists (a run of this work
dir), otherwise it starts a new one.

``tools/train.py`` refuses a fresh run in a work dir holding an earlier
run's checkpoints (:func:`check_fresh_run`) unless ``--resume`` or
``--overwrite``.
"""
import json
import os
import os.path as osp
import re
from typing import Iterable, List, Optional

from ..utils import write_json
from ..utils.errors import OutputExistsError

__all__ = ['LEDGER', 'RUN_FILE', 'RunFiles', 'check_fresh_run',
           'earlier_run_files', 'name_in', 'read_ledger', 'write_ledger']

#: The work dir's list of the checkpoints its run wrote.
LEDGER = '.normtr_checkpoints.json'
#: Names of what a training run writes into its work dir.
RUN_FILE = re.compile(r'^((epoch|iter)_\d+|best_.+)\.pth$|'
                      r'^(last_checkpoint|test_metrics\.json)$')
_CHECKPOINT = re.compile(r'^((epoch|iter)_\d+|best_.+)\.pth$')


def name_in(folder: str, path) -> Optional[str]:
    """``path``'s name when it is a regular file (no link) directly inside
    ``folder`` (compared after resolving links), else None."""
    if not path or not folder:
        return None
    path = os.fspath(path)
    parent = osp.realpath(osp.dirname(osp.abspath(path)))
    if parent != osp.realpath(folder) or osp.islink(path) or \
            not osp.isfile(path):
        return None
    return osp.basename(path)


def read_ledger(work_dir: str) -> List[str]:
    """The checkpoint names the ledger lists (empty when there is none or
    it cannot be read)."""
    path = osp.join(work_dir, LEDGER)
    if osp.islink(path) or not osp.isfile(path):
        return []
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    files = data.get('files') if isinstance(data, dict) else None
    return [n for n in files or [] if isinstance(n, str) and
            _CHECKPOINT.match(n)] if isinstance(files, list) else []


def write_ledger(work_dir: str, names: Iterable[str]) -> None:
    write_json(osp.join(work_dir, LEDGER),
               dict(written_by='normtr_plugin', files=sorted(set(names))))


class RunFiles:
    """The checkpoints a run wrote in ``folder``, kept in its ledger.

    The ledger is continued when the run resumes from a checkpoint it lists
    (``resumed_from``), else started anew. Only the main process
    (``write=True``) writes the ledger and removes files.
    """

    def __init__(self, folder: str, resumed_from: Optional[str] = None,
                 write: bool = True):
        self.folder, self.write = folder, write
        ledger = set(read_ledger(folder))
        continued = resumed_from and name_in(folder, resumed_from) in ledger
        self.names = ledger if continued else set()
        self._save()

    def _save(self) -> None:
        if self.write:
            write_ledger(self.folder, self.names)

    def owns(self, path) -> Optional[str]:
        """``path``'s name when this run wrote it in its folder."""
        name = name_in(self.folder, path)
        return name if name in self.names else None

    def record(self, paths: Iterable) -> None:
        """Add the files of ``paths`` that exist in the folder."""
        names = {name_in(self.folder, p) for p in paths} - {None}
        if not names <= self.names:
            self.names |= names
            self._save()

    def remove(self, paths: Iterable) -> None:
        """Remove those of ``paths`` this run wrote; nothing else."""
        for path in paths:
            name = self.owns(path)
            if name is None or not self.write:
                continue
            os.remove(osp.join(self.folder, name))
            self.names.discard(name)
            self._save()


def earlier_run_files(work_dir: str) -> List[str]:
    """The names of an earlier training run's files in ``work_dir``
    (checkpoints, ``last_checkpoint``)."""
    try:
        names = os.listdir(work_dir)
    except OSError:
        return []
    return sorted(n for n in names if RUN_FILE.match(n) and
                  n != 'test_metrics.json')


def check_fresh_run(work_dir: str, overwrite: bool) -> List[str]:
    """Before a fresh (not resumed) run in ``work_dir``: refuse when an
    earlier run's checkpoints are there, unless ``overwrite``; then remove
    the earlier run's checkpoints the ledger lists and ``last_checkpoint``
    (files this project wrote; nothing else is touched). Returns the
    removed names."""
    found = earlier_run_files(work_dir)
    if not found:
        return []
    if not overwrite:
        shown = ', '.join(found[:4]) + (f' (+{len(found) - 4} more)'
                                        if len(found) > 4 else '')
        raise OutputExistsError(
            f'work dir {work_dir!r} holds the checkpoints of an earlier run '
            f'({shown}); a fresh run would overwrite them: pass --resume to '
            'continue that run, --overwrite to replace it, or choose another'
            ' --work-dir')
    removed = []
    for name in read_ledger(work_dir) + ['last_checkpoint', LEDGER]:
        path = osp.join(work_dir, name)
        if name_in(work_dir, path):
            os.remove(path)
            removed.append(name)
    return removed
