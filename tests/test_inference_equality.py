"""One data path (issue 17): the 80 MMMO test samples predicted from a
training checkpoint by NormTRInferencer(config, checkpoint), given as

(a) the source's zero-padded arrays in an .npz without lengths,
(b) an .npz with lengths (``<modality>_lengths`` and ``lengths`` (N, M)),
(c) the converted dataset,

equal ``tools/test.py --dump`` on every sample. The real features are
found as ``../shared/data/mmmo`` beside the repository or under
``$NORMTR_SHARED/data/mmmo``; the test skips without them."""
import json
import os
import os.path as osp
import subprocess
import sys

import datasets as hf
import numpy as np
import pytest

from conftest import ROOT

CONFIG = osp.join(ROOT, 'configs', 'normtr_mmmo.py')
SMALL = ['model.embed_dim=32', 'model.fusion.depth=1']


def mmmo_source():
    for shared in (os.environ.get('NORMTR_SHARED'),
                   osp.join(ROOT, '..', 'shared')):
        if shared and osp.isdir(osp.join(shared, 'data', 'mmmo')):
            return osp.normpath(osp.join(shared, 'data', 'mmmo'))
    return None


MMMO = mmmo_source()
pytestmark = pytest.mark.skipif(
    MMMO is None, reason='the real MMMO features (../shared/data/mmmo or '
    '$NORMTR_SHARED/data/mmmo) are not here')


def run(args):
    proc = subprocess.run([sys.executable] + [str(a) for a in args],
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def source_test_split():
    """The source's test arrays (zero-padded, float64 -> float32)."""
    import h5py
    arrays = {}
    for m, name in (('audio', 'audio_test'), ('video', 'video_test')):
        with h5py.File(osp.join(MMMO, f'{name}.h5'), 'r') as f:
            arrays[m] = np.asarray(f['d1'][()], np.float32)
    n = len(arrays['audio'])
    # the converter's ids (converters/cmu_h5.py)
    return arrays, np.array([f'test_{i:06d}' for i in range(n)])


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """MMMO converted, one seeded epoch of a small NORM-TR, and
    ``tools/test.py --dump`` of its checkpoint: {id: pred_score}."""
    tmp = tmp_path_factory.mktemp('equality')
    data = tmp / 'mmmo'
    run(['tools/convert_dataset.py', 'cmu-h5', MMMO, '--out', data])
    options = [f'data_root={data}'] + SMALL
    run(['tools/train.py', CONFIG, '--work-dir', tmp / 'work', '--no-test',
         '--cfg-options', *options, 'train_cfg.max_epochs=1',
         'randomness.seed=0'])
    ckpt = tmp / 'work' / 'epoch_1.pth'
    dump = tmp / 'dump.jsonl'
    run(['tools/test.py', CONFIG, ckpt, '--work-dir', tmp / 'test',
         '--dump', dump, '--cfg-options', *options])
    rows = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(rows) == 80
    return dict(data=str(data), ckpt=str(ckpt), tmp=tmp,
                dumped={r['id']: r['pred_score'] for r in rows},
                options=dict(data_root=str(data), **{
                    k: int(v) for k, v in (o.split('=') for o in SMALL)}))


@pytest.fixture(scope='module')
def inferencer(trained):
    from normtr_plugin.apis import NormTRInferencer
    return NormTRInferencer(CONFIG, trained['ckpt'],
                            cfg_options=trained['options'])


def check_equal(preds, dumped):
    assert len(preds) == 80
    got = {p['id']: p['pred_score'] for p in preds}
    assert set(got) == set(dumped)
    ids = sorted(dumped)
    np.testing.assert_allclose([got[i] for i in ids],
                               [dumped[i] for i in ids], atol=1e-5, rtol=0)


def test_padded_source_arrays_without_lengths(trained, inferencer):
    arrays, ids = source_test_split()
    # the source pads at either end: stripping trailing zeros is not enough
    assert (~arrays['audio'][:, 0].any(-1)).any()
    path = trained['tmp'] / 'source.npz'
    np.savez(path, id=ids, **arrays)
    with pytest.warns(UserWarning, match='inputs without lengths'):
        preds = inferencer(str(path), batch_size=32)['predictions']
    check_equal(preds, trained['dumped'])


@pytest.mark.parametrize('layout', ['per_modality', 'table'])
def test_npz_with_lengths(trained, inferencer, layout, recwarn):
    test = hf.load_from_disk(trained['data'])['test'].with_format('numpy')
    arrays, lengths = {}, {}
    for m in ('audio', 'video'):
        rows = list(test[m])
        lengths[m] = np.array([len(r) for r in rows])
        arrays[m] = np.zeros((len(rows), 20, rows[0].shape[1]), np.float32)
        for i, r in enumerate(rows):
            arrays[m][i, :len(r)] = r
    if layout == 'table':
        stated = dict(lengths=np.stack([lengths['audio'], lengths['video']],
                                       axis=1))
    else:
        stated = {f'{m}_lengths': v for m, v in lengths.items()}
    path = trained['tmp'] / f'lengths_{layout}.npz'
    np.savez(path, id=np.array(test['id']), **arrays, **stated)
    preds = inferencer(str(path), batch_size=16)['predictions']
    check_equal(preds, trained['dumped'])
    assert not [w for w in recwarn if 'without lengths' in str(w.message)]


def test_converted_dataset(trained, inferencer):
    from normtr_plugin.apis import DatasetInputs
    preds = inferencer(DatasetInputs(trained['data'], 'test'),
                       batch_size=64)['predictions']
    check_equal(preds, trained['dumped'])


def test_infer_tool_takes_config_and_checkpoint(trained):
    out = trained['tmp'] / 'infer.json'
    run(['tools/infer.py', CONFIG, trained['ckpt'], '--input',
         trained['data'], '--out', out, '--cfg-options',
         *[f'{k}={v}' for k, v in trained['options'].items()]])
    check_equal(json.loads(out.read_text()), trained['dumped'])
