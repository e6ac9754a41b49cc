"""The README.md (model card) of a published NORM-TR model.

The text comes from ``model_cards/template.md`` (``string.Template``
placeholders, no jinja). Its YAML header is built with huggingface_hub's
``ModelCardData`` / ``EvalResult``, so it parses back with
``huggingface_hub.ModelCard`` and the Hub reads the measured test metrics
from ``model-index``.

What the card says about the task comes from the head class (found through
the ``MODELS`` registry from ``model.head.type``), never from a table here:

- ``model-index`` lists the task metrics only; the ``invariance/*``
  diagnostics (``InvarianceMetric``) stay in the body's table.
- ``pipeline_tag`` is ``<modality>-classification`` only for a classifier
  (classification, multi-binary, multi-label head) of ONE modality; it is
  absent for a regressor and for a model of several modalities (e.g. an
  audio+video regression model), as no Hub task describes them. A tag
  given when publishing (``--pipeline-tag``) wins.
"""
import math
import os.path as osp
import re
import string
from typing import Dict, List, Optional

from ..evaluation.invariance_metric import InvarianceMetric
from ..registry import head_class
from ..utils.errors import InputError, MissingFileError
from ..utils.hub_id import parse_hub_id
from .card_safety import check_license, check_repo_id, md_name, md_text

__all__ = ['PAPER_RESULTS', 'TEMPLATE_PATH', 'card_data', 'is_task_metric',
           'metric_type', 'paper_family', 'render_model_card']

TEMPLATE_PATH = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'model_cards', 'template.md')

TASK_TYPE = 'emotion-recognition'
TASK_NAME = 'Multimodal emotion recognition'
TAGS = ['multimodal', 'emotion-recognition', 'normtr', 'mmengine', 'pytorch',
        'safetensors']

#: Test-split results of NORM-TR reported in the paper (SPEC section 7),
#: keyed by this project's metric names. ``task`` is the dataset task the
#: numbers are for (MOSI/MOSEI: sentiment regression only).
PAPER_RESULTS: Dict[str, dict] = {
    'MOSI': dict(task='regression', source='Table 1', metrics={
        'Acc-7': 48.5, 'Acc-2_has0': 84.3, 'Acc-2_non0': 86.1,
        'F1_has0': 84.4, 'F1_non0': 86.2, 'MAE': 0.698, 'Corr': 0.808}),
    'MOSEI': dict(task='regression', source='Table 2', metrics={
        'Acc-7': 54.6, 'Acc-2_has0': 84.3, 'Acc-2_non0': 86.6,
        'F1_has0': 84.5, 'F1_non0': 86.6, 'MAE': 0.529, 'Corr': 0.778}),
    'IEMOCAP': dict(task='multi_binary', source='Table 3', metrics={
        'Acc-2_Neutral': 74.8, 'F1_Neutral': 74.3,
        'Acc-2_Happy': 87.7, 'F1_Happy': 88.5,
        'Acc-2_Sad': 86.2, 'F1_Sad': 86.4,
        'Acc-2_Angry': 88.6, 'F1_Angry': 88.6,
        'Acc-2_mean': 84.3, 'F1_mean': 84.5}),
    'RML': dict(task='classification', source='Table 4', metrics={
        'Acc-6': 88.89, 'F1': 88.81}),
}

DIAGNOSTICS = f'{InvarianceMetric.default_prefix}/'
DISCRIMINATORS = ('modality_discriminator.', 'noise_discriminator.')


def is_task_metric(name: str) -> bool:
    """Whether ``name`` is a task metric (not an ``invariance/*``
    diagnostic): only these go into ``model-index``."""
    return not name.startswith(DIAGNOSTICS)


def metric_type(name: str) -> str:
    """Hub metric id of a metric key (``Acc-2_Happy`` -> ``accuracy``)."""
    base = name.rsplit('/', 1)[-1]
    if base.startswith(('Acc', 'wAcc')):
        return 'accuracy'
    if base.startswith('F1'):
        return 'f1'
    if base == 'MAE':
        return 'mae'
    if base == 'Corr':
        return 'pearsonr'
    return re.sub(r'[^a-z0-9]+', '_', base.lower()).strip('_') or 'metric'


