"""Structure one way: one error base class, one Hub-id rule, and an import
graph with no circle and no arrow up the layers of docs/architecture.md."""
import ast
import importlib
import inspect
import os
import os.path as osp
import pkgutil
import re
import subprocess
import sys

import pytest

from conftest import ROOT
import normtr_plugin
from normtr_plugin.utils.errors import (InputError, NormTRError,
                                        UnknownNameError, run_tool)
from normtr_plugin.registry import head_class
from normtr_plugin.utils.hub_id import is_hub_id, parse_hub_id


def _all_modules():
    return [m.name for m in pkgutil.walk_packages(normtr_plugin.__path__,
                                                  'normtr_plugin.')]


def test_every_exception_class_derives_from_normtr_error():
    found = []
    for name in _all_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == name and issubclass(obj, Exception) \
                    and not issubclass(obj, Warning):
                found.append(obj)
                assert issubclass(obj, NormTRError), obj
    assert len(found) >= 14  # the 14 of issue 17, plus the shared kinds
    assert issubclass(InputError, ValueError)  # old except clauses still hold


def test_run_tool_one_line_exit_2_and_debug(capsys):
    def bad():
        raise UnknownNameError('unknown format \'x\' (known: mmsa, mult)')
    with pytest.raises(SystemExit) as exit_:
        run_tool(bad, ['tool.py'])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == "tool.py: error: unknown format 'x' (known: mmsa, mult)\n"
    with pytest.raises(UnknownNameError):
        run_tool(bad, ['tool.py', '--debug'])
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        run_tool(lambda: 1 / 0, ['tool.py'])
    with pytest.raises(SystemExit) as exit_:
        run_tool(lambda: 3, ['tool.py'])
    assert exit_.value.code == 3


def test_tool_error_is_one_line_in_a_subprocess(tmp_path):
    cmd = [sys.executable, 'tools/convert_dataset.py', 'mmsa',
           str(tmp_path / 'missing.pkl'), '--out', str(tmp_path / 'o')]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'convert_dataset.py: error:') and 'missing.pkl' in lines[0]


def test_one_hub_id_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_hub_id('my-org/mosi') == 'my-org/mosi'
    assert parse_hub_id('my-org/mosi/') == 'my-org/mosi'
    assert parse_hub_id('hf://my-org/mosi') == 'my-org/mosi'
    for local in ('data/mosi', './a/b', '/srv/mosi', '~/x/y', 'a/b/c',
                  '.hidden/x', 'mosi', '', None):
        assert parse_hub_id(local) is None, local
    (tmp_path / 'my-org' / 'mosi').mkdir(parents=True)
    assert not is_hub_id('my-org/mosi')  # an existing local path wins
    assert not is_hub_id('my-org/other')  # under an existing local folder
    assert parse_hub_id('hf://my-org/mosi') == 'my-org/mosi'  # always Hub
    with pytest.raises(InputError, match='hf://ORG/NAME'):
        parse_hub_id('hf://just-a-name')


def test_no_other_hub_id_deciders():
    """The deciders issue 17 found are gone; their callers ask hub_id."""
    offenders = []
    for dirpath, _, files in os.walk(osp.join(ROOT, 'normtr_plugin')):
        for name in files:
            if not name.endswith('.py') or name == 'hub_id.py':
                continue
            with open(osp.join(dirpath, name)) as f:
                text = f.read()
            for marker in ('_is_hub_id', '_looks_like_hub_id'):
                if marker in text:
                    offenders.append(f'{name}: {marker}')
    assert offenders == []


# ---------------------------------------------------------------------------
# The import graph against docs/architecture.md
# ---------------------------------------------------------------------------

PACKAGE = osp.join(ROOT, 'normtr_plugin')
ARCHITECTURE = osp.join(ROOT, 'docs', 'architecture.md')


def layer_order():
    """``{layer name: rank}`` from the ``layers`` block of
    docs/architecture.md (lowest first; names on one line share a rank)."""
    with open(ARCHITECTURE) as f:
        text = f.read()
    block = text.split('```layers\n', 1)[1].split('```', 1)[0]
    ranks = {}
    for rank, line in enumerate(l for l in block.splitlines() if l.strip()):
        for name in line.split(','):
            ranks[name.strip()] = rank
    return ranks


def _module_names():
    names = {}
    for dirpath, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(dirpath, name)
                rel = osp.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                names[rel[:-len('.__init__')] if name == '__init__.py'
                      else rel] = path
    return names


def import_graph():
    """``{module: {imported module, ...}}`` inside the package, every
    import statement counted (also those inside functions)."""
    modules = _module_names()
    graph = {}
    for module, path in modules.items():
        package = module if path.endswith('__init__.py') else \
            module.rsplit('.', 1)[0]
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split('.')
                    base = parts[:len(parts) - node.level + 1]
                    source = '.'.join(base + ([node.module] if node.module
                                              else []))
                else:
                    source = node.module or ''
                for alias in node.names:  # a submodule, else the module
                    sub = f'{source}.{alias.name}'
                    targets.add(sub if sub in modules else source)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def layer_of(module, ranks):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 and parts[1] in ranks else parts[0]


