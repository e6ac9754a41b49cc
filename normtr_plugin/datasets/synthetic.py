"""A synthetic IEMOCAP-shaped task for demos and tests.

Three modalities, T = 8, four binary emotions (Neutral, Happy, Sad, Angry).
Each emotion k has a latent score per modality, ``s[k, m] ~ N(0, 1)``; its
label is ``sum_m s[k, m] > 0``. Modality m only carries its own share
``s[:, m]``, written into some of its time steps along fixed random
directions plus Gaussian noise. So no single modality holds the label
(about 70% accuracy alone, by construction), fusion recovers it, and
erasing time steps removes evidence.

``min_len`` makes lengths vary (issue 19): each sample keeps, per
modality, a number of leading steps drawn uniformly from
``min_len..seq_len`` (stored without padding, as the converters store real
data), so batches carry padding.
"""
import os.path as osp
from typing import Dict, Optional

import datasets as hf
import numpy as np

from ..registry import DATASETS
from .feature_format import feature_schema, save_feature_dataset
from .multimodal_feature_dataset import MultimodalFeatureDataset
from ..utils.errors import InputError, MissingFileError

EMOTIONS = ('Neutral', 'Happy', 'Sad', 'Angry')
DIMS = dict(audio=74, video=35, text=300)
SIZES = dict(train=2000, validation=400, test=400)


def make_synthetic_split(num_samples: int, rng: np.random.Generator,
                         directions: Dict[str, np.ndarray], seq_len: int,
                         signal_prob: float = 0.5, noise_std: float = 1.0,
                         min_len: Optional[int] = None) -> dict:
    K, M = len(EMOTIONS), len(directions)
    latent = rng.standard_normal((num_samples, K, M)).astype(np.float32)
    columns = {'id': [f'synthetic_{i:06d}' for i in range(num_samples)]}
    for m, (name, dirs) in enumerate(directions.items()):
        # dirs: (K, D). Steps that carry the signal are drawn per sample.
        carries = rng.random((num_samples, seq_len, 1)) < signal_prob
        signal = latent[:, :, m] @ dirs  # (N, D)
        noise = rng.standard_normal(
            (num_samples, seq_len, dirs.shape[1])).astype(np.float32)
        values = (carries * signal[:, None] * 2.0 +
                  noise_std * noise).astype(np.float32)
        if min_len is not None:
            keep = rng.integers(min_len, seq_len + 1, size=num_samples)
            values = [v[:n] for v, n in zip(values, keep)]
        columns[name] = values
    labels = latent.sum(axis=2) > 0
    for k, emotion in enumerate(EMOTIONS):
        columns[emotion] = labels[:, k].astype(np.int64)
    return columns


def make_synthetic_iemocap(out_dir: str, seed: int = 0, seq_len: int = 8,
                           dims: Dict[str, int] = None,
                           sizes: Dict[str, int] = None,
                           min_len: Optional[int] = None) -> str:
    """Write the synthetic task in the project's format to ``out_dir``.

    ``min_len`` (1..seq_len): variable lengths, see the module docstring;
    None: every sample has ``seq_len`` steps (the draws of the fixed-length
    task are unchanged).

    Deterministic for a seed. Written to a temporary folder first, then
    renamed, so an interrupted run never leaves a complete-looking folder.
    """
    dims, sizes = dims or DIMS, sizes or SIZES
    if min_len is not None and not 1 <= min_len <= seq_len:
        raise InputError(f'min_len must be in 1..seq_len ({seq_len}), got '
                         f'{min_len}')
    rng = np.random.default_rng(seed)
    directions = {}
    for name, dim in dims.items():
        d = rng.standard_normal((len(EMOTIONS), dim)).astype(np.float32)
        directions[name] = d / np.linalg.norm(d, axis=1, keepdims=True)
    features = feature_schema(dims, {
        e: hf.ClassLabel(names=['absent', 'present']) for e in EMOTIONS})
    splits = {split: make_synthetic_split(n, rng, directions, seq_len,
                                          min_len=min_len)
              for split, n in sizes.items()}
    return save_feature_dataset(splits, out_dir, features)


#: Where the demo config generates the task on first use.
DEFAULT_ROOT = 'data/synthetic_iemocap'


@DATASETS.register_module()
class SyntheticIEMOCAPDataset(MultimodalFeatureDataset):
    """The synthetic task, generated on first use.

    Generated only into :data:`DEFAULT_ROOT` (relative to the working
    folder) or with ``generate=True``; any other missing ``data_root`` (a
    typo) is an error, so a run never trains on freshly made-up data by
    accident. ``generate=False`` never generates.
    """

    def __init__(self, data_root: str, split: str, seed: int = 0,
                 sizes: Dict[str, int] = None,
                 generate: Optional[bool] = None,
                 min_len: Optional[int] = None, **kwargs):
        kwargs.setdefault('modalities', DIMS)
        kwargs.setdefault('label_columns', EMOTIONS)
        kwargs.setdefault('task', 'multi_binary')
        if generate is None:
            generate = osp.abspath(data_root) == osp.abspath(DEFAULT_ROOT)
        if not osp.isdir(data_root) and not generate:
            raise MissingFileError(
                f'no dataset at {data_root!r}: the synthetic task is '
                f'generated only at {DEFAULT_ROOT!r} or with generate=True '
                f'(--cfg-options train_dataloader.dataset.generate=True '
                '...); check data_root for a typo')
        if not osp.isdir(data_root):  # generated once, then reused
            try:
                make_synthetic_iemocap(data_root, seed=seed, sizes=sizes,
                                       dims=kwargs['modalities'],
                                       min_len=min_len)
            except FileExistsError:  # another process wrote it meanwhile
                pass
        super().__init__(data_root, split, **kwargs)
