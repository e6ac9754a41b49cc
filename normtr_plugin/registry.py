"""Child registries of mmengine's roots.

With ``default_scope='normtr_plugin'`` (or ``_scope_='normtr_plugin'``) in a
config, every component is found through ``locations`` without importing
anything by hand.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'normtr_plugin'

MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE,
                  locations=['normtr_plugin.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE,
                    locations=['normtr_plugin.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
                      locations=['normtr_plugin.datasets'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE,
                   locations=['normtr_plugin.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE,
                 locations=['normtr_plugin.engine'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope=SCOPE,
                     locations=['normtr_plugin.datasets'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                         scope=SCOPE, locations=['normtr_plugin.engine'])


def build_in_scope(registry: Registry, cfg: dict):
    """Build ``cfg`` from ``registry`` with this plugin as the default scope,
    so plain type names resolve even inside another project's Runner."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(SCOPE):
        return registry.build(cfg)
