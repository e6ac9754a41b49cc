"""The project's one error base class, and how tools report it.

Every error the package raises on purpose (bad input, a refused file, a
checkpoint that does not fit, a non-finite result) derives from
:class:`NormTRError`, so a tool catches one class and prints one line::

    train.py: error: <what is wrong, naming the file/column/modality>

with no traceback unless ``--debug`` is given (:func:`run_tool`).
"""
import os.path as osp
import sys
from typing import Callable, Optional, Sequence

__all__ = ['NormTRError', 'run_tool']


class NormTRError(Exception):
    """Base of every error this package raises on purpose."""


def run_tool(main: Callable[[], object],
             argv: Optional[Sequence[str]] = None,
             name: Optional[str] = None) -> None:
    """Run a tool's ``main()``; a :class:`NormTRError` exits with
    ``<tool>: error: <message>`` (status 1), traceback only with
    ``--debug`` in ``argv`` (default ``sys.argv``)."""
    argv = sys.argv if argv is None else argv
    name = name or osp.basename(argv[0] if argv else 'normtr')
    try:
        main()
    except NormTRError as err:
        if '--debug' in argv:
            raise
        message = ' '.join(str(err).split()) or type(err).__name__
        sys.exit(f'{name}: error: {message}')
