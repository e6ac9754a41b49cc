"""Read settings out of config text as data, never running it.

mmengine stores a training run's config in checkpoints as Python source
(``meta['cfg']``, the config's ``pretty_text``). A checkpoint can come from
anyone, so that text is never executed (``Config.fromstring`` would run
it): :func:`read_assignment` parses it with :mod:`ast` and evaluates one
top-level ``name = value`` whose value is plain data -- ``dict(k=v, ...)``
calls, ``{...}``, ``[...]``, ``(...)``, numbers, strings, ``True``,
``False``, ``None`` -- and nothing else.

:func:`redact_paths` keeps the absolute local paths of the machine that
trained (data root, work dir) out of what is published.
"""
import ast
import re

from ..utils.errors import InputError

__all__ = ['ConfigTextError', 'read_assignment', 'redact_paths']

_ABS_PATH = re.compile(r"""(['"])((?:/|~/|[A-Za-z]:[\\/])[^'"\n]*)\1""")


class ConfigTextError(InputError):
    """Config text that is not plain data where data was expected."""


def _data(node: ast.AST, where: str):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_data(n, where) for n in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ConfigTextError(f'{where}: ** unpacking is not data')
        return {_data(k, where): _data(v, where)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args and \
            all(k.arg is not None for k in node.keywords):
        return {k.arg: _data(k.value, where) for k in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(
            node.op, (ast.USub, ast.UAdd)) and isinstance(
                node.operand, ast.Constant) and isinstance(
                    node.operand.value, (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise ConfigTextError(
        f'{where}: line {getattr(node, "lineno", "?")} holds '
        f'{ast.dump(node)[:80]}, which is not plain data (dicts, lists, '
        'numbers, strings); it is never run')


def read_assignment(text: str, name: str, where: str):
    """The value assigned to top-level ``name`` in config ``text``, as data.

    Raises:
        ConfigTextError: the text does not parse, has no such assignment,
            or its value is anything but plain data.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as err:
        raise ConfigTextError(f'{where}: does not parse as a config '
                              f'({err})') from None
    value, found = None, False
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name
                for t in stmt.targets):
            value, found = stmt.value, True
    if not found:
        raise ConfigTextError(f'{where}: has no top-level {name!r} setting')
    return _data(value, f'{where}, {name!r}')


def redact_paths(text: str) -> str:
    """``text`` with every quoted absolute path (``'/…'``, ``'~/…'``,
    ``'C:\\…'``) cut to ``'.../<last part>'``."""
    def cut(match):
        name = re.split(r'[\\/]', match.group(2).rstrip('/\\'))[-1]
        return f'{match.group(1)}.../{name}{match.group(1)}'
    return _ABS_PATH.sub(cut, text)
