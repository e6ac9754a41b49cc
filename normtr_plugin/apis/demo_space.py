"""A Hugging Face Space folder running the demo page over a published
model: ``app.py`` + ``requirements.txt`` (``tools/publish.py --space``).

    write_space('work_dirs/published', 'space')       # the model copied in
    write_space('org/name', 'space')                   # loaded from the Hub

A local published folder (``config.json`` + ``model.safetensors``) is
copied into ``DIR/model`` (verified against its ``SHA256SUMS`` first,
which is written for the copy too) so the Space holds what it runs; a Hub
model id
is loaded by the Space at start. ``app.py`` builds the same page as
``tools/demo_app.py`` (:mod:`~normtr_plugin.apis.demo_page`).
Files are written atomically.
"""
import os.path as osp
import shutil
from typing import Dict, Optional

from ..hub.checksums import CHECKSUMS_NAME, verify_checksums, write_checksums
from ..hub.pretrained import CONFIG_NAME, WEIGHTS_NAME
from ..utils import atomic_path, write_text
from ..utils.errors import InputError

__all__ = ['SpaceError', 'write_space']

APP = '''"""Gradio Space: the NORM-TR demo page of {title}."""
import os.path as osp

from normtr_plugin.apis.demo_page import DemoPage, build_demo

HERE = osp.dirname(osp.abspath(__file__))
MODEL = {model}
DATA_ROOT = {data_root!r}  # a dataset offering samples, or None

demo = build_demo(DemoPage(MODEL, DATA_ROOT), title={title!r})

if __name__ == '__main__':
    demo.launch()
'''


class SpaceError(InputError):
    """A model that cannot be turned into a Space folder."""


def write_space(model: str, out_dir: str, data_root: Optional[str] = None,
                requirement: str = 'normtr-plugin[demo]') -> Dict[str, str]:
    """Write ``out_dir/app.py`` and ``requirements.txt`` (and
    ``out_dir/model`` for a local folder). ``requirement``: how the Space
    installs this package. Returns ``{name: path}``."""
    paths = dict(app=osp.join(out_dir, 'app.py'),
                 requirements=osp.join(out_dir, 'requirements.txt'))
    if osp.isdir(model):
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not osp.isfile(osp.join(model, name)):
                raise SpaceError(f'{model} is not a published model folder: '
                                 f'{name} missing')
        names = (CONFIG_NAME, WEIGHTS_NAME)
        sums = osp.join(model, CHECKSUMS_NAME)  # never copy a corrupt file
        verify_checksums(sums if osp.isfile(sums) else None,
                         {n: osp.join(model, n) for n in names}, repr(model))
        for name in names:
            paths[name] = osp.join(out_dir, 'model', name)
            with atomic_path(paths[name]) as tmp:
                shutil.copyfile(osp.join(model, name), tmp)
        paths[CHECKSUMS_NAME] = write_checksums(osp.join(out_dir, 'model'),
                                                names)
        source, title = "osp.join(HERE, 'model')", osp.basename(
            osp.normpath(model))
    else:
        source, title = repr(model), model
    write_text(paths['app'], APP.format(model=source, title=title,
                                        data_root=data_root))
    write_text(paths['requirements'], f'{requirement}\ngradio\n')
    return paths
