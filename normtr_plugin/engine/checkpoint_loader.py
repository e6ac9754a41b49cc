"""Load mmengine checkpoints on torch >= 2.6 without unpickling arbitrary code.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. mmengine
0.10.7 calls ``torch.load(filename, map_location=...)`` without the argument,
so it can no longer read the checkpoints it writes itself: besides tensors,
they hold the ``message_hub`` state (``HistoryBuffer`` objects with numpy
arrays, numpy scalars) and, sometimes, a ``ConfigDict`` in ``dataset_meta``.
``runner.resume()`` (``--resume``) and ``load_from`` then fail with
``pickle.UnpicklingError: Weights only load failed ...``.

Instead of falling back to ``weights_only=False`` (which would execute
whatever a pickle asks for), this module keeps ``weights_only=True`` and
allowlists exactly the globals that mmengine's own training checkpoints
contain (found empirically by training a toy ``Runner`` and adding what torch
named until ``epoch_N.pth`` loaded). Anything else -- ``os.system``,
``builtins.eval``, an unknown class -- is still refused by torch's restricted
unpickler, and :func:`load_checkpoint_safely` turns that refusal into a clear
error naming the file and the offending global.

:func:`register_checkpoint_loader` installs the loader as mmengine's
local-path scheme (prefix ``''``), which is what ``Runner.resume`` and
``Runner.load_checkpoint`` (``load_from``) go through. Importing the plugin
does NOT call it (no process-wide side effect on import): the tools call it,
and so does ``CheckpointGuardHook.before_run`` (in the default runtime), so
every Runner built from the project's configs loads checkpoints safely.
Code that loads a checkpoint itself calls :func:`load_checkpoint_safely`.
"""
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..utils.errors import InputError, MissingFileError, NormTRError
from .checkpoint_digest import verify_content_hashes

__all__ = [
    'CHECKPOINT_SAFE_GLOBALS',
    'CorruptCheckpointError',
    'UnsafeCheckpointError',
    'load_checkpoint_safely',
    'register_checkpoint_loader',
]


class UnsafeCheckpointError(NormTRError, pickle.UnpicklingError):
    """A checkpoint asked for a global outside :data:`CHECKPOINT_SAFE_GLOBALS`.

    Subclass of :class:`pickle.UnpicklingError`, so code that already catches
    torch's error keeps working.
    """


class CorruptCheckpointError(InputError):
    """A checkpoint file that is empty, truncated, corrupted or not a
    checkpoint at all (the message names the file and which)."""


# ---------------------------------------------------------------------------
# Allowlist helpers
# ---------------------------------------------------------------------------

