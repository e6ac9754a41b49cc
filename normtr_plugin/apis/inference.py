"""Predictions from a published or saved NORM-TR model.

    model = load_model('org/name')      # or a save_pretrained folder
    predict(model, {'audio': a, 'video': v, 'text': t})   # (N, T_i, D) arrays
    predict(model, 'features.npz')                 # one array per modality
    predict_dataset(model, 'data/my_set', 'test')  # a dataset folder or Hub id

Every sample goes through the model's saved ``test_pipeline`` (the one it was
evaluated with), with ``NormalizeFeatures`` bound to the feature statistics
saved with the model, so inference standardises exactly as training did.
Each prediction is a plain JSON-able dict: ``id`` and, by task,

- regression: ``score``;
- classification: ``label`` (class name) and ``scores`` {class: probability};
- multi_binary / multi_label: ``labels`` {name: {``present``,
  ``probability``}}.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import Compose

from ..hub import from_pretrained
from ..hub.config_guard import check_pretrained_config
from ..registry import TRANSFORMS, build_in_scope
from ..utils import non_finite_paths

__all__ = ['InferenceError', 'build_test_pipeline', 'load_model', 'predict',
           'predict_dataset']

HEAD_TASKS = dict(RegressionHead='regression',
                  ClassificationHead='classification',
                  MultiBinaryHead='multi_binary', MultiLabelHead='multi_label')


class InferenceError(ValueError):
    """Inputs that do not fit the model (missing modality, wrong dims)."""


def load_model(model_id_or_dir: str, revision: Optional[str] = None,
               device: str = 'cpu', cache_dir: Optional[str] = None):
    """A model from a Hub id or a ``save_pretrained`` folder, in eval mode.

    Goes through ``normtr_plugin.hub.from_pretrained`` (safetensors only,
    strict loading; the Hugging Face cache and ``HF_HUB_OFFLINE`` apply).
    """
    return from_pretrained(model_id_or_dir, revision=revision,
                           cache_dir=cache_dir, map_location=device)


def _meta(model) -> dict:
    return dict(getattr(model, 'pretrained_config', {}).get(
        'dataset_meta') or {})


def _task(model) -> str:
    task = _meta(model).get('task')
    if task:
        return task
    head = type(model.head).__name__
    if head not in HEAD_TASKS:
        raise InferenceError(f'the model has no dataset_meta.task and its '
                             f'head {head} is not one of {sorted(HEAD_TASKS)}')
    return HEAD_TASKS[head]


def build_test_pipeline(model) -> Compose:
    """The model's saved ``test_pipeline`` with its feature statistics bound.

    Without a saved pipeline, samples are only packed (they must then already
    have the model's ``seq_len`` steps).
    """
    config = getattr(model, 'pretrained_config', {})
    cfgs = list(config.get('test_pipeline') or [dict(
        type='PackMultimodalInputs')])
    # Checked again here (from_pretrained did): only registered transforms.
    check_pretrained_config(dict(test_pipeline=cfgs), "the model's saved "
                            'test_pipeline')
    transforms = [build_in_scope(TRANSFORMS, dict(t)) for t in cfgs]
    stats = _meta(model).get('feature_stats')
    for t in transforms:
        if hasattr(t, 'bind_stats'):
            t.bind_stats(stats, "the model's saved dataset_meta")
    if type(transforms[-1]).__name__ != 'PackMultimodalInputs':
        raise InferenceError(f'the saved test_pipeline must end with '
                             f'PackMultimodalInputs; found {cfgs}')
    return Compose(transforms)


def _as_samples(arrays, modalities: Dict[str, int], where: str
                ) -> Dict[str, List[np.ndarray]]:
    """Check modalities and dims; split into per-sample ``(T_i, D)`` arrays.
    """
    missing = [m for m in modalities if m not in arrays]
    if missing:
        raise InferenceError(
            f'{where} has no features for modality {missing[0]!r} '
            f'(missing {missing}); the model needs {list(modalities)}, '
            f'found {sorted(arrays)}')
    samples, counts = {}, {}
    for m, dim in modalities.items():
        value = arrays[m]
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray) and value.ndim == 3:
            items = list(value)
        elif isinstance(value, np.ndarray) and value.ndim == 2:
            items = [value]  # one sample (T, D)
        elif isinstance(value, (list, tuple)):
            items = [v.detach().cpu().numpy() if isinstance(
                v, torch.Tensor) else np.asarray(v) for v in value]
        else:
            items = [np.asarray(value)]
        for i, x in enumerate(items):
            if x.ndim != 2:
                raise InferenceError(
                    f"{where}, modality {m!r}: expected (N, T, {dim}) or a "
                    f'list of (T, {dim}) arrays, sample {i} has shape '
                    f'{x.shape}')
            if x.shape[-1] != dim:
                raise InferenceError(
                    f"{where}, modality {m!r}: wrong feature dim: the model "
                    f'expects {dim}, found {x.shape[-1]}')
            if len(x) == 0:
                raise InferenceError(f'{where}, modality {m!r}: sample {i} '
                                     'has no time steps')
            if not np.isfinite(x).all():
                raise InferenceError(f'{where}, modality {m!r}: sample {i} '
                                     'contains NaN or Inf')
        samples[m], counts[m] = items, len(items)
    if len(set(counts.values())) != 1:
        raise InferenceError(f'{where}: modalities hold different numbers '
                             f'of samples {counts}')
    return samples


def _read_npz(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as err:  # object arrays need pickle: refused
        raise InferenceError(f'{path}: cannot read ({err}); store one '
                             'numeric (N, T, D) array per modality') from None
    except OSError as err:
        raise InferenceError(f'{path}: not a readable .npz file '
                             f'({err})') from None


def _format(task: str, meta: dict, score: torch.Tensor,
            label: Optional[torch.Tensor]) -> dict:
    if task == 'regression':
        return dict(score=float(score))
    if task == 'classification':
        classes = meta.get('classes') or [str(i) for i in range(len(score))]
        return dict(label=classes[int(label)],
                    scores={c: float(p) for c, p in zip(classes, score)})
    if task not in ('multi_binary', 'multi_label'):
        raise InferenceError(f'unknown task {task!r} in dataset_meta')
    names = meta.get('label_names') or [f'label{i}'
                                        for i in range(len(score))]
    prob = score[:, 1] if task == 'multi_binary' else score
    return dict(labels={n: dict(present=bool(label[k]),
                                probability=float(prob[k]))
                        for k, n in enumerate(names)})


def _check_outputs(task: str, meta: dict, score: torch.Tensor) -> None:
    size = score.shape[1] if score.ndim > 1 else 1
    names = (meta.get('classes') if task == 'classification' else
             meta.get('label_names') if task != 'regression' else None)
    if names and len(names) != size:
        raise InferenceError(f'dataset_meta names {len(names)} outputs '
                             f'{names}, the model head gives {size}')


@torch.no_grad()
def _run(model, batches: Iterable[Sequence[dict]]) -> List[dict]:
    """Run the test pipeline and the model over batches of raw samples."""
    pipeline = build_test_pipeline(model)
    task, meta = _task(model), _meta(model)
    device = next(model.parameters()).device
    model.eval()
    out = []
    for batch in batches:
        packed = [pipeline(dict(r)) for r in batch]
        inputs = {m: torch.stack([p['inputs'][m] for p in packed]).to(device)
                  for m in model.modalities}
        for p, pred in zip(packed, model(inputs, mode='predict')):
            score = pred.pred_score.cpu()
            bad = non_finite_paths(score, 'score')
            if bad:
                raise InferenceError(
                    f"the model's output for sample "
                    f"{p['data_samples'].metainfo.get('id')!r} is not "
                    f'finite ({", ".join(bad[:4])}): the inputs hold values'
                    ' too large for the model (overflow) or the model is '
                    'damaged; no predictions are reported')
            if not out:
                _check_outputs(task, meta, score[None])
            label = pred.get('pred_label')
            item = dict(id=p['data_samples'].metainfo.get('id'))
            item.update(_format(task, meta, score,
                                None if label is None else label.cpu()))
            out.append(item)
    return out


def predict(model, inputs: Union[str, dict], batch_size: int = 64
            ) -> List[dict]:
    """Predict from in-memory features or an ``.npz`` file.

    ``inputs``: a dict modality -> ``(N, T_i, D)`` array or list of
    ``(T_i, D)`` arrays (optionally ``id``: N names), or the path of an
    ``.npz`` with one such array per modality (and optionally ``id``).
    Lengths may differ from the model's ``seq_len``: the saved test pipeline
    unifies them.
    """
    if isinstance(inputs, (str, bytes)) or hasattr(inputs, '__fspath__'):
        where = str(inputs)
        arrays = _read_npz(where)
    elif isinstance(inputs, dict):
        where, arrays = 'the inputs', dict(inputs)
    else:
        raise TypeError(f'inputs must be a dict of modality -> features or '
                        f'an .npz path, got {type(inputs).__name__}')
    samples = _as_samples(arrays, model.modalities, where)
    n = len(next(iter(samples.values())))
    ids = arrays.get('id')
    ids = [str(i) for i in ids] if ids is not None else [
        str(i) for i in range(n)]
    if len(ids) != n:
        raise InferenceError(f"{where}: 'id' has {len(ids)} entries for {n} "
                             'samples')
    results = [dict({m: np.asarray(samples[m][i], np.float32)
                     for m in model.modalities},
                    id=ids[i], modalities=list(model.modalities))
               for i in range(n)]
    return _run(model, (results[i:i + batch_size]
                        for i in range(0, n, batch_size)))


def predict_dataset(model, data_root: str, split: str = 'test',
                    revision: Optional[str] = None,
                    batch_size: int = 64) -> List[dict]:
    """Predict every sample of one split of a dataset in the project format.

    ``data_root`` is a folder or a Hub dataset id, read with
    ``MultimodalFeatureDataset``. The model's own test pipeline and feature
    statistics are applied (not the dataset's).
    """
    from ..datasets import MultimodalFeatureDataset
    meta = _meta(model)
    task = _task(model)
    labels = meta.get('label_names') or ['label']
    dataset = MultimodalFeatureDataset(
        data_root, split, modalities=model.modalities, label_columns=labels,
        task=task, num_classes=len(meta.get('classes') or []) or None,
        pipeline=(), revision=revision)
    if len(dataset) == 0:
        raise InferenceError(f'split {split!r} of {data_root} has no samples')

    def batches():  # raw rows; the model's own pipeline runs in _run
        for start in range(0, len(dataset), batch_size):
            batch = [dataset.read_sample(i) for i in
                     range(start, min(start + batch_size, len(dataset)))]
            for r in batch:
                r.pop('gt_label', None)
            yield batch

    return _run(model, batches())
