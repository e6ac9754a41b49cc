"""tools/publish.py and normtr_plugin.hub.publish on a real demo checkpoint."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from huggingface_hub import ModelCard
from mmengine.config import Config

from conftest import ROOT
from normtr_plugin import from_pretrained
from normtr_plugin.datasets import make_synthetic_iemocap
from normtr_plugin.engine import load_checkpoint_safely, read_metrics
from normtr_plugin.hub import publish as publish_mod
from normtr_plugin.hub.model_card import render_model_card
from normtr_plugin.hub.publish import PublishError, publish
from normtr_plugin.registry import MODELS, build_in_scope
from normtr_plugin.utils import MARKER, MissingFileError

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
SIZES = dict(train=64, validation=32, test=32)
FILES = {'config.json', 'model.safetensors', 'README.md', 'metrics.json',
         'SHA256SUMS'}
#: what a published folder holds: the files and the marker listing them
WRITTEN = FILES | {MARKER}


def run(args, check=True):
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One short demo training run: its best checkpoint and test metrics."""
    base = tmp_path_factory.mktemp('publish')
    data = make_synthetic_iemocap(str(base / 'synthetic'), seed=0,
                                  sizes=SIZES)
    work = base / 'work'
    run(['tools/train.py', DEMO, '--work-dir', str(work), '--cfg-options',
         f'data_root={data}', 'train_cfg.max_epochs=1'])
    metrics_file = work / 'test_metrics.json'
    metrics, checkpoint = read_metrics(str(metrics_file))
    return dict(data=data, checkpoint=checkpoint,
                metrics_file=str(metrics_file), metrics=metrics, base=base)


@pytest.fixture(scope='module')
def published(trained):
    """Publish with a fresh test through mmengine's Runner (in process)."""
    out = trained['base'] / 'repo'
    result = publish(DEMO, trained['checkpoint'], str(out), test=True,
                     cfg_options=dict(data_root=trained['data']))
    return out, result


def task_only(metrics):
    """What model-index lists: no invariance/* diagnostics."""
    return {k: v for k, v in metrics.items()
            if not k.startswith('invariance/')}


def card_metrics(readme):
    card = ModelCard.load(readme)
    index = card.data.to_dict()['model-index']
    return card, {m['name']: m['value']
                  for m in index[0]['results'][0]['metrics']}


def test_publish_evaluates_and_writes_a_hub_folder(trained, published):
    out, result = published
    assert set(os.listdir(out)) == WRITTEN
    assert result['evaluated'] is True
    # Measured through the Runner == what tools/train.py's test measured.
    assert result['metrics'] == trained['metrics']
    card, values = card_metrics(out / 'README.md')
    assert values == task_only(result['metrics']) != result['metrics']
    assert card.data.eval_results
    data = card.data.to_dict()
    assert data['library_name'] == 'normtr_plugin'
    assert data['license'] == 'apache-2.0'  # the project's synthetic data
    assert 'pipeline_tag' not in data  # several modalities: no Hub task
    assert 'datasets' not in data  # no Hub dataset id for generated data
    assert {'multimodal', 'emotion-recognition', 'normtr', 'mmengine',
            'pytorch', 'safetensors'} <= set(data['tags'])
    assert set(data['metrics']) == {'accuracy', 'f1'}
    result0 = data['model-index'][0]['results'][0]
    assert result0['dataset']['name'] == 'synthetic-iemocap'
    assert result0['task']['type'] == 'emotion-recognition'
    assert result0['dataset']['split'] == 'test'
    text = card.text
    for needle in ("from_pretrained('ORG/NAME')", 'tools/infer.py ORG/NAME',
                   '```python\n', "embed_dim=128", 'no paper number',
                   'Noise-Resistant Multimodal Transformer for Emotion '
                   'Recognition', 'erasure-type', 'inherit that dataset'):
        assert needle in text, needle
    with open(out / 'metrics.json') as f:
        published_metrics = json.load(f)
    assert published_metrics['metrics'] == result['metrics']
    assert published_metrics['checkpoint'] == osp.basename(
        trained['checkpoint'])
    for name in ('metrics.json', 'README.md', 'config.json'):
        text = (out / name).read_text()  # no local path of this machine
        assert str(trained['base']) not in text, name
        assert osp.dirname(trained['data']) not in text, name
    with open(out / 'config.json') as f:
        config = json.load(f)
    assert config['metrics'] == result['metrics']
    assert config['dataset'] == 'synthetic-iemocap'
    assert config['dataset_meta']['label_names'] == [
        'Neutral', 'Happy', 'Sad', 'Angry']
    assert [p['type'] for p in config['test_pipeline']] == [
        'TruncatePad', 'SegmentSample', 'PackMultimodalInputs']


