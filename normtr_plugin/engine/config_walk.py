"""Where a config keeps its data settings: the three dataloaders, their
datasets (through wrappers) and the top-level keys that reach everything.

The lowest layer of the config helpers: ``propagate.py``,
``data_check.py``, ``model_selection.py`` and ``run_identity.py`` import it
and it imports none of them.
"""
from typing import Iterator

from mmengine.config import ConfigDict

__all__ = ['DATALOADERS', 'LABEL_KEYS', 'PIPELINES', 'PIPELINE_LOADERS',
           'TOP_KEYS', 'dataset_cfgs']

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
PIPELINES = ('train_pipeline', 'val_pipeline', 'test_pipeline')
TOP_KEYS = ('data_root', 'modalities', 'seq_len')
#: top-level keys of the labels: they reach the datasets that state them
#: (and ``label_columns`` the head's output count)
LABEL_KEYS = ('task', 'label_columns')
#: top-level pipeline -> the dataloaders whose datasets copy it
PIPELINE_LOADERS = {'train_pipeline': ('train_dataloader',),
                    'val_pipeline': ('val_dataloader',),
                    'test_pipeline': ('val_dataloader', 'test_dataloader')}


def dataset_cfgs(loader) -> Iterator[ConfigDict]:
    """The dataset configs of a dataloader config, through wrappers
    (``dataset=dict(type=Wrapper, dataset=...)`` or ``datasets=[...]``)."""
    if not isinstance(loader, dict):
        return
    stack = [loader.get('dataset')]
    while stack:
        ds = stack.pop()
        if not isinstance(ds, dict):
            continue
        inner = [ds.get('dataset')] + list(ds.get('datasets') or [])
        inner = [d for d in inner if isinstance(d, dict)]
        if inner:  # a wrapper: its leaves hold the data settings
            stack.extend(inner)
        else:
            yield ds
