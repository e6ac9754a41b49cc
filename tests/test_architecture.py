"""Structure one way: one error base class, one Hub-id rule, and an import
graph with no circle and no arrow up the layers of docs/architecture.md."""
import ast
import importlib
import inspect
import os
import os.path as osp
import pkgutil
import subprocess
import sys

import pytest

from conftest import ROOT
import normtr_plugin
from normtr_plugin.utils.errors import (InputError, NormTRError,
                                        UnknownNameError, run_tool)
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
    debug = subprocess.run(cmd + ['--debug'], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and 'Traceback' in debug.stderr


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