def paper_family(dataset_name: str, task: Optional[str] = None
                 ) -> Optional[str]:
    """``MOSI``/``MOSEI``/``IEMOCAP``/``RML`` when the paper reports numbers
    for this dataset (and task), else ``None`` (synthetic data, MMMO, ...).
    """
    name = (dataset_name or '').lower()
    if 'synthetic' in name or 'demo' in name:
        return None
    for family, pattern in (('MOSEI', r'mosei'), ('MOSI', r'mosi'),
                            ('IEMOCAP', r'iemocap'),
                            ('RML', r'(^|[^a-z])rml([^a-z]|$)')):
        if re.search(pattern, name):
            if task is not None and PAPER_RESULTS[family]['task'] != task:
                return None
            return family
    return None


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _slug(name) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '-', str(name or '')).strip('-').lower()


def _model_name(repo_id: Optional[str], dataset_name: str) -> str:
    if repo_id:
        return repo_id.rsplit('/', 1)[-1]
    slug = _slug(dataset_name)
    return f'normtr-{slug}' if slug else 'normtr'


def card_data(metrics: Dict[str, float], dataset_name: str,
              repo_id: Optional[str] = None,
              dataset_id: Optional[str] = None, license: str = 'other',
              pipeline_tag: Optional[str] = None,
              license_name: Optional[str] = None):
    """``ModelCardData`` with one model-index result: the task metrics
    of the test split (:func:`is_task_metric`); ``pipeline_tag`` None
    leaves the tag out.

    ``datasets`` lists ``dataset_id`` (a Hub dataset id) only; a local
    folder's name is not one. ``license`` is the dataset's (the weights
    inherit its terms); ids are checked against the Hub's rules
    (``card_safety``).
    """
    from huggingface_hub import EvalResult, ModelCardData
    license, license_name = check_license(license, license_name)
    dataset_id = check_repo_id(dataset_id, 'dataset id')
    check_repo_id(repo_id, 'repo id')
    ref = dataset_id or _slug(dataset_name) or 'dataset'
    results = [EvalResult(
        task_type=TASK_TYPE, task_name=TASK_NAME, dataset_type=ref,
        dataset_name=dataset_name, dataset_split='test',
        metric_type=metric_type(k), metric_name=k, metric_value=float(v))
        for k, v in metrics.items() if _finite(v) and is_task_metric(k)]
    types = list(dict.fromkeys(metric_type(k) for k in metrics
                               if is_task_metric(k)))
    return ModelCardData(
        library_name='normtr_plugin', license=license,
        license_name=license_name, tags=list(TAGS),
        pipeline_tag=pipeline_tag,
        datasets=[dataset_id] if dataset_id else None, metrics=types or None,
        model_name=_model_name(repo_id, dataset_name),
        eval_results=results or None)


# ---------------------------------------------------------------------------
# Body text
# ---------------------------------------------------------------------------

def _model_section(config: dict) -> dict:
    return config['model'] if isinstance(config.get('model'), dict) \
        else config


def _count_parameters(model_cfg: dict):
    """(total, used at inference) parameter counts, built from the registry.
    """
    try:
        from ..registry import MODELS, build_in_scope
        model = build_in_scope(MODELS, dict(model_cfg))
    except Exception:  # noqa: BLE001 (the card still renders without it)
        return None
    total = inference = 0
    for name, p in model.named_parameters():
        total += p.numel()
        if not name.startswith(DISCRIMINATORS):
            inference += p.numel()
    return total, inference


def _fmt_value(name: str, value) -> str:
    if not _finite(value):
        return md_text(value)
    if metric_type(name) in ('mae', 'pearsonr'):
        return f'{value:.4f}'
    return f'{value:.2f}'


def _head(head: dict):
    """The registered head class of ``head`` (None: not one of ours)."""
    try:
        return head_class(str(head.get('type')))
    except InputError:
        return None


def _describe_fusion(fusion: dict, half: int) -> str:
    kind = fusion.get('type', 'FusionDecoder')
    if kind == 'FusionDecoder':
        return (f"Transformer decoder, depth {fusion.get('depth', 2)}, "
                f"{fusion.get('num_heads', 8)} heads, d_model {half}, "
                f"dropout {fusion.get('dropout', 0.1)} "
                '(query = NRGF, key/value = MF)')
    args = md_text(', '.join(f'{k}={v}' for k, v in fusion.items()
                             if k != 'type'))
    return md_name(kind) + (f' ({args})' if args else '') + \
        ' (an ablation variant, not the paper\'s decoder)'


