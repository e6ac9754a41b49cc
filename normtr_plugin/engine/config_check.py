"""Config-time checks: a modality/length mismatch is reported when the
config is built (``NormTRRunner.from_cfg``), before any data is read.
"""
from mmengine.config import Config

from ..utils.errors import InputError
from .config_walk import DATALOADERS, PIPELINES, dataset_cfgs

__all__ = ['ConfigError', 'MAX_SEQ_LEN', 'check_lengths']

#: the most steps per sample a config may ask for: attention stores
#: T x T scores per head and sample (16384 steps: 1 GiB in float32)
MAX_SEQ_LEN = 16384


class ConfigError(InputError):
    """A config whose parts disagree (modalities, lengths, dims)."""


def _check_seq_len(seq_len, modalities, where: str) -> None:
    if seq_len is None:
        return  # read from the data (propagate.infer_from_data)
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, dict)):
        raise ConfigError(f'{where}: seq_len must be an int T or a dict '
                          f'modality -> T_m, found {seq_len!r}')
    lens = seq_len if isinstance(seq_len, dict) else {None: seq_len}
    for m, t in lens.items():
        if isinstance(t, bool) or not isinstance(t, int) or \
                not 1 <= t <= MAX_SEQ_LEN:
            which = 'every modality' if m is None else f'modality {m!r}'
            raise ConfigError(
                f'{where}: seq_len of {which} must be an int in 1..'
                f'{MAX_SEQ_LEN} (steps per sample; attention holds T x T '
                f'scores), found {t!r}')
    if isinstance(seq_len, dict) and set(seq_len) != set(modalities):
        raise ConfigError(
            f'{where}: seq_len names {sorted(seq_len)} but modalities are '
            f'{sorted(modalities)}; give one T_m per modality (expected '
            f'keys {sorted(modalities)}, found {sorted(seq_len)})')


def _pipelines(cfg: Config):
    for name in DATALOADERS:
        for ds in dataset_cfgs(cfg.get(name)):
            yield f'{name}.dataset.pipeline', ds.get('pipeline'), \
                ds.get('modalities')
    for name in PIPELINES:
        yield name, cfg.get(name), None


def check_lengths(cfg: Config) -> None:
    """Raise :class:`ConfigError` when ``seq_len`` (top level, model,
    every transform with a ``seq_len``) does not fit the modalities, or
    the model and the datasets name other modalities or dims."""
    modalities = dict(cfg.get('modalities') or {})
    if not modalities:
        return
    _check_seq_len(cfg.get('seq_len'), modalities, 'seq_len')
    model = cfg.get('model') or {}
    if isinstance(model.get('modalities'), dict) and \
            dict(model.modalities) != modalities:
        raise ConfigError(f'model.modalities {dict(model.modalities)} '
                          f'differs from modalities {modalities}')
    if 'seq_len' in model:
        _check_seq_len(model.seq_len, model.get('modalities', modalities),
                       'model.seq_len')
    for where, pipeline, mods in _pipelines(cfg):
        if isinstance(mods, dict) and dict(mods) != modalities:
            raise ConfigError(f'{where.rsplit(".", 1)[0]}.modalities '
                              f'{dict(mods)} differs from modalities '
                              f'{modalities}')
        for i, t in enumerate(pipeline or ()):
            if isinstance(t, dict) and 'seq_len' in t:
                _check_seq_len(t['seq_len'], modalities,
                               f"{where}[{i}] ({t.get('type')})")
