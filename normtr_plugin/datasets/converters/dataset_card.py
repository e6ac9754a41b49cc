"""The dataset card (``README.md``) written beside a converted dataset."""
import json
from typing import Dict, Iterable, List

TAGS = ('multimodal', 'emotion-recognition', 'normtr_plugin')


def _cell(text) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def render_card(*, pretty_name: str, source_format: str,
                source_files: List[str], splits: Dict[str, int],
                columns: List[dict], labels: Dict[str, str],
                non_finite: Dict[str, Dict[str, int]],
                modalities: List[str], notes: Iterable[str] = ()) -> str:
    """Render the card as a string.

    Args:
        pretty_name: the card's title.
        source_format: what the features were converted from.
        source_files: the source file(s) or folder.
        splits: split -> number of samples.
        columns: dicts with ``column``, ``type``, ``shape`` (per sample)
            and ``splits`` (those that have the column).
        labels: label column -> what it holds.
        non_finite: split -> modality -> samples whose NaN/Inf were zeroed
            (modalities a split lacks are absent).
        modalities: every modality column, in order.
        notes: extra lines for the source section.
    """
    lines = ['---', f'pretty_name: {json.dumps(pretty_name)}',
             'license: other', 'tags:']
    lines += [f'- {tag}' for tag in TAGS]
    lines += ['---', '', f'# {pretty_name}', '',
              'Pre-computed multimodal features in the `normtr_plugin` '
              'feature format: a Hugging Face `datasets.DatasetDict` saved '
              'with `save_to_disk` (load it with `datasets.load_from_disk` '
              'or `normtr_plugin.datasets.MultimodalFeatureDataset`).', '',
              '## Source', '', f'Source format: {source_format}.', '',
              'Source file(s):', '']
    lines += [f'- `{f}`' for f in source_files]
    notes = list(notes)
    if notes:
        lines += ['', 'Conversion notes:', '']
        lines += [f'- {n}' for n in notes]

    lines += ['', '## Splits', '', '| split | samples |', '|---|---|']
    lines += [f'| `{s}` | {n} |' for s, n in splits.items()]
    lines += ['', f'Total: {sum(splits.values())} samples.']

    lines += ['', '## Features', '',
              '| column | type | shape per sample | splits |',
              '|---|---|---|---|']
    for c in columns:
        have = ', '.join(f'`{s}`' for s in c['splits'])
        if list(c['splits']) != list(splits):
            missing = [s for s in splits if s not in c['splits']]
            have += ' (absent from ' + ', '.join(
                f'`{s}`' for s in missing) + ')'
        lines.append(f"| `{c['column']}` | {_cell(c['type'])} | "
                     f"{_cell(c['shape'])} | {have} |")
    lines += ['', 'Modality columns are `Array2D((None, D), float32)`: '
              'T (time steps) may differ per sample; D is fixed.']

    lines += ['', '## Labels', '']
    lines += [f'- `{col}`: {text}' for col, text in labels.items()]

    lines += ['', '## Non-finite values', '',
              'NaN and +-Inf feature values were set to 0 during '
              'conversion. Samples with at least one such value, per split '
              'and modality:', '',
              '| split | ' + ' | '.join(f'`{m}`' for m in modalities)
              + ' |', '|---|' + '---|' * len(modalities)]
    for s in splits:
        counts = non_finite.get(s, {})
        cells = [f'{counts[m]} of {splits[s]}' if m in counts else '-'
                 for m in modalities]
        lines.append(f'| `{s}` | ' + ' | '.join(cells) + ' |')
    total = sum(sum(c.values()) for c in non_finite.values())
    lines += ['', f'{total} sample-modality pair(s) were affected in all.'
              if total else 'No non-finite values were found.']

    lines += ['', '## Feature statistics', '',
              '`feature_stats.json` holds the per-feature mean and standard '
              'deviation of every modality, computed over all valid '
              '(unpadded) time steps of '
              'all samples of the `train` split (after the non-finite values '
              'were set to 0), for normalisation. It also repeats the '
              'non-finite report above.']

    lines += ['', '## License', '',
              'These features were extracted and released by the authors of '
              'the original dataset; they belong to them and remain under '
              "the original dataset's license and terms of use. This "
              'conversion changes only the file format and grants no '
              'rights of its own: users must follow the original terms '
              '(and cite the original dataset) when using or sharing it.',
              '']
    return '\n'.join(lines)
