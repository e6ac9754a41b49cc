"""Issue 18, case 14 and "Tracebacks and unclear errors": hostile or broken
inputs end in one clear error naming the problem (file, key, modality,
expected vs found), never a traceback or a silently changed value.

API-level tests check the exception and its message; the tool runs check
``tool.py: error: ...`` on one stderr line, exit status 2, and that the
named files are left as they were.
"""
import glob
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from conftest import ROOT
from safety_helpers import DEMO, run_tool, snapshot, tiny_demo_data
from normtr_plugin.apis.inputs import array_batches, read_npz
from normtr_plugin.datasets import MultimodalFeatureDataset
from normtr_plugin.datasets.converters import ConversionError, convert
from normtr_plugin.datasets.feature_format import FeatureDatasetWriter
from normtr_plugin.engine import CorruptCheckpointError, \
    load_checkpoint_safely
from normtr_plugin.engine.config_check import MAX_SEQ_LEN, check_lengths
from normtr_plugin.extraction.manifest import read_manifest
from normtr_plugin.hub.checkpoint_scheme import split_hub_path
from normtr_plugin.utils.errors import InputError, NormTRError

h5py = pytest.importorskip('h5py')

MODS = dict(audio=3, video=4, text=5)


def one_line(err) -> str:
    message = str(err.value)
    assert message.strip() and '\n' not in message
    return message


