"""print_metrics: metrics as a rich table (flat: metric | value; nested:
one row per key, one column per metric), full width off a terminal."""
import io

from rich.console import Console

from normtr_plugin.evaluation.metrics_table import print_metrics


def printed(metrics, title, width=80):
    buf = io.StringIO()
    print_metrics(metrics, title, Console(file=buf, width=width))
    return buf.getvalue().splitlines()


def test_flat_metrics():
    lines = printed({'MAE': 0.912345, 'Corr': 0.42, 'note': None}, 'test')
    assert lines[0].strip() == 'test'
    rows = {l.split('│')[1].strip(): l.split('│')[2].strip()
            for l in lines if l.startswith('│')}
    assert rows == {'MAE': '0.9123', 'Corr': '0.4200', 'note': '-'}


def test_nested_rows_and_missing_cells():
    lines = printed({'A': {'MAE ↓': '1.0 ± 0.1', 'Corr ↑': 0.5},
                     'B': {'MAE ↓': '2.0'}}, 'AUILC')
    header = next(l for l in lines if 'MAE' in l)
    assert header.index('MAE ↓') < header.index('Corr ↑')
    body = [[c.strip() for c in l.split('│')[1:-1]]
            for l in lines if l.startswith('│')]
    assert body == [['A', '1.0 ± 0.1', '0.5000'], ['B', '2.0', '-']]


def test_wide_table_is_not_wrapped_off_a_terminal():
    metrics = {'model (n=2)': {f'metric_{i}': '0.123 ± 0.004 [± 0.002]'
                               for i in range(8)}}
    lines = printed(metrics, 'wide', width=80)
    body = [l for l in lines if l.startswith('│')]
    assert len(body) == 1  # one line: no cell wrapped
    assert body[0].count('0.123 ± 0.004 [± 0.002]') == 8
