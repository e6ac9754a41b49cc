"""normtr_plugin.apis and tools/infer.py on a model saved with
save_pretrained: outputs against the model run directly, the saved test
pipeline and feature statistics, the CLI, and input errors."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import datasets as hf
import numpy as np
import pytest
import torch

from conftest import ROOT, write_dataset
from normtr_plugin.apis import InferenceError, load_model, predict, \
    predict_dataset
from normtr_plugin.datasets import EMOTIONS, MultimodalFeatureDataset
from normtr_plugin.models import NormTR
from normtr_plugin.hub import save_pretrained
from normtr_plugin.utils.errors import run_tool as run_main

MODS = dict(audio=5, video=7, text=9)
T = 6
PIPELINE = [dict(type='TruncatePad', keys=['audio', 'text'], seq_len=T),
            dict(type='SegmentSample', keys=['video'], seq_len=T),
            dict(type='PackMultimodalInputs')]
HEADS = dict(multi_binary=dict(type='MultiBinaryHead', num_tasks=4),
             multi_label=dict(type='MultiLabelHead', num_labels=4),
             classification=dict(type='ClassificationHead', num_classes=3),
             regression=dict(type='RegressionHead'))


def tiny_model(task='multi_binary', seed=0):
    torch.manual_seed(seed)
    return NormTR(modalities=MODS, seq_len=T, embed_dim=16,
                  fusion=dict(type='FusionDecoder', depth=1, num_heads=2),
                  head=HEADS[task]).eval()


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """One set of weights saved twice: plain, and with NormalizeFeatures
    bound to statistics unlike the data's own (so their use shows)."""
    root = tmp_path_factory.mktemp('infer')
    data = write_dataset(root / 'data', MODS, task='multi_binary',
                         label_columns=EMOTIONS, seq_len=10,
                         sizes=dict(train=12, test=5), seed=1)
    meta = MultimodalFeatureDataset(data, 'train', MODS, EMOTIONS,
                                    'multi_binary').metainfo
    assert meta['feature_stats'] and meta['label_names'] == list(EMOTIONS)
    rng = np.random.default_rng(7)
    stats = {m: dict(mean=(rng.standard_normal(d) + 1.0).tolist(),
                     std=rng.uniform(0.5, 2.0, d).tolist())
             for m, d in MODS.items()}
    model = tiny_model()
    plain = save_pretrained(model, str(root / 'plain'), dataset_meta=meta,
                            test_pipeline=PIPELINE)
    norm = save_pretrained(
        model, str(root / 'norm'),
        dataset_meta=dict(meta, feature_stats=stats),
        test_pipeline=[dict(type='NormalizeFeatures')] + PIPELINE)
    return SimpleNamespace(root=root, data=data, model=model, plain=plain,
                           norm=norm, stats=stats,
                           data_stats=meta['feature_stats'])


def reference_logits(model, arrays, stats=None):
    """The model run directly on hand-preprocessed features.

    ``arrays``: modality -> list of (T_i, D). Middle frame of T equal
    segments for video (all frames if fewer than T); first T steps,
    zero-padded, for audio, text and short videos.
    """
    x = {}
    for m, items in arrays.items():
        out = []
        for a in items:
            a = np.asarray(a, np.float32)
            if stats is not None:
                a = (a - np.float32(stats[m]['mean'])) / np.float32(
                    stats[m]['std'])
            if m == 'video' and len(a) >= T:
                a = a[np.floor((np.arange(T) + 0.5) * len(a) / T).astype(int)]
            else:  # a short video keeps its frames, then zero padding
                a = np.concatenate([a[:T], np.zeros((max(T - len(a), 0),
                                                     a.shape[1]), np.float32)])
            out.append(a)
        x[m] = torch.from_numpy(np.stack(out))
    with torch.no_grad():
        return model(x, mode='tensor')


def reference_probs(model, arrays, stats=None):
    """P(present) per sample and emotion, (N, 4)."""
    return reference_logits(model, arrays, stats).softmax(-1)[..., 1]


def probs_of(preds):
    return torch.tensor([[p['pred_score'][e] for e in EMOTIONS]
                         for p in preds])


def random_arrays(n, lengths=dict(audio=10, video=12, text=3), seed=0,
                  dims=MODS):
    rng = np.random.default_rng(seed)
    return {m: rng.standard_normal((n, lengths[m], d)).astype(np.float32)
            for m, d in dims.items()}


