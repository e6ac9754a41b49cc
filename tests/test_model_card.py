"""Model card metadata: the dataset's Hub id (not a folder name), its
licence (from the dataset card or given) and the pipeline tag."""
import os.path as osp

from huggingface_hub import ModelCard

from conftest import ROOT, write_dataset
from normtr_plugin.engine import load_config
from normtr_plugin.hub.dataset_info import dataset_info, hub_id_of
from normtr_plugin.hub.model_card import render_model_card

MOSI = osp.join(ROOT, 'configs', 'normtr_mosi.py')
MODEL = dict(type='NormTR', modalities=dict(audio=5, video=20, text=768),
             seq_len=8, embed_dim=32, head=dict(type='RegressionHead'))


def test_hub_ids_and_folders():
    assert hub_id_of('my-org/mosi-features') == 'my-org/mosi-features'
    cache = ('/root/.cache/huggingface/hub/datasets--my-org--mosi-feat/'
             'snapshots/0123abcd')
    assert hub_id_of(cache) == 'my-org/mosi-feat'
    assert hub_id_of('data/mosi') is None
    assert hub_id_of('/srv/features/mosi') is None


def test_license_and_id_from_the_dataset(tmp_path):
    root = write_dataset(tmp_path / 'mosi', dict(audio=5, video=20,
                                                 text=768))
    card = osp.join(root, 'README.md')
    with open(card, 'w') as f:
        f.write('---\nlicense: cc-by-nc-4.0\npretty_name: MOSI\n---\n# x\n')
    cfg = load_config(MOSI, {'data_root': root})
    info = dataset_info(cfg)
    assert (info.name, info.id, info.license) == ('mosi', None,
                                                  'cc-by-nc-4.0')
    assert info.license_source == 'dataset card'
    given = dataset_info(cfg, 'my-org/mosi', license='mit')
    assert (given.id, given.license, given.license_source) == (
        'my-org/mosi', 'mit', 'given')
    with open(card, 'w') as f:
        f.write('# no front matter\n')
    assert dataset_info(cfg).license == 'other'


def test_card_metadata(tmp_path):
    text = render_model_card(dict(model=MODEL), {'MAE': 0.8, 'Corr': 0.5},
                             'model = dict()', 'my-org/cmu-mosi', None,
                             license='cc-by-nc-4.0',
                             license_source='dataset card')
    data = ModelCard(text).data.to_dict()
    assert data['license'] == 'cc-by-nc-4.0'
    assert data['datasets'] == ['my-org/cmu-mosi']
    # audio+video+text regression: no Hub task fits, so no tag
    assert 'pipeline_tag' not in data
    assert "`license: cc-by-nc-4.0` (taken from the dataset's card)" in text
    assert 'https://huggingface.co/datasets/my-org/cmu-mosi' in text
    # a local folder: no `datasets` entry (its name is not an id)
    local = render_model_card(
        dict(model=dict(MODEL, modalities=dict(audio=5))), {'MAE': 0.8},
        'model = dict()', 'mosi', None, pipeline_tag='audio-classification')
    data = ModelCard(local).data.to_dict()
    assert 'datasets' not in data and data['license'] == 'other'
    assert data['pipeline_tag'] == 'audio-classification'
    assert '`mosi` (a local dataset folder)' in local
    assert 'pass `--license`' in local


def _card(head, modalities, metrics=None):
    metrics = {'MAE': 0.8} if metrics is None else metrics
    text = render_model_card(
        dict(model=dict(MODEL, head=head, modalities=modalities)), metrics,
        'model = dict()', 'mosi', None)
    return text, ModelCard(text).data.to_dict()


def test_pipeline_tag_comes_from_the_head():
    one, several = dict(video=20), dict(audio=5, video=20)
    for head in (dict(type='ClassificationHead', num_classes=6),
                 dict(type='MultiBinaryHead', num_tasks=4),
                 dict(type='MultiLabelHead', num_labels=6)):
        assert _card(head, one)[1]['pipeline_tag'] == 'video-classification'
        assert 'pipeline_tag' not in _card(head, several)[1]
    text, data = _card(dict(type='RegressionHead'), dict(audio=5))
    assert 'pipeline_tag' not in data
    assert 'regression, 1 output (`RegressionHead`' in text
    text, _ = _card(dict(type='MultiBinaryHead', num_tasks=4), several)
    assert '4 binary classifiers (`MultiBinaryHead`)' in text


def test_model_index_lists_task_metrics_only():
    metrics = {'MAE': 0.8, 'Corr': 0.5, 'invariance/D1': 0.1,
               'invariance/D2': 0.2}
    text, data = _card(dict(type='RegressionHead'), dict(audio=5), metrics)
    results = data['model-index'][0]['results'][0]['metrics']
    assert [m['name'] for m in results] == ['MAE', 'Corr']
    assert data['metrics'] == ['mae', 'pearsonr']
    assert '| invariance/D1 |' in text  # still in the body's table
    assert 'the metadata lists task metrics only' in text
    text, data = _card(dict(type='RegressionHead'), dict(audio=5), {})
    assert 'model-index' not in data and 'metrics' not in data
    assert 'No test metrics were given' in text
