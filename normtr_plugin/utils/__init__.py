"""Small shared helpers: crash-safe writes and finiteness checks."""
from .atomic import (MARKER, StagingDir, atomic_dir, atomic_path,
                     atomic_write, check_replaceable, clean_stale_staging,
                     is_ours, write_json, write_text)
from .finite import NonFiniteError, non_finite_paths, require_finite

__all__ = [
    'MARKER', 'NonFiniteError', 'StagingDir', 'atomic_dir', 'atomic_path',
    'atomic_write', 'check_replaceable', 'clean_stale_staging', 'is_ours',
    'non_finite_paths', 'require_finite', 'write_json', 'write_text'
]