def test_every_module_has_a_layer():
    ranks = layer_order()
    assert {layer_of(m, ranks) for m in import_graph()} <= set(ranks)


def test_no_import_runs_up_or_across_the_layers():
    """A module imports its own layer-package and lower layers only (two
    packages sharing a rank, e.g. datasets and models, not each other)."""
    ranks = layer_order()
    bad = sorted(
        f'{a} -> {b}' for a, targets in import_graph().items()
        for b in targets
        if layer_of(a, ranks) != layer_of(b, ranks)
        and ranks[layer_of(b, ranks)] >= ranks[layer_of(a, ranks)])
    assert bad == []


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_package_inits(graph):
    """A package's ``__init__`` re-exports its modules; an import of the
    package from one of its own modules is not a circle of design."""
    inits = {m for m, path in _module_names().items()
             if osp.basename(path) == '__init__.py'}
    return {a: {b for b in bs if not (b in inits and a.startswith(b + '.'))}
            for a, bs in graph.items()}


def test_no_import_circle():
    assert _cycles(_without_package_inits(import_graph())) == []


def test_the_checks_catch_what_they_should(tmp_path):
    assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [
        ['a', 'b', 'c']]
    ranks = layer_order()
    assert ranks['utils'] < ranks['models'] < ranks['hub']
    assert ranks['datasets'] == ranks['models']


def test_the_head_owns_its_task():
    """Dataset, held-out split, manifest and card ask the head class
    (found through MODELS); no module outside the heads branches on a
    task string."""
    import numpy as np
    labels = np.array([[0.], [2.], [1.]])
    for task, dtype, shape in (('regression', np.float32, (3,)),
                               ('classification', np.int64, (3,)),
                               ('multi_label', np.float32, (3, 1))):
        head = head_class(task)
        assert head.task == task and head is head_class(head.__name__)
        out = head.read_labels(labels, ['label'], 'x', num_classes=3)
        assert out.dtype == dtype and out.shape == shape
    with pytest.raises(InputError, match=r"'label' in x: 1 labels out of "
                       r'range; expected integers 0\.\.1, found e.g. 2'):
        head_class('multi_binary').read_labels(labels, ['label'], 'x')
    with pytest.raises(InputError, match="task must be one of.*'foo'"):
        head_class('foo')
    assert head_class('classification').strata(labels[:, 0]) is not None
    assert head_class('regression').strata(labels[:, 0]) is None
    branch = re.compile(
        r"""\btask\b['"\])]*\s*(==|!=|in\b|not in\b)\s*[('"\[]""")
    found = []
    for module, path in _module_names().items():
        if '.models.heads' in module or module == 'normtr_plugin.registry':
            continue
        with open(path) as f:
            found += [f'{module}:{i}' for i, line in enumerate(f, 1)
                      if branch.search(line.split('#')[0])]
    assert found == []


def test_checkpoint_hook_overrides_public_mmengine_methods_only():
    from mmengine.hooks import CheckpointHook

    from normtr_plugin.engine.checkpoint_hook import AtomicCheckpointHook
    own = {n for n in vars(AtomicCheckpointHook)
           if n.startswith('_') and not n.startswith('__')}
    assert own and not own & set(dir(CheckpointHook))


def test_config_text_is_rendered_once(monkeypatch):
    from mmengine.config import Config

    from normtr_plugin.engine.rendered_config import (RenderedConfig,
                                                      render_config_once)
    cfg = Config(dict(model=dict(type='NormTR', embed_dim=8)))
    calls = []
    render = Config.pretty_text.fget
    monkeypatch.setattr(Config, 'pretty_text', property(
        lambda self: calls.append(1) or render(self)))
    first = cfg.pretty_text
    assert render_config_once(cfg) is cfg and isinstance(cfg, RenderedConfig)
    assert cfg.pretty_text == cfg.pretty_text == first
    assert len(calls) == 2  # before, and once after
    assert cfg.model.embed_dim == 8  # still the same config


def test_every_tool_reports_errors_through_run_tool():
    """Each tool's ``main`` runs through ``run_tool`` and no tool catches
    a hand-picked set of exceptions to print them itself."""
    tools = sorted(
        osp.join(dirpath, name)
        for dirpath, _, files in os.walk(osp.join(ROOT, 'tools'))
        # tune_spaces/ holds tune.py's search spaces: data, not tools
        if osp.basename(dirpath) != 'tune_spaces'
        for name in files if name.endswith('.py'))
    missing, picked = [], []
    for path in tools:
        with open(path) as f:
            text = f.read()
        name = osp.relpath(path, ROOT)
        if 'run_tool(main)' not in text:
            missing.append(name)
        if re.search(r'except \([A-Za-z]*Error, [A-Za-z]*Error', text):
            picked.append(name)
    assert (missing, picked) == ([], [])
