"""A run's config text, rendered once.

``Runner.save_checkpoint`` stores ``cfg.pretty_text`` in every checkpoint,
and mmengine's ``Config.pretty_text`` formats the whole config with yapf
each time it is read (0.1-0.5 s for the demo config, about a tenth of the
demo's training time when it saved every epoch). A run's config does not
change once the Runner is built, so :func:`render_config_once` makes that
one ``Config`` object keep the first text it renders.
"""
from mmengine.config import Config

__all__ = ['RenderedConfig', 'render_config_once']

_TEXT = '_normtr_rendered_text'


class RenderedConfig(Config):
    """A ``Config`` whose ``pretty_text`` is rendered on first use only."""

    @property
    def pretty_text(self) -> str:
        text = self.__dict__.get(_TEXT)
        if text is None:
            text = super().pretty_text
            object.__setattr__(self, _TEXT, text)
        return text


def render_config_once(cfg: Config) -> Config:
    """Make ``cfg`` (a plain mmengine ``Config``) a :class:`RenderedConfig`
    in place and return it; other objects are returned untouched."""
    if type(cfg) is Config:
        object.__setattr__(cfg, '__class__', RenderedConfig)
    return cfg