def test_from_pretrained_equals_checkpoint_model(trained, published):
    out, _ = published
    cfg = Config.fromfile(DEMO)
    reference = build_in_scope(MODELS, cfg.model)
    ckpt = load_checkpoint_safely(trained['checkpoint'], map_location='cpu')
    reference.load_state_dict(ckpt['state_dict'], strict=True)
    reference.eval()
    loaded = from_pretrained(str(out))
    assert list(loaded.modalities) == list(reference.modalities)
    gen = torch.Generator().manual_seed(0)
    inputs = {m: torch.randn(5, 8, d, generator=gen)
              for m, d in reference.modalities.items()}
    with torch.no_grad():
        a = reference(inputs, mode='tensor')
        b = loaded(inputs, mode='tensor')
    assert torch.equal(a, b)


@pytest.mark.parametrize('kind', ['train', 'test'])
def test_metrics_file_skips_evaluation(trained, tmp_path, monkeypatch, kind):
    def forbidden(*args, **kwargs):
        raise AssertionError('evaluation must not run with --metrics')

    monkeypatch.setattr(publish_mod, 'evaluate_checkpoint', forbidden)
    monkeypatch.setattr('mmengine.runner.Runner.from_cfg', forbidden)
    if kind == 'train':  # tools/train.py's test_metrics.json
        metrics_file = trained['metrics_file']
    else:  # tools/test.py --out: a flat dict
        metrics_file = tmp_path / 'flat.json'
        metrics_file.write_text(json.dumps(trained['metrics']))
    out = tmp_path / 'repo'
    result = publish(DEMO, trained['checkpoint'], str(out),
                     metrics=str(metrics_file),
                     cfg_options=dict(data_root=trained['data']),
                     dataset_name='my-org/synthetic-demo')
    assert result['evaluated'] is False
    assert set(os.listdir(out)) == WRITTEN
    card, values = card_metrics(out / 'README.md')
    assert values == task_only(trained['metrics'])
    assert card.data.datasets == ['my-org/synthetic-demo']


def test_training_checkpoint_publishes_without_a_test(trained, tmp_path,
                                                     monkeypatch):
    """tools/train.py's test_metrics.json beside the checkpoint is used;
    no Runner is built. Without it, the card has no results."""
    def forbidden(*args, **kwargs):
        raise AssertionError('no test without --test')

    monkeypatch.setattr(publish_mod, 'evaluate_checkpoint', forbidden)
    monkeypatch.setattr('mmengine.runner.Runner.from_cfg', forbidden)
    options = dict(data_root=trained['data'])
    result = publish(DEMO, trained['checkpoint'], str(tmp_path / 'a'),
                     cfg_options=options)
    assert result['evaluated'] is False
    assert result['metrics'] == trained['metrics']
    _, values = card_metrics(tmp_path / 'a' / 'README.md')
    assert values == task_only(trained['metrics'])
    alone = tmp_path / 'alone.pth'  # a copy without test_metrics.json
    alone.write_bytes(open(trained['checkpoint'], 'rb').read())
    result = publish(DEMO, str(alone), str(tmp_path / 'b'),
                     cfg_options=options)
    assert result['metrics'] == {}
    card = ModelCard.load(tmp_path / 'b' / 'README.md')
    assert 'model-index' not in card.data.to_dict()
    with pytest.raises(PublishError, match='not both'):
        publish(DEMO, str(alone), str(tmp_path / 'c'), test=True,
                metrics=trained['metrics_file'])


def test_cli_takes_config_then_checkpoint(trained, tmp_path):
    out = tmp_path / 'repo'
    proc = run(['tools/publish.py', DEMO, trained['checkpoint'], '--out',
                str(out), '--cfg-options', f'data_root={trained["data"]}'])
    assert json.loads(proc.stdout)['metrics'] == trained['metrics']
    assert set(os.listdir(out)) == WRITTEN
    for old in ([trained['checkpoint'], '--config', DEMO],
                [trained['checkpoint'], DEMO]):
        proc = run(['tools/publish.py', *old, '--out', str(tmp_path / 'x')],
                   check=False)
        assert proc.returncode == 2
        assert proc.stderr.strip() == (
            'publish.py: error: publish.py takes CONFIG CHECKPOINT '
            '(OpenMMLab order, as tools/test.py): python tools/publish.py '
            'CONFIG CHECKPOINT --out DIR')
    assert not (tmp_path / 'x').exists()


def test_cli_space_folder(trained, tmp_path):
    """--space DIR: a Gradio Space (app.py + requirements.txt) holding a
    copy of the published model (the demo page's Space writer)."""
    out, space = tmp_path / 'repo', tmp_path / 'space'
    proc = run(['tools/publish.py', DEMO, trained['checkpoint'], '--out',
                str(out), '--metrics', trained['metrics_file'], '--space',
                str(space)])
    assert set(os.listdir(out)) == WRITTEN  # the Hub folder is unchanged
    written = json.loads(proc.stdout)['space']
    assert sorted(os.listdir(space)) == ['app.py', 'model',
                                         'requirements.txt']
    for name in ('config.json', 'model.safetensors'):
        with open(out / name, 'rb') as a, open(space / 'model' / name,
                                               'rb') as b:
            assert a.read() == b.read()
        assert written[name] == str(space / 'model' / name)
    app = (space / 'app.py').read_text()
    assert 'build_demo(DemoPage(MODEL' in app
    assert 'normtr-plugin' in (space / 'requirements.txt').read_text()


