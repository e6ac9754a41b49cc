"""Per-sample predictions of an evaluation, written to a file.

``tools/test.py --dump FILE`` adds :class:`DumpPredictions` to the test
evaluator. One row per test sample (gathered over all processes), in the
order the loader gave them: ``id``, ``gt_label`` (when the split has
labels), ``pred_score`` and ``pred_label`` (as the head returns them:
numbers or lists), and for a classification task ``gt_class`` /
``pred_class`` (class names). ``FILE`` ending in ``.jsonl`` gets JSON
lines, ``.parquet`` a Parquet table; written atomically.
"""
import json
import os.path as osp
from typing import Any, Dict, List, Sequence

from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from ..utils import atomic_path, atomic_write
from .functional import to_numpy
from ..utils.errors import InputError

__all__ = ['DUMP_FORMATS', 'DumpPredictions', 'write_rows']

DUMP_FORMATS = ('.jsonl', '.parquet')
FIELDS = ('gt_label', 'pred_score', 'pred_label')


def _plain(value):
    arr = to_numpy(value)
    return arr.item() if arr.ndim == 0 else arr.tolist()


def check_dump_path(path: str) -> str:
    ext = osp.splitext(path)[1].lower()
    if ext not in DUMP_FORMATS:
        raise InputError(f'--dump {path!r}: the file name must end in '
                         f'{" or ".join(DUMP_FORMATS)}, found {ext!r}')
    return ext


def write_rows(path: str, rows: List[dict]) -> str:
    """Write ``rows`` (dicts) as JSON lines or Parquet (by extension)."""
    if check_dump_path(path) == '.jsonl':
        with atomic_write(path) as f:
            for row in rows:
                f.write(json.dumps(row, allow_nan=False) + '\n')
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    return path


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Collect per-sample predictions and write them to ``out_file``;
    reports no metric (see the module docstring)."""

    default_prefix = None

    def __init__(self, out_file: str, **kwargs):
        super().__init__(**kwargs)
        check_dump_path(out_file)
        self.out_file = out_file

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        classes = (self.dataset_meta or {}).get('classes')
        for sample in data_samples:
            row = {'id': sample.get('id')}
            row.update({k: _plain(sample[k]) for k in FIELDS
                        if k in sample})
            if classes:
                for key, name in (('gt_label', 'gt_class'),
                                  ('pred_label', 'pred_class')):
                    if isinstance(row.get(key), int):
                        row[name] = classes[row[key]]
            self.results.append(row)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        write_rows(self.out_file, results)
        return {}
