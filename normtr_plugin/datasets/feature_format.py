"""The project's feature format, and the one place that writes it.

A ``datasets.DatasetDict`` saved with ``save_to_disk``; splits ``train``,
``validation``, ``test``; columns ``id`` (string), one
``Array2D((None, N_m), 'float32')`` per modality, and label columns.
"""
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Mapping

import datasets as hf


def feature_schema(modalities: Mapping[str, int],
                   labels: Mapping[str, object]
                   ) -> hf.Features:
    """Columns: id, one Array2D per modality, then the label columns."""
    return hf.Features({
        'id': hf.Value('string'),
        **{m: hf.Array2D((None, d), 'float32') for m, d in modalities.items()},
        **labels})


def save_feature_dataset(splits: Dict[str, dict], out_dir: str,
                         features: hf.Features,
                         overwrite: bool = False) -> str:
    """Write ``{split: {column: values}}`` to ``out_dir`` atomically.

    The data goes to a temporary folder beside ``out_dir`` that is renamed
    at the end, so an interrupted run never leaves a complete-looking folder.
    """
    if osp.exists(out_dir) and not overwrite:
        raise _exists(out_dir)
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.tmp-', dir=parent)
    try:
        hf.DatasetDict({
            name: hf.Dataset.from_dict(columns, features=features)
            for name, columns in splits.items()}).save_to_disk(tmp)
        if osp.exists(out_dir):  # another writer may have finished first
            if not overwrite:
                raise _exists(out_dir)
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _exists(out_dir: str) -> FileExistsError:
    return FileExistsError(f'{out_dir!r} exists; pass overwrite=True to '
                           'replace it')