def test_npz_predictions_match_the_model(saved, tmp_path):
    arrays = random_arrays(4)
    path = str(tmp_path / 'x.npz')
    np.savez(path, id=np.array(['a', 'b', 'c', 'd']), **arrays)
    model = load_model(saved.plain)
    with pytest.warns(UserWarning, match='inputs without lengths') as seen:
        preds = predict(model, path)
    assert len(seen) == 1  # once per call, not per sample
    assert [p['id'] for p in preds] == ['a', 'b', 'c', 'd']
    for p in preds:  # tools/test.py --dump's schema
        assert set(p) == {'id', 'pred_score', 'pred_label'}
        assert list(p['pred_label']) == list(EMOTIONS)
        for e in EMOTIONS:
            assert p['pred_label'][e] == int(p['pred_score'][e] > 0.5)
    expected = reference_probs(saved.model, {m: list(a) for m, a in
                                             arrays.items()})
    torch.testing.assert_close(probs_of(preds), expected, atol=1e-6,
                               rtol=0)
    json.dumps(preds)  # plain JSON types


def test_dict_of_variable_length_lists(saved):
    rng = np.random.default_rng(3)
    lengths = [(10, 12, 3), (4, 2, 8), (6, 6, 6)]
    arrays = {m: [rng.standard_normal((ls[j], d)).astype(np.float32)
                  for ls in lengths] for j, (m, d) in enumerate(MODS.items())}
    preds = predict(load_model(saved.plain), dict(arrays, id=['x', 'y', 'z']))
    assert [p['id'] for p in preds] == ['x', 'y', 'z']
    torch.testing.assert_close(probs_of(preds),
                               reference_probs(saved.model, arrays),
                               atol=1e-6, rtol=0)
    # One (T, D) sample per modality; ids default to positions.
    one = predict(load_model(saved.plain), {m: a[1] for m, a in
                                            arrays.items()})
    assert one[0]['id'] == '0'
    torch.testing.assert_close(probs_of(one), probs_of(preds[1:2]),
                               atol=1e-6, rtol=0)


def test_saved_feature_statistics_are_applied(saved):
    arrays = {m: list(a) for m, a in random_arrays(3, seed=5).items()}
    model = load_model(saved.norm)
    assert model.pretrained_config['test_pipeline'][0]['type'] == \
        'NormalizeFeatures'
    got = probs_of(predict(model, arrays))
    torch.testing.assert_close(
        got, reference_probs(saved.model, arrays, saved.stats), atol=1e-5,
        rtol=0)
    assert not torch.allclose(got, reference_probs(saved.model, arrays),
                              atol=1e-3)


def dataset_arrays(data, split='test'):
    table = hf.load_from_disk(data)[split].with_format('numpy')
    return [str(i) for i in table['id']], {m: list(table[m]) for m in MODS}


@pytest.mark.parametrize('which', ['plain', 'norm'])
def test_dataset_folder(saved, which):
    preds = predict_dataset(load_model(getattr(saved, which)), saved.data,
                            'test')
    ids, arrays = dataset_arrays(saved.data)
    assert [p['id'] for p in preds] == ids == [f'test_{i}' for i in range(5)]
    stats = saved.stats if which == 'norm' else None
    torch.testing.assert_close(
        probs_of(preds), reference_probs(saved.model, arrays, stats),
        atol=1e-5, rtol=0)
    if which == 'norm':  # the model's statistics, not the dataset's own
        assert not torch.allclose(probs_of(preds), reference_probs(
            saved.model, arrays, saved.data_stats), atol=1e-3)


@pytest.mark.parametrize('task', ['classification', 'regression',
                                  'multi_label'])
