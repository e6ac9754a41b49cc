"""A content hash inside every training checkpoint, verified on load.

:class:`~.checkpoint_hook.AtomicCheckpointHook` stores, in
``meta['content_sha256']``, the SHA-256 of the checkpoint's weights
(``state_dict``, and ``ema_state_dict`` when an EMA hook adds one) as they
are saved; :func:`~.checkpoint_loader.load_checkpoint_safely` -- through
which ``--resume``, ``load_from``, ``tools/test.py``, ``publish`` and the
inferencer load -- recomputes it. Flipped bits in the weights are then a
one-line error naming the file, not a silently different result. What
was verified goes to ``log`` (the Runner's log when mmengine loads), else
to the ``normtr_plugin`` logger.
"""
import logging
from typing import Callable, Dict, Optional

from ..utils.digest import ChecksumError, tensors_sha256, value_sha256

__all__ = ['CONTENT_HASH_KEY', 'content_hashes', 'verify_content_hashes']

CONTENT_HASH_KEY = 'content_sha256'
#: The parts of a checkpoint that are hashed (where present).
HASHED = ('state_dict', 'ema_state_dict')
_LOG = logging.getLogger(__name__)


#: the name of the hash of everything else in the checkpoint
REST = 'training_state'
PART_NAMES = {REST: 'training state (optimizer, schedulers, message hub, '
                    'meta)'}


def content_hashes(checkpoint: dict) -> Dict[str, str]:
    """``{part: hex SHA-256}`` of the weights in ``checkpoint`` and of the
    rest (``meta`` without these hashes included)."""
    hashes = {k: tensors_sha256(checkpoint[k]) for k in HASHED
              if isinstance(checkpoint.get(k), dict)}
    rest = {k: v for k, v in checkpoint.items() if k not in hashes}
    if isinstance(rest.get('meta'), dict):
        rest['meta'] = {k: v for k, v in rest['meta'].items()
                        if k != CONTENT_HASH_KEY}
    hashes[REST] = value_sha256(rest)
    return hashes


def verify_content_hashes(checkpoint, filename: str,
                          log: Optional[Callable[[str], None]] = None
                          ) -> None:
    """Check ``checkpoint`` against the hashes stored in its meta (a
    checkpoint without them, e.g. from an older version, is loaded and the
    log says it was not verified)."""
    log = log or _LOG.info
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    stored = meta.get(CONTENT_HASH_KEY) if isinstance(meta, dict) else None
    if stored is None:
        log(f"checkpoint {filename} has no content hash (meta "
            f"'{CONTENT_HASH_KEY}'; saved by another tool or an older "
            'version): its weights are not verified')
        return
    if not isinstance(stored, dict) or not stored or not all(
            isinstance(v, str) for v in stored.values()):
        raise ChecksumError(f"checkpoint {filename}: meta "
                            f"'{CONTENT_HASH_KEY}' is malformed")
    found = content_hashes(checkpoint)
    for part, digest in sorted(stored.items()):
        if found.get(part) != digest:
            raise ChecksumError(
                f'checkpoint {filename} is corrupted or was changed: its '
                f'{PART_NAMES.get(part, part)} does not match the SHA-256 stored in it when it '
                'was saved')
    log(f'checkpoint {filename}: SHA-256 of {", ".join(sorted(stored))} '
        'verified')
