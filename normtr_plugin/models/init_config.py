"""Capture a model's init arguments once, as its ``config``.

Like huggingface_hub's ``PyTorchModelHubMixin``: the arguments are bound to
the signature of ``__init__`` (defaults applied), so a new argument can never
be left out of the saved ``config.json``.
"""
import functools
import inspect


def plain(value):
    """Config values as plain JSON types (ConfigDict -> dict, tuple -> list).
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class InitConfigMixin:
    """Sets ``self.config``: ``type`` (the class name) plus every argument of
    the most derived ``__init__``, in signature order, as plain JSON types;
    names in ``config_exclude`` are left out. Enough to rebuild the model
    from the registry."""

    config_exclude = ('init_cfg',)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get('__init__')
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            init(self, *args, **kw)
            if type(self).__init__ is __init__:  # outermost call only
                self.config = _config(type(self).__name__, signature,
                                      bound.arguments,
                                      type(self).config_exclude)

        cls.__init__ = __init__


def _config(name, signature, arguments, exclude) -> dict:
    config = dict(type=name)
    for key, param in list(signature.parameters.items())[1:]:
        if key in exclude:
            continue
        if param.kind is param.VAR_KEYWORD:
            config.update(arguments.get(key, {}))
        elif param.kind is param.VAR_POSITIONAL:
            if arguments.get(key):
                raise TypeError(f'{name}: positional *{key} cannot be '
                                'recorded in a config')
        else:
            config[key] = arguments[key]
    return plain(config)