def test_output_per_task(tmp_path, task):
    model = tiny_model(task, seed=2)
    classes = ['calm', 'joy', 'anger']
    names = ['Happy', 'Sad', 'Anger', 'Fear']
    meta = dict(task=task, classes=classes if task == 'classification'
                else None, label_names=['label'] if task in (
                    'classification', 'regression') else names)
    folder = save_pretrained(model, str(tmp_path), dataset_meta=meta,
                             test_pipeline=PIPELINE)
    arrays = {m: list(a) for m, a in random_arrays(3, seed=4).items()}
    preds = predict(load_model(folder), arrays)
    logits = reference_logits(model, arrays)
    for i, p in enumerate(preds):
        if task == 'regression':
            assert set(p) == {'id', 'pred_score'}
            assert p['pred_score'] == pytest.approx(float(logits[i]),
                                                    abs=1e-6)
        elif task == 'classification':
            assert set(p) == {'id', 'pred_score', 'pred_label'}
            probs = logits[i].softmax(-1)
            assert list(p['pred_score']) == classes
            assert p['pred_label'] == classes[int(probs.argmax())]
            assert [p['pred_score'][c] for c in classes] == pytest.approx(
                probs.tolist(), abs=1e-6)
        else:
            probs = logits[i].sigmoid()
            assert list(p['pred_label']) == names
            for k, n in enumerate(names):
                assert p['pred_score'][n] == pytest.approx(
                    float(probs[k]), abs=1e-6)
                assert p['pred_label'][n] == int(probs[k] > 0.5)


# ------------------------------------------------------------------- errors

def test_missing_modality_in_npz(saved, tmp_path):
    arrays = random_arrays(2)
    del arrays['video']
    path = str(tmp_path / 'no_video.npz')
    np.savez(path, **arrays)
    with pytest.raises(InferenceError) as err:
        predict(load_model(saved.plain), path)
    msg = str(err.value)
    assert path in msg and "'video'" in msg and "['audio', 'text']" in msg


def test_wrong_feature_dim(saved, tmp_path):
    arrays = random_arrays(2, dims=dict(MODS, audio=4))
    path = str(tmp_path / 'dim.npz')
    np.savez(path, **arrays)
    model = load_model(saved.plain)
    for inputs in (path, arrays):
        with pytest.raises(InferenceError) as err:
            predict(model, inputs)
        msg = str(err.value)
        assert "'audio'" in msg and 'expects 5' in msg and 'found 4' in msg


def test_pickled_npz_is_refused(saved, tmp_path):
    path = str(tmp_path / 'obj.npz')
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros((3, 5)), np.zeros((4, 5))]
    np.savez(path, audio=ragged, **{m: a for m, a in random_arrays(2).items()
                                    if m != 'audio'})
    with pytest.raises(InferenceError, match='obj.npz'):
        predict(load_model(saved.plain), path)


# ---------------------------------------------------------------------- CLI

