"""Metrics printed as a table (rich), for train / test / robustness.

    print_metrics({'MAE': 0.91, 'Corr': 0.42}, 'test metrics')
    print_metrics({'model A': {'MAE': '0.91 ± 0.02'}, ...}, 'AUILC')

A flat dict gives one ``metric | value`` row per metric; a dict of dicts
one row per key and one column per metric (first-seen order, ``-`` where a
row lacks one). Floats are shown with 4 significant decimals.
"""
from typing import Mapping, Optional

from rich.console import Console
from rich.table import Table

__all__ = ['metrics_table', 'print_metrics']


def _cell(value) -> str:
    if isinstance(value, float):
        return f'{value:.4f}'
    return '-' if value is None else str(value)


def metrics_table(metrics: Mapping, title: str) -> Table:
    """The rich ``Table`` of ``metrics`` (module docstring)."""
    table = Table(title=title, title_justify='left')
    if metrics and all(isinstance(v, Mapping) for v in metrics.values()):
        columns = []
        for row in metrics.values():
            columns += [c for c in row if c not in columns]
        table.add_column('')
        for c in columns:
            table.add_column(str(c), justify='right')
        for name, row in metrics.items():
            table.add_row(str(name), *[_cell(row.get(c)) for c in columns])
        return table
    table.add_column('metric')
    table.add_column('value', justify='right')
    for name, value in metrics.items():
        table.add_row(str(name), _cell(value))
    return table


def print_metrics(metrics: Mapping, title: str,
                  console: Optional[Console] = None) -> None:
    """Print ``metrics`` as a table (to stdout unless ``console``). Off a
    terminal (a log file, a pipe) the table gets its full width instead of
    wrapping at 80 columns."""
    table = metrics_table(metrics, title)
    console = console or Console()
    if not console.is_terminal:
        need = console.measure(
            table, options=console.options.update_width(10_000)).maximum
        if need > console.width:
            console = Console(file=console.file, width=need)
    console.print(table)
