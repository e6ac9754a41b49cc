"""Child registries of mmengine's roots.

With ``default_scope='normtr_plugin'`` (or ``_scope_='normtr_plugin'``) in a
config, every component is found through ``locations`` without importing
anything by hand. Registries the plugin adds nothing to still get a child,
so the Runner searches this scope without warnings.
"""
from mmengine import registry as root
from mmengine.registry import DefaultScope, Registry

SCOPE = 'normtr_plugin'


def _child(parent: Registry, *locations: str) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE,
                    locations=[f'{SCOPE}.{loc}' for loc in locations])


MODELS = _child(root.MODELS, 'models', 'structures')  # maskers in structures
DATASETS = _child(root.DATASETS, 'datasets')
TRANSFORMS = _child(root.TRANSFORMS, 'datasets')
FUNCTIONS = _child(root.FUNCTIONS, 'datasets')
METRICS = _child(root.METRICS, 'evaluation')
HOOKS = _child(root.HOOKS, 'engine')
OPTIM_WRAPPERS = _child(root.OPTIM_WRAPPERS, 'engine')

RUNNERS = _child(root.RUNNERS)
RUNNER_CONSTRUCTORS = _child(root.RUNNER_CONSTRUCTORS)
LOOPS = _child(root.LOOPS)
DATA_SAMPLERS = _child(root.DATA_SAMPLERS)
MODEL_WRAPPERS = _child(root.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(root.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(root.OPTIMIZERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(root.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(root.PARAM_SCHEDULERS)
EVALUATOR = _child(root.EVALUATOR)
VISUALIZERS = _child(root.VISUALIZERS)
VISBACKENDS = _child(root.VISBACKENDS)
LOG_PROCESSORS = _child(root.LOG_PROCESSORS)


def build_in_scope(registry: Registry, cfg: dict):
    """Build ``cfg`` from ``registry`` with this plugin as the default scope,
    so plain type names resolve even inside another project's Runner."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        return registry.build(cfg)