def load_cli():
    spec = importlib.util.spec_from_file_location(
        'infer_cli', osp.join(ROOT, 'tools', 'infer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_prints_the_api_predictions(saved, tmp_path):
    arrays = random_arrays(3, seed=9)
    path = str(tmp_path / 'x.npz')
    np.savez(path, **arrays)
    out = tmp_path / 'out' / 'preds.json'
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', saved.norm, '--input', path,
         '--out', str(out)], cwd=ROOT, env=env, text=True,
        capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = predict(load_model(saved.norm), path)
    assert json.loads(proc.stdout) == expected
    with open(out) as f:
        assert json.load(f) == expected
    assert os.listdir(out.parent) == ['preds.json']  # no temporary left


def test_cli_dataset_input_and_errors(saved, tmp_path, capsys):
    cli = load_cli()
    cli.main([saved.plain, '--input', saved.data, '--split', 'test'])
    assert json.loads(capsys.readouterr().out) == predict_dataset(
        load_model(saved.plain), saved.data, 'test')

    arrays = random_arrays(1)
    del arrays['text']
    path = str(tmp_path / 'no_text.npz')
    np.savez(path, **arrays)
    for argv, words in (
            ([saved.plain, '--input', path], ["'text'", 'no_text.npz']),
            ([saved.plain, '--input', saved.data, '--split', 'dev'],
             ["'dev'", "['test', 'train']"]),
            ([str(tmp_path), '--input', path], ['config.json'])):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            run_main(lambda: cli.main(argv), ['infer.py', *argv])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.startswith('infer.py: error:')
        for word in words:
            assert word in err, (argv, err)


def test_feature_folder_without_labels(saved, tmp_path, capsys):
    """Issue 13 item 7: features with no label column at all."""
    splits = hf.load_from_disk(saved.data)
    folder = str(tmp_path / 'unlabelled')
    hf.DatasetDict(test=splits['test'].remove_columns(list(EMOTIONS))) \
        .save_to_disk(folder)
    assert not set(EMOTIONS) & set(hf.load_from_disk(folder)['test']
                                   .column_names)
    expected = predict_dataset(load_model(saved.plain), saved.data, 'test')
    assert predict_dataset(load_model(saved.plain), folder) == expected
    load_cli().main([saved.plain, '--input', folder])
    assert json.loads(capsys.readouterr().out) == expected


def test_the_inferencer_is_an_mmengine_inferencer(saved):
    from mmengine.infer import BaseInferencer
    from normtr_plugin.apis import DatasetInputs, NormTRInferencer
    inferencer = NormTRInferencer(saved.plain)
    assert isinstance(inferencer, BaseInferencer)
    out = inferencer(DatasetInputs(saved.data, 'test'), batch_size=2)
    assert out['visualization'] is None
    assert out['predictions'] == predict_dataset(
        load_model(saved.plain), saved.data, 'test', batch_size=2)
    samples = inferencer(DatasetInputs(saved.data, 'test'),
                         return_datasamples=True)['predictions']
    assert [s.metainfo['id'] for s in samples] == [
        f'test_{i}' for i in range(5)]
    assert samples[0].pred_score.shape == (4, 2)  # the head's own layout
    with pytest.raises(ValueError, match='batch_size'):
        inferencer(DatasetInputs(saved.data), batch_size=0)


# ------------------------------------------------ lengths and checkpoints

def test_stated_lengths_and_stripped_padding_agree(saved, tmp_path):
    """The same samples as a list of valid steps, as padded arrays with
    lengths (both layouts), and zero-padded at either end without
    lengths (stripped as the converters strip, one warning)."""
    rng = np.random.default_rng(11)
    lengths = np.array([[10, 12, 3], [4, 2, 8], [6, 7, 6]])
    rows = {m: [rng.standard_normal((ls[j], d)).astype(np.float32)
                for ls in lengths] for j, (m, d) in enumerate(MODS.items())}
    model = load_model(saved.plain)
    expected = probs_of(predict(model, rows))
    padded = {}
    for m, d in MODS.items():
        padded[m] = np.zeros((3, 14, d), np.float32)
        for i, x in enumerate(rows[m]):
            padded[m][i, :len(x)] = x
    stated = [dict(lengths=lengths), {f'{m}_lengths': lengths[:, j]
                                      for j, m in enumerate(MODS)}]
    for extra in stated:
        path = str(tmp_path / 'stated.npz')
        np.savez(path, **padded, **extra)
        torch.testing.assert_close(probs_of(predict(model, path)), expected,
                                   atol=1e-6, rtol=0)
    # without lengths, left-padded. Modalities of one T count as aligned
    # (a step is padding only when zero in all): give each its own T here
    alone = {}
    for j, (m, d) in enumerate(MODS.items()):
        alone[m] = np.zeros((3, 15 + 7 * j, d), np.float32)
        for i, x in enumerate(rows[m]):
            alone[m][i, alone[m].shape[1] - len(x):] = x
    with pytest.warns(UserWarning, match='inputs without lengths'):
        got = probs_of(predict(model, alone))
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    with pytest.raises(InferenceError, match="'lengths' must be \\(N, M\\)"):
        predict(model, dict(padded, lengths=lengths[:, :2]))
    with pytest.raises(InferenceError, match="modality 'audio': lengths"):
        predict(model, dict(padded, audio_lengths=np.array([15, 1, 1])))


def test_inferencer_from_config_and_checkpoint(saved, tmp_path):
    """NormTRInferencer(CONFIG, CKPT) as mmengine's inferencers: the
    config's model and test pipeline, the checkpoint's weights and the
    dataset_meta the Runner saved in it; no publishing first."""
    from normtr_plugin.apis import NormTRInferencer
    model_cfg = dict(saved.model.config)
    pipeline = [dict(type='NormalizeFeatures')] + PIPELINE
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'model = {model_cfg!r}\n'
        f"test_dataloader = dict(dataset=dict(pipeline={pipeline!r}))\n")
    meta = dict(label_names=list(EMOTIONS), feature_stats=saved.stats)
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=saved.model.state_dict(),
                    meta=dict(dataset_meta=meta)), ckpt)
    arrays = {m: list(a) for m, a in random_arrays(3, seed=5).items()}
    preds = NormTRInferencer(str(config), str(ckpt))(arrays)['predictions']
    torch.testing.assert_close(
        probs_of(preds), reference_probs(saved.model, arrays, saved.stats),
        atol=1e-5, rtol=0)
    with pytest.raises(InferenceError, match='needs its checkpoint'):
        NormTRInferencer(str(config))
