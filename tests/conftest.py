import os
import os.path as osp
import sys

# Before datasets / huggingface_hub read them at import: no network retries.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import datasets as hf  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from normtr_plugin.datasets import feature_schema, save_feature_dataset

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
hf.disable_progress_bars()

LABELS = {
    'regression': lambda cols, k, rng, n: {
        'label': rng.uniform(-3, 3, n).astype(np.float32)},
    'classification': lambda cols, k, rng, n: {
        'label': rng.integers(0, k, n)},
    'multi_binary': lambda cols, k, rng, n: {
        c: rng.integers(0, 2, n) for c in cols},
    'multi_label': lambda cols, k, rng, n: {
        c: rng.integers(0, 2, n) for c in cols},
}


def label_features(task, label_columns, num_classes=6):
    if task == 'regression':
        return {'label': hf.Value('float32')}
    if task == 'classification':
        return {'label': hf.ClassLabel(
            names=[f'class{i}' for i in range(num_classes)])}
    return {c: hf.Value('int64') for c in label_columns}


def write_dataset(root, modalities, task='regression',
                  label_columns=('label',), sizes=None, seq_len=10,
                  num_classes=6, seed=0):
    """Write a small random dataset in the project's format."""
    sizes = sizes or dict(train=12, validation=6, test=6)
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in sizes.items():
        cols = {'id': [f'{split}_{i}' for i in range(n)]}
        for m, d in modalities.items():
            cols[m] = rng.standard_normal((n, seq_len, d)).astype(np.float32)
        cols.update(LABELS[task](label_columns, num_classes, rng, n))
        splits[split] = cols
    features = feature_schema(
        modalities, label_features(task, label_columns, num_classes))
    return save_feature_dataset(splits, str(root), features)


@pytest.fixture
def tiny_regression_data(tmp_path):
    return write_dataset(tmp_path / 'reg', dict(audio=5, video=7, text=9))


sys.path.insert(0, ROOT)
