"""DemoPage without a browser: predictions through NormTRInferencer,
test-time masking, inputs (dataset sample, .npz, video without weights),
and the Space folder of tools/publish.py --space."""
import importlib.util
import json
import os.path as osp
import runpy

import numpy as np
import pytest
import torch

from conftest import ROOT
from normtr_plugin.apis import DatasetInputs, InferenceError, \
    NormTRInferencer
from normtr_plugin.apis.demo_page import DemoPage, plot_prediction
from normtr_plugin.apis.demo_space import SpaceError, write_space
from test_demo_app import EMOTIONS, save_tiny_model


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    model, data = save_tiny_model(root)
    return model, data, DemoPage(model, data)


def test_sample_prediction_is_the_inferencers(tiny):
    model, data, page = tiny
    expected = NormTRInferencer(model)(DatasetInputs(data, 'test'))[
        'predictions']
    assert page.num_samples() == len(expected) == 4
    for i, want in enumerate(expected):
        arrays, label = page.sample_inputs(i)
        got = page.predict(arrays)
        assert got['record']['id'] == want['id']
        assert got['record']['pred_label'] == want['pred_label']
        np.testing.assert_allclose(list(got['record']['pred_score'].values()),
                                   list(want['pred_score'].values()),
                                   atol=1e-6)
        assert got['masked_tokens'] is None
        assert set(label) == set(EMOTIONS)
        assert all(v in (0, 1) for v in label.values())
    with pytest.raises(InferenceError, match='out of range'):
        page.sample_inputs(4)


def test_masking_moves_the_prediction_and_attention(tiny):
    _, _, page = tiny
    arrays, _ = page.sample_inputs(1)
    clean = page.predict(arrays, 'random', 0.0)
    full = page.predict(arrays, 'random', 1.0)
    half = page.predict(arrays, 'window', 0.5)
    L = sum(page.model.seq_len.values()) if isinstance(
        page.model.seq_len, dict) else page.model.seq_len * 3
    assert full['masked_tokens'].shape == (L,) and full['masked_tokens'].all()
    assert 0 < half['masked_tokens'].sum() < L
    assert clean['attention'][-1].shape[-2:] == (L, L)
    assert not torch.allclose(clean['attention'][-1], full['attention'][-1])
    assert clean['record']['pred_score'] != full['record']['pred_score']
    # the same masker and seed give the same prediction (reproducible)
    again = page.predict(arrays, 'window', 0.5)
    assert again['record'] == half['record']
    fig = page.attention_figure(clean, half, 'window', 0.5)
    assert len(fig.axes) == 3
    assert len(plot_prediction(clean['record'], 't').axes[0].patches) == 4
    with pytest.raises(ValueError, match='masking ratio'):
        page.predict(arrays, 'random', 1.5)


def test_npz_and_video_inputs(tiny, tmp_path):
    _, _, page = tiny
    arrays, _ = page.sample_inputs(0)
    path = tmp_path / 'x.npz'
    np.savez(path, **{k: np.concatenate([v, v]) for k, v in arrays.items()})
    got, label = page.npz_inputs(str(path))
    assert label is None
    assert page.predict(got)['record'] == page.predict(arrays)['record']
    msg = page.video_unavailable()
    assert '--video-weights' in msg
    with pytest.raises(InferenceError, match='--video-weights'):
        page.video_inputs(str(tmp_path / 'clip.mp4'))


def test_space_folder_runs_the_same_page(tiny, tmp_path):
    pytest.importorskip('gradio')
    model, data, page = tiny
    paths = write_space(model, str(tmp_path / 'space'), data_root=data)
    assert 'normtr-plugin' in open(paths['requirements']).read()
    app = runpy.run_path(paths['app'])  # not __main__: nothing launched
    assert type(app['demo']).__name__ == 'Blocks'
    arrays, _ = page.sample_inputs(3)
    space_page = DemoPage(app['MODEL'], data)
    assert space_page.predict(arrays)['record'] == page.predict(arrays)[
        'record']
    with pytest.raises(SpaceError, match='config.json missing'):
        write_space(str(tmp_path), str(tmp_path / 'other'))


def test_demo_app_from_config_and_checkpoint(tiny, tmp_path):
    """tools/demo_app.py CONFIG CKPT: the config's model and test pipeline,
    the checkpoint's weights and dataset_meta, data_root from the config;
    the same predictions as the published model."""
    model, data, page = tiny
    with open(osp.join(model, 'config.json')) as f:
        saved = json.load(f)
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"model = {saved['model']!r}\ndata_root = {data!r}\n"
        f"test_dataloader = dict(dataset=dict(pipeline="
        f"{saved['test_pipeline']!r}))\n")
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=page.model.state_dict(),
                    meta=dict(dataset_meta=saved['dataset_meta'])), ckpt)
    spec = importlib.util.spec_from_file_location(
        'demo_app', osp.join(ROOT, 'tools', 'demo_app.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args([str(config), str(ckpt)])
    assert args.host == '127.0.0.1'
    from_ckpt = tool.build_page(args)
    assert from_ckpt.data_root == data and from_ckpt.num_samples() == 4
    arrays, _ = from_ckpt.sample_inputs(1)
    assert from_ckpt.predict(arrays, 'window', 0.3)['record'] == \
        page.predict(arrays, 'window', 0.3)['record']


def test_video_through_the_extraction_code(tmp_path):
    """With local backbone weights the video input runs
    tools/extract_features.py's code: the page predicts from the features
    extract_features writes for the same video."""
    cv2 = pytest.importorskip('cv2')
    import timm
    from safetensors.torch import save_file
    from normtr_plugin.datasets import load_splits
    from normtr_plugin.extraction import extract_features
    from normtr_plugin.hub import save_pretrained
    from normtr_plugin.models import NormTR
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (48, 40))
    rng = np.random.default_rng(0)
    for _ in range(12):
        writer.write(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    writer.release()
    torch.manual_seed(0)
    weights = str(tmp_path / 'resnet18.safetensors')
    save_file(timm.create_model('resnet18', num_classes=0).state_dict(),
              weights)
    model = NormTR(modalities=dict(video=512), seq_len=4, embed_dim=16,
                   fusion=dict(type='FusionDecoder', depth=1, num_heads=2),
                   head=dict(type='ClassificationHead', num_classes=3))
    folder = save_pretrained(
        model.eval(), str(tmp_path / 'model'), test_pipeline=[
            dict(type='PackMultimodalInputs')])
    page = DemoPage(folder, video_weights=weights, video_segments=4)
    assert page.video_unavailable() is None
    arrays, label = page.video_inputs(video)
    assert label is None and arrays['video'].shape == (1, 4, 512)
    (tmp_path / 'm.csv').write_text('id,split,label,video\nx,train,a,'
                                    'clip.avi\n')
    extract_features(str(tmp_path / 'm.csv'), str(tmp_path / 'direct'),
                     segments=4, weights=weights, progress=False)
    direct = load_splits(str(tmp_path / 'direct'))[0]['train'][0]['video']
    np.testing.assert_allclose(arrays['video'][0], np.asarray(direct),
                               rtol=1e-5, atol=1e-6)
    record = page.predict(arrays)['record']
    assert set(record['pred_score']) == {'label0', 'label1', 'label2'}