def _results_table(metrics: Dict[str, float], family: Optional[str]) -> str:
    paper = PAPER_RESULTS[family]['metrics'] if family else {}
    head = '| metric | type | this model (test) |'
    rule = '|---|---|---|'
    if family:
        head += f' paper, NORM-TR on {family} |'
        rule += '---|'
    rows = [head, rule]
    names = list(metrics) + [k for k in paper if k not in metrics]
    for k in names:
        row = (f'| {md_text(k)} | {md_text(metric_type(k))} | '
               f"{_fmt_value(k, metrics[k]) if k in metrics else '-'} |")
        if family:
            row += f" {paper[k] if k in paper else '-'} |"
        rows.append(row)
    return '\n'.join(rows)


def _paper_note(family: Optional[str], dataset_name: str,
                task: Optional[str]) -> str:
    if family:
        return (f"The paper's numbers ({PAPER_RESULTS[family]['source']} of "
                'Liu et al., 2024, as transcribed in the project\'s SPEC) '
                'are for the full-size dataset and the paper\'s training '
                'run; they are given for comparison, not reproduced by this '
                'card. Acc-2 and F1 suffixes `has0`/`non0`: negative vs '
                'non-negative over all samples / negative vs positive '
                'without the zero-labelled samples.')
    note = (f'There is no paper number for {md_text(dataset_name)}: the '
            'paper reports '
            'results on CMU-MOSI, CMU-MOSEI, IEMOCAP and RML only')
    if 'synthetic' in dataset_name.lower() or 'demo' in dataset_name.lower():
        note += ('. This is synthetic demo data: its numbers say nothing '
                 'about emotion recognition on real recordings')
    elif task and any(f.lower() in dataset_name.lower()
                      for f in PAPER_RESULTS):
        note += f' (and not for the {md_text(task)} task of this model)'
    return note + '.'