#: Methods that ``HistoryBuffer.__getstate__`` stores in its
#: ``statistics_methods`` entry (``HistoryBuffer._set_default_statistics``).
_HISTORY_BUFFER_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """A ``builtins.getattr`` that only resolves ``HistoryBuffer.<stat>``.

    ``HistoryBuffer.__getstate__`` pickles the functions ``HistoryBuffer.min``
    / ``max`` / ``current`` / ``mean``. With ``torch.save``'s pickle protocol
    2, a function with a dotted ``__qualname__`` is written as
    ``getattr(HistoryBuffer, 'min')`` (``GLOBAL __builtin__ getattr`` +
    ``REDUCE``). Allowlisting the real ``getattr`` would give a pickle
    arbitrary attribute access (``__init__.__globals__`` ... -> code
    execution), so this stand-in is registered under the name
    ``builtins.getattr`` instead and accepts nothing but those four lookups.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr called with '
        f'({obj!r}, {name!r}); only HistoryBuffer statistics methods '
        f'{sorted(_HISTORY_BUFFER_STATISTICS)} may be looked up')


def _numpy_multiarray_globals() -> List[Tuple[Callable, str]]:
    """``_reconstruct`` and ``scalar`` under both numpy 1.x and 2.x names.

    numpy 2.x pickles them as ``numpy._core.multiarray.*``, numpy 1.x as
    ``numpy.core.multiarray.*``. Registering both names (bound to the
    functions of the installed numpy) lets either kind of checkpoint load
    with either numpy.
    """
    try:
        from numpy._core import multiarray  # numpy >= 2.0
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    entries = []
    for func_name in ('_reconstruct', 'scalar'):
        func = getattr(multiarray, func_name)
        for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
            entries.append((func, f'{module}.{func_name}'))
    return entries


def _numpy_numeric_dtype_classes() -> List[type]:
    """The classes of numeric/bool numpy dtypes (``numpy.dtypes.Float64DType``,
    ``Int64DType``, ...).

    Unpickling a dtype ends with ``BUILD`` on the dtype instance, which torch
    only allows when ``type(instance)`` is allowlisted. Since numpy 1.25 every
    dtype has its own class; they are collected from type codes rather than by
    name so that the list is right for whichever numpy is installed. Object,
    string and void dtypes are deliberately left out: mmengine's logs are
    numeric, and object arrays would carry nested pickles.
    """
    classes = []
    for code in '?bBhHiIlLqQefdgFDG':
        cls = type(np.dtype(code))
        if cls is not np.dtype and cls not in classes:
            classes.append(cls)
    return classes


# ---------------------------------------------------------------------------
# The allowlist
# ---------------------------------------------------------------------------

#: Globals allowed (on top of torch's defaults: tensors, storages,
#: ``collections.OrderedDict``, builtin containers and scalars) while loading a
#: checkpoint. Each entry is either the object itself (registered under its
#: ``__module__.__qualname__``) or a ``(object, 'pickled.name')`` pair.
CHECKPOINT_SAFE_GLOBALS: Tuple[Union[Callable, Tuple[Callable, str]], ...] = (
    # --- mmengine message hub -------------------------------------------
    # checkpoint['message_hub']['log_scalars'] maps names such as
    # 'train/loss' / 'train/lr' / 'val/...' to HistoryBuffer objects
    # (rebuilt through HistoryBuffer.__setstate__).
    HistoryBuffer,
    # HistoryBuffer's state carries its statistics methods, pickled as
    # getattr(HistoryBuffer, 'min'|'max'|'current'|'mean'); see
    # _history_buffer_getattr -- NOT the real builtins.getattr.
    (_history_buffer_getattr, 'builtins.getattr'),
    # --- mmengine config --------------------------------------------------
    # meta/message_hub 'dataset_meta' is the dataset's metainfo; when it comes
    # from a config, nested dicts are ConfigDicts (pickled as
    # ConfigDict(<dict>)).
    ConfigDict,
    # --- numpy arrays -----------------------------------------------------
    # HistoryBuffer._log_history / _count_history are numpy arrays:
    # _reconstruct(ndarray, shape, dtype) + ndarray.__setstate__.
    np.ndarray,
    # numpy scalars (e.g. runtime_info['eta'] is a numpy.float64):
    # multiarray.scalar(dtype, raw_bytes).
    # Both under numpy 2.x (numpy._core) and 1.x (numpy.core) names.
    *_numpy_multiarray_globals(),
    # --- numpy dtypes -----------------------------------------------------
    # Arrays and scalars pickle their dtype as numpy.dtype('f8', ...) followed
    # by BUILD on the instance, whose class is numpy.dtypes.Float64DType,
    # Int64DType, ... (numeric and bool dtypes only).
    np.dtype,
    *_numpy_numeric_dtype_classes(),
)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

_WO_DETAIL_RE = re.compile(r'WeightsUnpickler error:\s*(.+)')


def _disallowed_detail(message: str) -> str:
    """Pull the line naming the refused global out of torch's long message."""
    match = _WO_DETAIL_RE.search(message)
    if match:
        return match.group(1).strip()
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if 'GLOBAL' in line or 'but got' in line or 'reduce' in line:
            return line
    return lines[-1] if lines else message


#: words of torch's weights-only messages that mean "a global was refused"
#: (anything else going wrong in the pickle is corruption)
_REFUSAL_WORDS = ('GLOBAL', 'global', 'getattr', 'reduce', 'Unsupported class')


