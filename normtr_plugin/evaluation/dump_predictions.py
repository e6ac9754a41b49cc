"""Per-sample predictions: one record schema, written to a file.

:func:`prediction_record` builds the record of one predicted data sample;
every producer of per-sample outputs calls it: ``tools/test.py --dump``
(the :class:`DumpPredictions` metric), ``tools/infer.py`` and
``NormTRInferencer``. ``FILE`` ending in ``.jsonl`` gets JSON lines,
``.parquet`` a Parquet table; written atomically. Rows come in the order
the loader gave them (gathered over all processes).
"""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from ..utils import atomic_path, atomic_write
from .functional import to_numpy
from ..utils.errors import InputError

__all__ = ['DUMP_FORMATS', 'DumpPredictions', 'output_names',
           'prediction_record', 'write_rows']

DUMP_FORMATS = ('.json', '.jsonl', '.parquet')


def output_names(meta: Optional[dict], count: int) -> List[str]:
    """Names of ``count`` outputs: the dataset's ``classes`` (a
    classification) or ``label_names`` (one per multi-binary / multi-label
    output), else ``label0, label1, ...``."""
    meta = meta or {}
    for key in ('classes', 'label_names'):
        names = meta.get(key)
        if names and len(names) == count:
            return [str(n) for n in names]
    return [f'label{i}' for i in range(count)]


def _labels(value, names: Optional[Sequence[str]]):
    """A label: a float score (regression), a class name (an integer
    class index), or ``{name: 0 | 1}`` (one entry per output)."""
    arr = to_numpy(value)
    if arr.ndim == 0:
        if np.issubdtype(arr.dtype, np.floating):
            return float(arr)
        i = int(arr)
        return output_names(None, i + 1)[i] if not names else names[i]
    flat = arr.reshape(-1)
    names = names or output_names(None, len(flat))
    return {n: int(v) if float(v).is_integer() else float(v)
            for n, v in zip(names, flat)}


def prediction_record(sample, names: Optional[Sequence[str]] = None
                      ) -> dict:
    """The output record of one predicted data sample (plain JSON types).

    Fields: ``id``; ``pred_score``; ``pred_label`` (heads that predict
    one); ``gt_label`` (when the sample has a label). Forms:

    - regression: ``pred_score`` and ``gt_label`` are floats, no
      ``pred_label``;
    - classification: ``pred_score`` ``{class: probability}``,
      ``pred_label`` and ``gt_label`` the class name;
    - multi-binary / multi-label: ``pred_score`` ``{name: P(present)}``,
      ``pred_label`` and ``gt_label`` ``{name: 0 | 1}`` (e.g.
      ``{"happy": 1, "sad": 0, ...}``).

    ``names``: the class or label names in output order
    (:func:`output_names`); ``label0, ...`` when None.
    """
    record = {'id': sample.metainfo.get('id') if hasattr(sample, 'metainfo')
              else sample.get('id')}
    score = to_numpy(sample.get('pred_score'))
    if score.ndim == 0:
        record['pred_score'] = float(score)
    else:
        if score.ndim == 2:  # multi-binary (K, 2): P(present)
            score = score[:, 1]
        names = names or output_names(None, len(score))
        record['pred_score'] = {n: float(p) for n, p in zip(names, score)}
    for key in ('pred_label', 'gt_label'):
        if sample.get(key) is not None:
            record[key] = _labels(sample.get(key), names)
    return record


def check_dump_path(path: str) -> str:
    ext = osp.splitext(path)[1].lower()
    if ext not in DUMP_FORMATS:
        raise InputError(f'--dump {path!r}: the file name must end in '
                         f'{" or ".join(DUMP_FORMATS)}, found {ext!r}')
    return ext


def write_rows(path: str, rows: List[dict]) -> str:
    """Write ``rows`` (dicts) as a JSON list, JSON lines or Parquet (by
    extension); a non-finite value is an error in the JSON forms."""
    ext = check_dump_path(path)
    if ext == '.json':
        with atomic_write(path) as f:
            json.dump(rows, f, indent=2, allow_nan=False)
        return path
    if ext == '.jsonl':
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
        for sample in data_samples:
            score = to_numpy(sample.get('pred_score'))
            names = None if score.ndim == 0 else output_names(
                self.dataset_meta, len(score))
            self.results.append(prediction_record(sample, names))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        write_rows(self.out_file, results)
        return {}
