"""Say what is wrong with ``data_root`` before anything else runs.

``tools/train.py`` and ``tools/test.py`` call :func:`check_data_root` right
after loading the config, before the Runner prints it: a missing folder is
reported with the converter that fits the config (its ``data_source``
entry), a pickle or HDF5 file (or a folder of raw HDF5 files) given as
``data_root`` is reported as something to convert. A Hub id (``org/name``
that is not a local path) is left to the loader.
"""
import json
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .propagate import DATALOADERS, dataset_cfgs
from ..utils.errors import MissingFileError
from ..utils.hub_id import is_hub_id

__all__ = ['DataRootError', 'check_data_root', 'data_roots',
           'prepare_command', 'read_splits', 'split_names']

#: format -> (what users have, an example source path)
KNOWN_SOURCES = {
    'mmsa': ("MMSA's aligned_50.pkl", 'aligned_50.pkl'),
    'mult': ("MulT's *_data.pkl", 'DATA.pkl'),
    'cmu-h5': ('a folder of CMU-SDK HDF5 files', 'SRC_FOLDER'),
}


class DataRootError(MissingFileError):
    """``data_root`` holds no converted dataset."""


def data_roots(cfg: Config) -> List[str]:
    """The distinct ``data_root`` of the datasets the loaders build (that
    must exist: a synthetic dataset's generated default is skipped)."""
    roots = []
    for name in DATALOADERS:
        for ds in dataset_cfgs(cfg.get(name)):
            root = ds.get('data_root')
            if root is None or ds.get('generate') or _generated(ds):
                continue
            if str(root) not in roots:
                roots.append(str(root))
    return roots


def _generated(ds) -> bool:
    if ds.get('type') != 'SyntheticIEMOCAPDataset':
        return False
    from ..datasets.synthetic import DEFAULT_ROOT
    return osp.abspath(ds['data_root']) == osp.abspath(DEFAULT_ROOT)


def prepare_command(cfg: Config, root: str, src: Optional[str] = None
                    ) -> str:
    """'convert X with `python tools/convert_dataset.py ...`' for ``cfg``
    (its ``data_source = dict(format=..., file=..., src=...)``)."""
    source = cfg.get('data_source') or {}
    fmt = source.get('format')
    if fmt == 'extract':  # raw media: the feature extraction tool
        return (f"extract features from {source.get('file', 'raw media')} "
                f'with `python tools/extract_features.py --manifest '
                f"{src or source.get('src', 'MANIFEST.csv')} --out {root}`")
    if fmt is None:
        return (f'convert your feature files with `python '
                f'tools/convert_dataset.py FORMAT SRC --out {root}` '
                '(FORMAT: mmsa, mult or cmu-h5; see docs/datasets.md)')
    what, example = KNOWN_SOURCES.get(fmt, (fmt, 'SRC'))
    what, example = source.get('file', what), src or source.get(
        'src', example)
    return (f'convert {what} with `python tools/convert_dataset.py {fmt} '
            f'{example} --out {root}`')


def _raw_format(root: str, preferred: Optional[str]) -> Optional[str]:
    """The converter a raw source file/folder at ``root`` needs, if any
    (for a pickle: the config's own format if it reads pickles)."""
    if osp.isfile(root):
        if root.endswith(('.pkl', '.pickle')):
            if preferred in ('mmsa', 'mult'):
                return preferred
            return 'mmsa' if 'aligned' in osp.basename(root) else 'mult'
        if root.endswith(('.h5', '.hdf5')):
            return 'cmu-h5'
        return 'unknown'
    if osp.isdir(root) and not osp.isfile(
            osp.join(root, 'dataset_dict.json')):
        names = os.listdir(root)
        if any(n.endswith('.h5') for n in names) and not any(
                n.endswith('.parquet') or n == 'data' for n in names):
            return 'cmu-h5'
    return None


def check_data_root(cfg: Config, reason: str = '',
                    roots: Optional[List[str]] = None) -> None:
    """Raise :class:`DataRootError` when a ``data_root`` of ``cfg`` (or
    one of ``roots``) holds no converted dataset (see the module
    docstring)."""
    for root in data_roots(cfg) if roots is None else roots:
        if is_hub_id(root):
            continue
        suffix = f' ({reason})' if reason else ''
        fmt = _raw_format(root, (cfg.get('data_source') or {}).get(
            'format'))
        if fmt is not None:
            out = (cfg.get('data_source') or {}).get('default_root') or \
                'data/NAME'
            kind = ('a folder of raw HDF5 files' if osp.isdir(root) else
                    'a pickle' if fmt in ('mmsa', 'mult') else 'a file')
            if fmt == 'unknown':
                how = prepare_command(cfg, out, root)
            else:
                how = (f'convert it with `python tools/convert_dataset.py '
                       f'{fmt} {root} --out {out}`')
            raise DataRootError(
                f'data_root {root!r} is {kind}, not a converted dataset'
                f'{suffix}; {how}, then use --cfg-options data_root={out}')
        if not osp.exists(root):
            raise DataRootError(
                f'no dataset at {root}{suffix}; '
                + prepare_command(cfg, root) + ', or point data_root at a '
                'converted folder or a Hub dataset id: --cfg-options '
                'data_root=DIR')


def split_names(root: str, cfg: Optional[Config] = None) -> List[str]:
    """The split names of the dataset at ``root`` (cheap for a folder
    written by the converters: read from ``dataset_dict.json``)."""
    index = osp.join(root, 'dataset_dict.json')
    if osp.isfile(index):
        with open(index) as f:
            return list(json.load(f).get('splits', []))
    return list(read_splits(root, cfg))


def read_splits(root: str, cfg: Optional[Config] = None):
    """All splits of the dataset at ``root`` (``datasets.DatasetDict``), at
    the revision the config's datasets name."""
    from ..datasets.sources import load_splits
    revision = None
    for name in DATALOADERS:
        for ds in dataset_cfgs((cfg or {}).get(name)):
            revision = revision or ds.get('revision')
    return load_splits(root, revision)[0]