def _not_a_checkpoint(filename: str) -> Optional[str]:
    """Why ``filename`` cannot be a ``torch.save`` checkpoint (empty, a
    truncated or foreign file), or ``None`` when it is a whole zip archive.

    Checkpoints are zip archives (``torch.save``'s format since torch 1.6,
    what mmengine writes); their central directory is at the end, so a
    truncated copy is told from a foreign file by the zip signature at the
    start.
    """
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty (0 bytes)'
    if zipfile.is_zipfile(filename):
        return None
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head == b'PK\x03\x04':
        return (f'truncated or corrupted: the zip archive of {size} bytes '
                'has no intact end (an interrupted save or copy?)')
    return ('not a PyTorch checkpoint: not the zip archive torch.save '
            'writes (another kind of file, or random bytes)')


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    # torch's miniz errors add three sentences of advice: keep the cause
    text = lines[0].split('. This is an internal')[0] if lines else ''
    return f'{type(err).__name__}: {text[:200]}' if text \
        else type(err).__name__


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Any] = None,
                           log: Optional[Callable[[str], None]] = None
                           ) -> Any:
    """``torch.load(filename, map_location, weights_only=True)`` accepting
    exactly the object types of mmengine's own training checkpoints.

    Args:
        filename (str): Local checkpoint path (``~`` is expanded).
        map_location: Same as :func:`torch.load`.
        log: where the verified content hash is reported (default: the
            ``normtr_plugin`` logger; ``checkpoint_digest.py``).

    Returns:
        The loaded checkpoint (a dict).

    Raises:
        MissingFileError: ``filename`` is not an existing file.
        CorruptCheckpointError: The file is empty, truncated, corrupted or
            not a checkpoint (one line naming the file and which).
        UnsafeCheckpointError: The pickle references a global outside
            :data:`CHECKPOINT_SAFE_GLOBALS` (nothing of it is executed).
        ChecksumError: The weights differ from the SHA-256 stored in the
            checkpoint when it was saved (``checkpoint_digest.py``).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise MissingFileError(f'{filename} can not be found.')
    why = _not_a_checkpoint(filename)
    if why:
        raise CorruptCheckpointError(f'cannot load checkpoint "{filename}": '
                                     f'{why}')

    # torch.serialization.safe_globals removes its entries on exit; only pass
    # the ones not already allowlisted globally so that a user's own
    # add_safe_globals() calls are left untouched.
    already = set(torch.serialization.get_safe_globals())
    extra = [g for g in CHECKPOINT_SAFE_GLOBALS if g not in already]
    try:
        with torch.serialization.safe_globals(extra):
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = _disallowed_detail(str(err))
        if not any(word in detail for word in _REFUSAL_WORDS):
            raise CorruptCheckpointError(
                f'cannot load checkpoint "{filename}": corrupted (its '
                f'pickled index is unreadable: {detail[:200]})') from err
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint "{filename}": it contains an object '
            f'that is not on the normtr_plugin checkpoint allowlist '
            f'({detail}). Only checkpoints written by this project\'s own '
            f'training runs (mmengine Runner / CheckpointHook) are accepted; '
            f'they are loaded with torch.load(weights_only=True) and '
            f'arbitrary pickled objects are never executed.') from err
    except Exception as err:  # a damaged archive: torch/miniz/pickle errors
        raise CorruptCheckpointError(
            f'cannot load checkpoint "{filename}": truncated or corrupted '
            f'({_first_line(err)})') from err
    if not isinstance(checkpoint, dict):
        raise CorruptCheckpointError(
            f'cannot load checkpoint "{filename}": not a training '
            f'checkpoint (it holds a {type(checkpoint).__name__}, not a '
            'dict)')
    verify_content_hashes(checkpoint, filename, log)
    return checkpoint


def load_from_local_weights_only(filename: str, map_location=None) -> Any:
    """mmengine local-path scheme loader (replaces ``load_from_local``).

    mmengine logs ``'Loads checkpoint by ' + __name__[10:] + ' backend'``,
    hence the name (-> ``local_weights_only``). The config source text a
    checkpoint may carry (``meta['config']``, ``meta['cfg']``) is dropped:
    ``Runner.resume`` would execute ``meta['config']``. ``meta['source']``
    names the file for later error messages.
    """
    checkpoint = load_checkpoint_safely(
        filename, map_location=map_location,
        log=lambda message: print_log(message, logger='current'))
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict):
        meta.pop('config', None)
        meta.pop('cfg', None)
        meta['source'] = filename
    return checkpoint


def register_checkpoint_loader() -> None:
    """Make mmengine's local-path scheme (prefix ``''``) use
    :func:`load_checkpoint_safely`.

    ``Runner.resume`` and ``Runner.load_checkpoint`` (``load_from``) resolve
    plain paths through ``CheckpointLoader`` to this scheme. Idempotent.
    """
    if CheckpointLoader._schemes.get('') is load_from_local_weights_only:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