def assert_tool_error(proc, *words):
    """Exit 2, one ``tool.py: error:`` line on stderr holding ``words``."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if ': error: ' in line]
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def inputs(n=2, t=4, dtype=np.float32):
    rng = np.random.default_rng(0)
    return {m: rng.standard_normal((n, t, d)).astype(dtype)
            for m, d in MODS.items()}


# ----------------------------------------------- 14: non-real dtypes
def test_complex_npz_is_refused_not_truncated_to_real(tmp_path):
    arrays = inputs()
    arrays['video'] = arrays['video'] + 1j  # imaginary part 1 everywhere
    path = str(tmp_path / 'complex.npz')
    np.savez(path, **arrays)
    with pytest.raises(InputError) as err:
        array_batches(read_npz(path), MODS, path)
    message = one_line(err)
    assert "modality 'video'" in message and 'complex' in message
    assert path in message


@pytest.mark.parametrize('values, kind', [
    (np.array([[['a', 'b', 'c']] * 4] * 2), 'text'),
    (np.ones((2, 4, 3), 'datetime64[s]'), 'dates')])
def test_npz_of_text_or_dates_is_refused(tmp_path, values, kind):
    arrays = dict(inputs(), audio=values)
    path = str(tmp_path / 'text.npz')
    np.savez(path, **arrays)
    with pytest.raises(InputError) as err:
        array_batches(read_npz(path), MODS, path)
    assert "modality 'audio'" in one_line(err) and kind in str(err.value)


def test_fractional_or_text_lengths_are_refused(tmp_path):
    for lengths in (np.array([2.5, 3.0]), np.array(['2', '3'])):
        with pytest.raises(InputError) as err:
            array_batches(dict(inputs(), audio_lengths=lengths), MODS, 'x')
        assert "lengths of modality 'audio'" in one_line(err) or \
            "modality 'audio': lengths" in str(err.value)


@pytest.mark.parametrize('fmt', ['mmsa', 'mult'])
def test_converters_refuse_complex_features_and_labels(tmp_path, fmt):
    rng = np.random.default_rng(0)

    def split(n, complex_in=None):
        part = dict(audio=rng.standard_normal((n, 4, 3)),
                    vision=rng.standard_normal((n, 4, 2)),
                    text=rng.standard_normal((n, 4, 6)),
                    id=np.array([f's{i}' for i in range(n)], dtype=object))
        part['labels'] = part['regression_labels'] = rng.standard_normal(n)
        if complex_in:
            part[complex_in] = part[complex_in] * (1 + 1j)
        return part

    key = 'labels' if fmt == 'mult' else 'regression_labels'
    for where in ('audio', key):
        src = tmp_path / f'{where}.pkl'
        with open(src, 'wb') as f:
            pickle.dump(dict(train=split(4), valid=split(2),
                             test=split(2, where)), f)
        with pytest.raises(InputError) as err:
            convert(fmt, str(src), str(tmp_path / 'out'))
        message = one_line(err)
        assert 'complex' in message and where in message
        assert "split 'test'" in message
        assert not (tmp_path / 'out').exists()


def write_h5_source(folder, steps=3, dtype=np.float64, label_dtype=None):
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for split, n in dict(train=5, valid=3, test=2).items():
        for m, d in dict(audio=2, video=3).items():
            with h5py.File(osp.join(folder, f'{m}_{split}.h5'), 'w') as f:
                f.create_dataset('d1', data=rng.standard_normal(
                    (n, steps, d)).astype(dtype))
        with h5py.File(osp.join(folder, f'y_{split}.h5'), 'w') as f:
            f.create_dataset('d1', data=rng.standard_normal(n).astype(
                label_dtype or np.float64))
    return str(folder)


@pytest.mark.parametrize('features, labels', [
    (np.complex128, None), (np.float64, np.complex64)])
def test_cmu_h5_refuses_complex_arrays(tmp_path, features, labels):
    src = write_h5_source(tmp_path / 'src', dtype=features,
                          label_dtype=labels)
    with pytest.raises(InputError) as err:
        convert('cmu-h5', src, str(tmp_path / 'out'),
                modalities='audio,video')
    message = one_line(err)
    assert 'complex' in message and '.h5' in message


# ------------------------------------------------ HDF5 with 0 steps
def test_cmu_h5_features_with_zero_steps_are_refused(tmp_path):
    src = write_h5_source(tmp_path / 'src', steps=0)
    proc = run_tool(['tools/convert_dataset.py', 'cmu-h5', src, '--out',
                     tmp_path / 'out'])
    assert_tool_error(proc, '0 time steps', 'audio_train.h5')
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------ .npz damage
@pytest.mark.parametrize('damage, words', [
    ('truncated', ['truncated']), ('renamed npy', ['single .npy']),
    ('empty', ['empty']), ('object', ['numeric'])])
def test_damaged_npz_names_file_and_problem(tmp_path, damage, words):
    path = str(tmp_path / 'in.npz')
    np.savez(path, **inputs())
    if damage == 'truncated':
        data = open(path, 'rb').read()
        open(path, 'wb').write(data[:len(data) // 2])
    elif damage == 'renamed npy':
        np.save(str(tmp_path / 'a.npy'), inputs()['audio'])
        os.replace(str(tmp_path / 'a.npy'), path)
    elif damage == 'empty':
        open(path, 'wb').close()
    else:
        np.savez(path, **dict(inputs(), id=np.array([{}, {}], object)))
    with pytest.raises(InputError) as err:
        read_npz(path)
    message = one_line(err)
    assert path in message and all(w in message for w in words)


# ------------------------------------------------- pickles in converters
class _Alloc:
    def __reduce__(self):
        return bytearray, (2 ** 37,)


class _NotAnArray:
    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        return _reconstruct, (dict, (0,), b'b')


class _HugeArray:
    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        return _reconstruct, (np.ndarray, (2 ** 40,), b'b')


@pytest.mark.parametrize('payload, words', [
    (_Alloc(), ['bytearray', 'larger than']),
    (_NotAnArray(), ['_reconstruct of dict', 'not of a numpy array']),
    (_HugeArray(), ['(1099511627776,)', 'larger than'])])
@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_bombs_and_non_array_reconstructs(tmp_path, payload, words,
                                                 protocol):
    src = tmp_path / 'bomb.pkl'
    with open(src, 'wb') as f:
        pickle.dump(dict(train=dict(audio=payload)), f, protocol=protocol)
    with pytest.raises(ConversionError) as err:
        convert('mmsa', str(src), str(tmp_path / 'out'))
    message = one_line(err)
    assert 'bomb.pkl' in message and all(w in message for w in words)


def test_truncated_pickle_is_a_one_line_tool_error(tmp_path):
    src = tmp_path / 'cut.pkl'
    data = pickle.dumps(dict(train=dict(audio=np.zeros((4, 3, 2)))))
    src.write_bytes(data[:len(data) // 2])
    proc = run_tool(['tools/convert_dataset.py', 'mmsa', src, '--out',
                     tmp_path / 'out'])
    assert_tool_error(proc, 'cut.pkl', 'not a readable')


# ------------------------------------------------ damaged checkpoints
def damaged(tmp_path, kind) -> str:
    path = tmp_path / f'{kind}.pth'
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'random':
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        torch.save(dict(state_dict={'w': torch.ones(64, 64)}), path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    return str(path)


@pytest.mark.parametrize('kind, words', [
    ('empty', ['empty (0 bytes)']),
    ('random', ['not a PyTorch checkpoint']),
    ('truncated', ['truncated'])])
def test_damaged_checkpoint_says_what_is_wrong(tmp_path, kind, words):
    path = damaged(tmp_path, kind)
    with pytest.raises(CorruptCheckpointError) as err:
        load_checkpoint_safely(path)
    message = one_line(err)
    assert path in message and all(w in message for w in words)
    assert 'allowlist' not in message


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory):
    return tiny_demo_data(tmp_path_factory.mktemp('demo') / 'data')


@pytest.mark.parametrize('tool, kind', [
    ('test.py', 'random'), ('publish.py', 'truncated'),
    ('robustness.py', 'empty')])
def test_tools_report_damaged_checkpoints_in_one_line(tmp_path, demo_data,
                                                      tool, kind):
    ckpt = damaged(tmp_path, kind)
    before = snapshot(tmp_path)
    args = {'test.py': [DEMO, ckpt, '--work-dir', tmp_path / 'w'],
            'publish.py': [DEMO, ckpt, '--out', tmp_path / 'pub'],
            'robustness.py': [DEMO, ckpt, '--ratios', '0,1', '--seeds', '1',
                              '--out', tmp_path / 'rob', '--no-plots']}[tool]
    proc = run_tool([f'tools/{tool}', *args, '--cfg-options',
                     f'data_root={demo_data}'])
    assert_tool_error(proc, ckpt)
    assert not (tmp_path / 'pub').exists()
    assert {k: v for k, v in snapshot(tmp_path).items()
            if not k.startswith(('w/', 'rob/'))} == before


# -------------------------------------------------------------- seq_len
@pytest.mark.parametrize('value', [0, -1, MAX_SEQ_LEN + 1, 200000])
def test_seq_len_out_of_bounds_names_modality_and_value(value):
    from mmengine.config import Config
    cfg = Config(dict(modalities=MODS, seq_len=dict(audio=4, video=value,
                                                    text=4)))
    with pytest.raises(InputError) as err:
        check_lengths(cfg)
    message = one_line(err)
    assert "modality 'video'" in message and str(value) in message


def test_train_refuses_seq_len_200000_in_one_line(tmp_path, demo_data):
    proc = run_tool(['tools/train.py', DEMO, '--work-dir', tmp_path / 'w',
                     '--cfg-options', f'data_root={demo_data}',
                     'seq_len=200000'])
    assert_tool_error(proc, 'seq_len', '200000')
    assert not glob.glob(str(tmp_path / 'w' / '*.pth'))


# ----------------------------------------------------------- modalities
def demo_dims(data_root) -> dict:
    """modality -> feature dim of a dataset, from its statistics file."""
    with open(osp.join(data_root, 'feature_stats.json')) as f:
        return {m: len(s['mean'])
                for m, s in json.load(f)['modalities'].items()}


def test_missing_or_wrong_dim_modality_names_it(demo_data):
    dims = demo_dims(demo_data)
    with pytest.raises(KeyError) as err:
        MultimodalFeatureDataset(demo_data, 'test', dict(dims, depth=7),
                                 label_columns=())
    assert "modality 'depth'" in one_line(err)
    wrong = dict(dims, video=dims['video'] + 1)
    with pytest.raises(InputError) as err:
        MultimodalFeatureDataset(demo_data, 'test', wrong, label_columns=())
    message = one_line(err)
    assert "modality 'video'" in message
    assert f"expects feature dim {dims['video'] + 1}" in message
    assert f"has {dims['video']}" in message
    # the inferencer's inputs: missing and wrong-dim arrays
    arrays = inputs()
    with pytest.raises(InputError) as err:
        array_batches({m: arrays[m] for m in ('audio', 'text')}, MODS, 'x')
    assert "modality 'video'" in one_line(err)
    with pytest.raises(InputError) as err:
        array_batches(dict(arrays, text=arrays['text'][..., :2]), MODS, 'x')
    assert "modality 'text'" in one_line(err) and 'expects 5, found 2' in \
        str(err.value)


# ------------------------------------------------------------- resident
def test_resident_on_a_device_this_machine_lacks(demo_data):
    device = 'cuda' if not torch.cuda.is_available() else \
        f'cuda:{torch.cuda.device_count()}'
    with pytest.raises(InputError) as err:
        MultimodalFeatureDataset(demo_data, 'train', demo_dims(demo_data),
                                 label_columns=(), resident=device)
    message = one_line(err)
    assert f'resident={device!r}' in message and "split 'train'" in message


# ------------------------------------------------------------ Hub revision
@pytest.mark.parametrize('name', ['hf://org/name@', 'hf://org/name@a b',
                                  'hf://org/name@../x'])
def test_empty_or_malformed_revision_is_refused(name):
    with pytest.raises(InputError) as err:
        split_hub_path(name)
    assert repr(name) in one_line(err) and 'revision' in str(err.value)
    assert split_hub_path('hf://org/name@v1.0') == ('org/name', 'v1.0')
    from mmengine.runner.checkpoint import CheckpointLoader
    from normtr_plugin.hub import register_hub_scheme
    register_hub_scheme()
    with pytest.raises(NormTRError):
        CheckpointLoader.load_checkpoint(name)


# --------------------------------------------------------- split names
@pytest.mark.parametrize('split', ['../../x', 'a/b', 'x y', '.hidden'])
def test_manifest_split_must_be_a_plain_name(tmp_path, split):
    (tmp_path / 'a.wav').write_bytes(b'')
    manifest = tmp_path / 'm.csv'
    manifest.write_text('id,split,label,audio\n'
                        's1,train,happy,a.wav\n'
                        f's2,{split},sad,a.wav\n')
    with pytest.raises(InputError) as err:
        read_manifest(str(manifest))
    message = one_line(err)
    assert 'line 3' in message and repr(split) in message


def test_writer_refuses_a_split_name_that_is_a_path(tmp_path):
    with FeatureDatasetWriter(str(tmp_path / 'out'), dict(audio=2),
                              {}) as writer:
        with pytest.raises(InputError) as err:
            writer.write_split('../x', iter([]))
    assert "'../x'" in one_line(err)
    assert not (tmp_path / 'x').exists()


# ------------------------------------------------------------------ tools
@pytest.mark.parametrize('tool', sorted(
    glob.glob(osp.join(ROOT, 'tools', '*.py'))
    + glob.glob(osp.join(ROOT, 'tools', '*', '*.py'))))
def test_every_tool_reports_project_errors_in_one_line(tool):
    """Each tool runs ``main`` through ``run_tool`` (NormTRError -> one
    line, exit 2)."""
    text = open(tool).read()
    if "__name__ == '__main__'" not in text:
        return
    assert 'run_tool(main' in text.split("__name__ == '__main__'")[1], tool


# ------------------------------------------------ published config values
def test_published_config_that_cannot_build_names_the_file(tmp_path):
    from normtr_plugin.hub import from_pretrained, save_pretrained
    from test_fuzz_loaders import PIPELINE, tiny_model
    folder = save_pretrained(tiny_model(), str(tmp_path / 'pub'),
                             test_pipeline=PIPELINE)
    path = osp.join(folder, 'config.json')
    with open(path) as f:
        config = json.load(f)
    config['model']['embed_dim'] = -3
    with open(path, 'w') as f:
        json.dump(config, f)
    # consistent checksums: the build, not SHA256SUMS, must catch it
    from normtr_plugin.hub.checksums import write_checksums
    write_checksums(folder, ('config.json', 'model.safetensors'))
    with pytest.raises(InputError) as err:
        from_pretrained(folder)
    message = one_line(err)
    assert path in message and 'embed_dim' in message