def test_disagreeing_config_is_refused(trained, tmp_path):
    out = tmp_path / 'repo'
    options = dict(data_root=trained['data'])
    with pytest.raises(PublishError) as err:
        publish(DEMO, trained['checkpoint'], str(out),
                cfg_options={**options, 'model.embed_dim': 64,
                             'model.fusion.depth': 4},
                metrics=trained['metrics_file'])
    msg = str(err.value)
    assert 'model.embed_dim=128, --config says 64' in msg
    assert 'model.fusion.depth=2, --config says 4' in msg
    assert trained['checkpoint'] in msg
    assert not out.exists()
    # The CLI: one line naming the key, non-zero exit.
    proc = run(['tools/publish.py', DEMO, trained['checkpoint'],
                '--out', str(out), '--metrics', trained['metrics_file'],
                '--cfg-options', f'data_root={trained["data"]}',
                'model.embed_dim=64'], check=False)
    assert proc.returncode != 0
    assert 'model.embed_dim=128, --config says 64' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not out.exists()


def test_errors_name_the_file(trained, tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(MissingFileError, match='nope.pth'):
        publish(DEMO, missing, str(tmp_path / 'a'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"Acc-2_mean": 7')
    with pytest.raises(PublishError, match='broken.json.*not readable JSON'):
        publish(DEMO, trained['checkpoint'], str(tmp_path / 'b'),
                metrics=str(broken))
    listed = tmp_path / 'list.json'
    listed.write_text('[1, 2]')
    with pytest.raises(PublishError, match='list.json.*expected'):
        publish(DEMO, trained['checkpoint'], str(tmp_path / 'c'),
                metrics=str(listed))
    with pytest.raises(PublishError, match='absent.json.*not found'):
        publish(DEMO, trained['checkpoint'], str(tmp_path / 'd'),
                metrics=str(tmp_path / 'absent.json'))


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(('create_repo', repo_id, kwargs))

    def upload_folder(self, folder_path, repo_id, **kwargs):
        self.calls.append(('upload_folder', repo_id,
                           dict(kwargs, files=set(os.listdir(folder_path)))))
        return 'https://huggingface.co/me/normtr-demo/commit/0'


def test_push_to_hub_with_injected_api(trained, tmp_path):
    api = FakeApi()
    out = tmp_path / 'repo'
    result = publish(DEMO, trained['checkpoint'], str(out),
                     metrics=trained['metrics_file'],
                     cfg_options=dict(data_root=trained['data']),
                     repo_id='me/normtr-demo', api=api)
    assert [c[0] for c in api.calls] == ['create_repo', 'upload_folder']
    (_, repo, create), (_, repo2, upload) = api.calls
    assert repo == repo2 == 'me/normtr-demo'
    assert create['repo_type'] == upload['repo_type'] == 'model'
    assert FILES <= upload['files']
    assert result['commit'] == 'https://huggingface.co/me/normtr-demo/commit/0'
    card, _ = card_metrics(out / 'README.md')
    assert "from_pretrained('me/normtr-demo')" in card.text
    assert card.data.to_dict()['model-index'][0]['name'] == 'normtr-demo'


@pytest.mark.parametrize('dataset,family', [
    ('mosi', 'MOSI'), ('my-org/cmu-mosei', 'MOSEI'), ('iemocap', 'IEMOCAP'),
    ('rml_fold1', 'RML'), ('mmmo', None)])
def test_card_puts_paper_numbers_beside_measured(dataset, family):
    model = dict(type='NormTR', modalities=dict(audio=5, video=20),
                 seq_len=8, embed_dim=32, head=dict(type='RegressionHead'))
    task = dict(MOSI='regression', MOSEI='regression',
                IEMOCAP='multi_binary', RML='classification').get(
                    family, 'regression')
    metrics = {'MAE': 0.75, 'Corr': 0.5}
    text = render_model_card(dict(model=model, dataset_meta=dict(task=task)),
                             metrics, 'model = dict()', dataset, None)
    card = ModelCard(text)
    assert card.data.eval_results
    paper = {'MOSI': '| 0.698 |', 'MOSEI': '| 0.529 |',
             'IEMOCAP': '| 84.3 |', 'RML': '| 88.89 |'}
    if family:
        assert f'paper, NORM-TR on {family}' in text
        assert paper[family] in text
    else:
        assert 'no paper number for mmmo' in text
        assert not any(v in text for v in paper.values())
