"""Check a published ``config.json`` before anything in it is built.

mmengine's registries import any dotted ``type`` (``"os.system"``,
``"subprocess.Popen"``) they do not know, so a ``config.json`` from the Hub
or a shared folder could run code while a model is rebuilt. Before
``from_pretrained`` (and ``tools/infer.py``, ``normtr_plugin.apis``) builds
anything, :func:`check_pretrained_config` walks the whole config and
accepts only:

- under ``model``: the names registered in this plugin's MODELS registry,
  plus :data:`MMENGINE_MODELS`; under an ``init_cfg`` key, mmengine's
  weight initialisers :data:`MMENGINE_INITIALIZERS` (kept as data: a
  loaded model never re-initialises);
- under ``test_pipeline``: the names registered in this plugin's TRANSFORMS
  registry, plus :data:`MMENGINE_TRANSFORMS`;
- nowhere else a ``type`` at all, and no ``_scope_`` but this plugin's.

Anything else is refused with :class:`UnsafeConfigError`, naming the key
path and the type.
"""
from typing import Iterable, Optional

from ..registry import MODELS, SCOPE, TRANSFORMS
from ..utils.errors import InputError

__all__ = ['MMENGINE_INITIALIZERS', 'MMENGINE_MODELS', 'MMENGINE_TRANSFORMS',
           'UnsafeConfigError', 'check_pretrained_config']

#: mmengine model components a published config may name (by plain name).
MMENGINE_MODELS = ('BaseDataPreprocessor',)
#: mmengine transforms a published test pipeline may name. mmengine 0.10.7
#: registers none of its own; add names here (never patterns) if needed.
MMENGINE_TRANSFORMS: tuple = ()
#: mmengine weight initialisers allowed under ``init_cfg`` keys.
MMENGINE_INITIALIZERS = ('Constant', 'Xavier', 'Normal', 'TruncNormal',
                         'Uniform', 'Kaiming', 'Caffe2Xavier', 'Pretrained')


class UnsafeConfigError(InputError):
    """A ``config.json`` names a type this plugin will not build."""


def _allowed(path: str) -> Optional[Iterable[str]]:
    """The type names allowed at ``path`` (None: no ``type`` allowed)."""
    root = path.split('.', 1)[0].split('[', 1)[0]
    if root == 'model':
        if path.split('.')[-1].split('[')[0] == 'init_cfg' or \
                '.init_cfg' in path:
            return MMENGINE_INITIALIZERS
        return set(MODELS.module_dict) | set(MMENGINE_MODELS)
    if root == 'test_pipeline':
        return set(TRANSFORMS.module_dict) | set(MMENGINE_TRANSFORMS)
    return None


def _refuse(where: str, path: str, problem: str) -> UnsafeConfigError:
    return UnsafeConfigError(
        f'{where}: refusing to build {path}: {problem}. A published '
        f'normtr_plugin model only names components registered in '
        f'{SCOPE} (dotted or unknown types could import and run code); '
        'nothing was built')


def _walk(value, path: str, where: str) -> None:
    if isinstance(value, dict):
        scope = value.get('_scope_', SCOPE)
        if scope != SCOPE:
            raise _refuse(where, f'{path}._scope_', f'scope {scope!r} is '
                          f'not {SCOPE!r}')
        if 'type' in value:
            type_ = value['type']
            allowed = _allowed(path)
            if not isinstance(type_, str):
                raise _refuse(where, f'{path}.type', f'type {type_!r} is '
                              'not a registered name')
            if allowed is None:
                raise _refuse(where, f'{path}.type', f'type {type_!r} at a '
                              'key that names no component')
            if type_ not in allowed:
                raise _refuse(where, f'{path}.type', f'type {type_!r} is not '
                              f'one of {sorted(allowed)}')
        for key, item in value.items():
            _walk(item, f'{path}.{key}' if path else str(key), where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f'{path}[{i}]', where)


def check_pretrained_config(config: dict, where: str) -> None:
    """Raise :class:`UnsafeConfigError` unless every ``type`` in ``config``
    is one this plugin builds at that place (see the module docstring).

    ``where`` names the file in the message.
    """
    _walk(config, '', where)
