"""Small shared helpers: errors, crash-safe writes, finiteness checks."""
from .atomic import (MARKER, StagingDir, atomic_dir, atomic_path,
                     atomic_write, check_replaceable, clean_stale_staging,
                     is_ours, write_json, write_text)
from .errors import (InputError, MissingDependencyError, MissingFileError,
                     NormTRError, OutputExistsError, UnknownNameError,
                     add_debug_argument, run_tool)
from .finite import NonFiniteError, non_finite_paths, require_finite

__all__ = [
    'InputError', 'MARKER', 'MissingDependencyError', 'MissingFileError',
    'NonFiniteError', 'NormTRError', 'OutputExistsError', 'StagingDir',
    'UnknownNameError', 'add_debug_argument', 'atomic_dir', 'atomic_path',
    'atomic_write', 'check_replaceable', 'clean_stale_staging', 'is_ours',
    'non_finite_paths', 'require_finite', 'run_tool', 'write_json',
    'write_text'
]
