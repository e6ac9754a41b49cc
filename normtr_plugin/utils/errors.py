"""The project's one error base class, its shared kinds, and how tools
report them.

Every error the package raises on purpose (bad input, a refused file, a
checkpoint that does not fit, a non-finite result) derives from
:class:`NormTRError`, so a tool catches one class and prints one line::

    train.py: error: <what is wrong, naming the file/column/modality>

and exits with status 2, with the traceback only under ``--debug``
(:func:`run_tool`). The shared kinds below keep a builtin second base
(``ValueError``, ``FileNotFoundError``, ...) so ``except ValueError`` in
user code still works.
"""
import os.path as osp
import sys
from typing import Callable, Optional, Sequence

__all__ = ['NormTRError', 'InputError', 'MissingFileError',
           'OutputExistsError', 'UnknownNameError', 'MissingDependencyError',
           'add_debug_argument', 'run_tool']

#: exit status of a tool that stopped on a :class:`NormTRError`
ERROR_EXIT = 2


class NormTRError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(NormTRError, ValueError):
    """A value, array, file content or option is not what is expected."""


class MissingFileError(NormTRError, FileNotFoundError):
    """A file or folder the user named (or that must exist) is absent."""


class OutputExistsError(NormTRError, FileExistsError):
    """An output would replace existing files (pass ``--overwrite``)."""


class UnknownNameError(NormTRError, KeyError):
    """A name (format, backbone, registry type, split) is not known."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not
        return str(self.args[0]) if self.args else ''


class MissingDependencyError(NormTRError, ImportError):
    """An optional package a feature needs is not installed."""


def add_debug_argument(parser) -> None:
    """Give an ``argparse`` parser the ``--debug`` flag :func:`run_tool`
    reads."""
    parser.add_argument('--debug', action='store_true',
                        help='on an error, show the traceback instead of '
                        'one line')


def run_tool(main: Callable[[], object],
             argv: Optional[Sequence[str]] = None,
             name: Optional[str] = None) -> None:
    """Run a tool's ``main()`` and exit with what it returns (``None``: 0).

    A :class:`NormTRError` prints ``<tool>: error: <message>`` (one line)
    to stderr and exits with status 2; ``--debug`` in ``argv`` (default
    ``sys.argv``) re-raises it for the traceback. Other exceptions are
    bugs and keep their traceback.
    """
    argv = sys.argv if argv is None else argv
    name = name or osp.basename(argv[0] if argv else 'normtr')
    try:
        status = main()
    except NormTRError as err:
        if '--debug' in argv:
            raise
        message = ' '.join(str(err).split()) or type(err).__name__
        print(f'{name}: error: {message}', file=sys.stderr)
        sys.exit(ERROR_EXIT)
    sys.exit(status if isinstance(status, int) else 0)
