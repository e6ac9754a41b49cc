"""Child registries of mmengine's roots.

With ``default_scope='normtr_plugin'`` (or ``_scope_='normtr_plugin'``) in a
config, every component is found through ``locations`` without importing
anything by hand. Registries the plugin adds nothing to still get a child,
so the Runner searches this scope without warnings.
"""
from mmengine import registry as root
from mmengine.registry import DefaultScope, Registry

from .utils.errors import InputError

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


def head_class(type_or_task: str) -> type:
    """The registered head class named ``type_or_task`` (a ``head.type``
    such as ``'RegressionHead'``) or owning that dataset task (its
    ``task`` attribute, e.g. ``'regression'``). Found through ``MODELS``
    only, so layers below models ask the head without importing it."""
    MODELS.import_from_location()
    with DefaultScope.overwrite_default_scope(SCOPE):
        found = MODELS.get(type_or_task)
    if found is not None and getattr(found, 'task', None):
        return found
    heads = {cls.task: cls for cls in MODELS.module_dict.values()
             if isinstance(getattr(cls, 'task', None), str) and cls.task}
    if type_or_task in heads:
        return heads[type_or_task]
    raise InputError(
        f'task must be one of {sorted(heads)} (or a head type: '
        f'{sorted(c.__name__ for c in heads.values())}), got '
        f'{type_or_task!r}')


def build_in_scope(registry: Registry, cfg: dict):
    """Build ``cfg`` from ``registry`` with this plugin as the default scope,
    so plain type names resolve even inside another project's Runner."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        return registry.build(cfg)