def render_model_card(config: dict, metrics: Dict[str, float],
                      train_config_text: str, dataset_name: str,
                      repo_id: Optional[str] = None,
                      template_path: Optional[str] = None,
                      dataset_id: Optional[str] = None,
                      license: str = 'other',
                      license_source: str = 'unknown',
                      pipeline_tag: Optional[str] = None,
                      license_name: Optional[str] = None) -> str:
    """The README.md of a published model.

    Args:
        config: the ``config.json`` written by ``save_pretrained`` (or just
            the model section, ``model.config``).
        metrics: the test-split metrics measured for these weights.
        train_config_text: the mmengine config text the model was trained
            with (shown fenced).
        dataset_name: dataset name or Hub id (the model-index result and
            the text).
        repo_id: ``org/name`` on the Hub; ``ORG/NAME`` in the examples if
            ``None``.
        template_path: defaults to ``model_cards/template.md``.
        dataset_id: the dataset's Hub id (``datasets`` metadata); taken
            from ``dataset_name`` when that has the form ``org/name``.
        license: the licence id of the weights: the dataset's
            (``hub/dataset_info.py``); ``license_source`` says where it came
            from ('dataset card', 'given', ...).
        license_name: the name of a ``license: other`` (a slug; ``unknown``
            when nothing is known of the dataset's licence).
        pipeline_tag: the Hub task; by default the head's
            (``BaseEmotionHead.pipeline_tag``; none for regression or
            several modalities, see the module docstring).
    """
    template_path = template_path or TEMPLATE_PATH
    try:
        with open(template_path, encoding='utf-8') as f:
            template = string.Template(f.read())
    except OSError as err:
        raise MissingFileError(f'model card template {template_path!r} '
                               f'cannot be read: {err}') from None
    model_cfg = _model_section(config)
    meta = config.get('dataset_meta') or {} if 'model' in config else {}
    modalities: Dict[str, int] = model_cfg.get('modalities', {})
    embed_dim = int(model_cfg.get('embed_dim', 256))
    head = model_cfg.get('head') or {}
    head_cls = _head(head)
    task = meta.get('task') or (head_cls.task if head_cls else None)
    family = paper_family(dataset_name, task)
    counts = _count_parameters(model_cfg)
    if counts:
        total, inference = counts
        parameters = (f'{total:,} ({inference:,} used at inference; the rest '
                      'are the training-only discriminators)'
                      if total != inference else f'{total:,}')
    else:
        parameters = 'unknown'
    display = repo_id or dataset_name
    if dataset_id is None:
        dataset_id = parse_hub_id(dataset_name)
    if license == 'other' and license_name is None and \
            license_source == 'unknown':
        license_name = 'unknown'
    if pipeline_tag is None and head_cls is not None:
        pipeline_tag = head_cls.pipeline_tag(list(modalities))
    data = card_data(metrics, dataset_name, repo_id, dataset_id, license,
                     pipeline_tag, license_name)
    # ids are checked (card_data); every other text is escaped
    dataset_ref = (f'[`{dataset_id}`](https://huggingface.co/datasets/'
                   f'{dataset_id})' if dataset_id else
                   f'{md_name(dataset_name)} (a local dataset folder)')
    summary = (f'NORM-TR trained on {dataset_ref} '
               f"({md_text(', '.join(modalities)) or 'no modalities'}; "
               f"{md_text(task or 'unknown task')}), with weights in "
               'safetensors.')
    values = dict(
        metadata=data.to_yaml().rstrip('\n'),
        title=f'NORM-TR: {md_text(display)}',
        summary=summary,
        modalities=md_text(', '.join(f'{m} ({d})'
                                     for m, d in modalities.items())),
        seq_len=md_text(model_cfg.get('seq_len', '?')),
        embed_dim=f'{embed_dim} (N/2 = {embed_dim // 2})',
        fusion=_describe_fusion(model_cfg.get('fusion') or {},
                                embed_dim // 2),
        head=(head_cls.describe(_escaped_meta(head), _escaped_meta(meta))
              if head_cls
              else md_name(head.get('type', '?'))),
        parameters=parameters,
        task=md_text(task or 'unknown'),
        training_only=_training_note(model_cfg),
        dataset_ref=dataset_ref,
        repo_id=repo_id or 'ORG/NAME',
        train_config=(train_config_text or '# (not available)').rstrip(
            '\n').replace('```', '` ` `'),
        results_note=_results_note(metrics, dataset_ref),
        results_table=_results_table(metrics, family),
        paper_note=_paper_note(family, dataset_name, task),
        license=_license_note(license, license_source, license_name),
    )
    return template.substitute(values)


def _results_note(metrics: Dict[str, float], dataset_ref: str) -> str:
    if not metrics:
        return ('No test metrics were given when this model was published '
                '(`tools/publish.py` without `--test` and without a '
                '`test_metrics.json` of the training run).')
    note = (f'Test split of {dataset_ref}, measured with this checkpoint '
            '(`tools/test.py`, the end of `tools/train.py`, or '
            '`tools/publish.py --test`); accuracies and F1 in percent.')
    if not all(is_task_metric(k) for k in metrics):
        note += (' The `invariance/*` rows are diagnostics of the learnt '
                 'features, not task results; the metadata lists task '
                 'metrics only.')
    return note


def _escaped_meta(meta: dict) -> dict:
    """``dataset_meta`` with its names (labels, classes, task) escaped for
    the card body (the heads' ``describe`` joins them)."""
    out = {}
    for key, value in dict(meta).items():
        if isinstance(value, str):
            value = md_text(value)
        elif isinstance(value, (list, tuple)) and \
                all(isinstance(v, str) for v in value):
            value = [md_text(v) for v in value]
        out[key] = value
    return out


def _license_note(license: str, source: str,
                  license_name: Optional[str] = None) -> str:
    if license == 'other' and source == 'unknown':
        return ('The metadata says `license: other`: the dataset\'s card '
                'names no licence; pass `--license` to `tools/publish.py` '
                'once you know it.')
    origin = {'dataset card': "taken from the dataset's card",
              'given': 'as given when publishing'}.get(source)
    name = f', `license_name: {license_name}`' if license_name else ''
    return (f'The metadata says `license: {license}`{name} '
            f'({origin or md_text(source)}).')


def _training_note(model_cfg: dict) -> str:
    w = model_cfg.get('loss_weights') or {}
    parts: List[str] = []
    if w:
        parts.append('Loss weights (Eq. 9): '
                     f"alpha = {w.get('adv1', 0)}, beta = {w.get('adv2', 0)},"
                     f" gamma = {w.get('er', 1)}; GRL lambda = "
                     f"{model_cfg.get('grl_lambda', 1.0)}.")
    if not model_cfg.get('noise'):
        parts.append('This model was trained without noise injection.')
    parts.append('The discriminators are stored with the weights but not '
                 'run at inference.')
    return ' '.join(parts)
