"""Fuzz the loaders with 200 seeded corruptions of the files users pass.

Four formats, 50 cases each: a training checkpoint (``.pth``, loaded as
``tools/test.py`` loads it, through mmengine's ``CheckpointLoader``), a
published folder (``config.json`` + ``model.safetensors``, through
``from_pretrained``), an ``.npz`` of inference inputs (``read_npz`` +
``array_batches``, what ``NormTRInferencer`` reads) and a ``cmu-h5``
source folder (the converter). Each case truncates, flips bits in, fills
with random bytes, empties, or swaps (with another file of the folder or a
file of another format) one file, and the loader must either

- raise a :class:`NormTRError` whose message is one line, or
- load a result equal to the uncorrupted file's (a flip in bytes the format
  ignores).

Any other exception fails. A load that differs from the uncorrupted result
fails only for the formats in :data:`INTEGRITY_CHECKED` (whose loaders
verify content); for the others it is counted as ``different`` and printed
(``pytest -s``) with the other verdicts.
"""
import collections
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from normtr_plugin.apis.inputs import array_batches, read_npz
from normtr_plugin.engine import register_checkpoint_loader
from normtr_plugin.engine.checkpoint_digest import (CONTENT_HASH_KEY,
                                                   content_hashes)
from normtr_plugin.hub import from_pretrained, save_pretrained
from normtr_plugin.models import NormTR
from normtr_plugin.utils.errors import NormTRError

h5py = pytest.importorskip('h5py')

SEED = 18
PER_FORMAT = 50
FORMATS = ('pth', 'published', 'npz', 'cmu-h5')
CORRUPTIONS = ('truncate', 'flip', 'random', 'empty', 'swap')
#: Formats whose loaders verify the content (a corrupted file must never
#: load as something else). ``.npz``: the zip CRC of every member. When
#: case 13 lands (SHA-256 of each published file, a content hash in each
#: checkpoint), add 'published' and 'pth' here.
INTEGRITY_CHECKED = {'npz', 'pth', 'published'}

MODS = dict(audio=3, video=4, text=5)
T = 4
PIPELINE = [dict(type='TruncatePad', keys=['audio', 'text'], seq_len=T),
            dict(type='SegmentSample', keys=['video'], seq_len=T),
            dict(type='PackMultimodalInputs')]
H5_SIZES = dict(train=5, valid=3, test=2)  # all different: swaps show
H5_DIMS = dict(audio=2, video=3)


# ------------------------------------------------------------- originals
def tiny_model():
    torch.manual_seed(0)
    return NormTR(modalities=MODS, seq_len=T, embed_dim=8,
                  fusion=dict(type='FusionDecoder', depth=1, num_heads=2),
                  head=dict(type='MultiBinaryHead', num_tasks=4)).eval()


def write_checkpoint(path, model):
    """What mmengine's CheckpointHook writes, in small: weights, meta,
    message hub (HistoryBuffer, numpy arrays and scalars)."""
    loss = HistoryBuffer()
    for v in (0.9, 0.7, 0.5):
        loss.update(v)
    checkpoint = dict(
        meta=dict(epoch=2, iter=10, seed=0,
                  dataset_meta=dict(label_names=['a', 'b', 'c', 'd'])),
        state_dict=model.state_dict(),
        message_hub=dict(log_scalars={'train/loss': loss},
                         runtime_info=dict(eta=np.float64(1.5)),
                         resumed_keys={}),
        optimizer=dict(state={}, param_groups=[dict(lr=1e-3, params=[0])]))
    # as AtomicCheckpointHook.before_save_checkpoint stores it
    checkpoint['meta'][CONTENT_HASH_KEY] = content_hashes(checkpoint)
    torch.save(checkpoint, path)
    return str(path)


def write_npz(path):
    rng = np.random.default_rng(1)
    np.savez(path, **{m: rng.standard_normal((3, T, d)).astype(np.float32)
                      for m, d in MODS.items()},
             id=np.array(['a', 'b', 'c']),
             audio_lengths=np.array([4, 2, 3]))
    return str(path)


def write_h5_source(folder):
    rng = np.random.default_rng(2)
    os.makedirs(folder)
    for split, n in H5_SIZES.items():
        for m, d in H5_DIMS.items():
            with h5py.File(osp.join(folder, f'{m}_{split}.h5'), 'w') as f:
                f.create_dataset('d1', data=rng.standard_normal((n, 3, d)))
        with h5py.File(osp.join(folder, f'y_{split}.h5'), 'w') as f:
            f.create_dataset('d1', data=rng.standard_normal(n))
    return str(folder)


# --------------------------------------------------------------- loaders
def load_pth(path, out):
    """What test.py/publish.py/robustness.py get from the checkpoint."""
    register_checkpoint_loader()
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    ckpt['meta'].pop('source', None)  # the path, not the content
    return ckpt


def load_published(folder, out):
    model = from_pretrained(folder)
    return dict(state=model.state_dict(), config=model.pretrained_config)


def load_npz(path, out):
    batches = array_batches(read_npz(path), MODS, path)
    return dict(arrays=batches.arrays, lengths=batches.lengths,
                ids=batches.ids)


def load_h5(folder, out):
    import datasets as hf
    from normtr_plugin.datasets.converters import convert
    convert('cmu-h5', folder, out, modalities='audio,video')
    return {s: d.to_dict() for s, d in hf.load_from_disk(out).items()}


def same(a, b) -> bool:
    """Deep equality of loaded results (tensors, arrays, dicts, buffers)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) \
            and a.dtype == b.dtype and a.shape == b.shape and \
            bool(torch.equal(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and \
            all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, HistoryBuffer):
        return isinstance(b, HistoryBuffer) and same(vars(a), vars(b))
    return type(a) is type(b) and a == b


# ----------------------------------------------------------- corruptions
def corrupt(data: bytes, kind: str, rng, other: bytes) -> bytes:
    """``data`` damaged by ``kind``; ``other``: the bytes a swap puts in."""
    if kind == 'truncate':
        return data[:int(rng.integers(0, len(data)))]
    if kind == 'flip':
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(0, len(out)))] ^= 1 << int(
                rng.integers(0, 8))
        return bytes(out)
    if kind == 'random':
        return rng.bytes(int(rng.integers(1, 2 * len(data))))
    if kind == 'empty':
        return b''
    return other


def files_of(path):
    if osp.isfile(path):
        return [path]
    return sorted(osp.join(path, f) for f in os.listdir(path))


@pytest.fixture(scope='module')
def originals(tmp_path_factory):
    root = tmp_path_factory.mktemp('fuzz')
    model = tiny_model()
    return {
        'pth': (write_checkpoint(root / 'epoch_2.pth', model), load_pth),
        'published': (save_pretrained(model, str(root / 'published'),
                                      dataset_meta=dict(
                                          label_names=list('abcd')),
                                      test_pipeline=PIPELINE),
                      load_published),
        'npz': (write_npz(root / 'inputs.npz'), load_npz),
        'cmu-h5': (write_h5_source(root / 'h5'), load_h5),
    }


def test_corrupted_files_give_one_line_errors_or_the_same_result(
        originals, tmp_path, capsys):
    rng = np.random.default_rng(SEED)
    foreign = {fmt: open(files_of(src)[-1], 'rb').read()
               for fmt, (src, _) in originals.items()}
    verdicts = collections.Counter()
    failures = []
    for fmt in FORMATS:
        src, load = originals[fmt]
        expected = load(src, str(tmp_path / f'{fmt}-clean'))
        for case in range(PER_FORMAT):
            kind = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
            case_dir = tmp_path / f'{fmt}-{case}'
            os.makedirs(case_dir)
            target = str(case_dir / osp.basename(src))
            if osp.isdir(src):
                shutil.copytree(src, target)
            else:
                shutil.copy(src, target)
            files = files_of(target)
            victim = files[int(rng.integers(len(files)))]
            data = open(victim, 'rb').read()
            if kind == 'swap':  # another file of the folder, or a format's
                pool = [f for f in files if f != victim]
                other = open(pool[int(rng.integers(len(pool)))], 'rb').read() \
                    if pool and rng.random() < 0.5 else \
                    foreign[FORMATS[(FORMATS.index(fmt) + 1) % 4]]
            else:
                other = b''
            with open(victim, 'wb') as f:
                f.write(corrupt(data, kind, rng, other))
            label = f'{fmt} #{case} {kind} {osp.basename(victim)}'
            try:
                result = load(target, str(case_dir / 'out'))
            except NormTRError as err:
                message = str(err)
                if not message.strip() or '\n' in message:
                    failures.append(f'{label}: not one line: {message!r}')
                verdicts[(fmt, 'error')] += 1
                continue
            except Exception as err:  # noqa: B902 - what the test catches
                failures.append(f'{label}: {type(err).__name__}: '
                                f'{str(err)[:300]}')
                verdicts[(fmt, 'other exception')] += 1
                continue
            if same(result, expected):
                verdicts[(fmt, 'same result')] += 1
            else:
                verdicts[(fmt, 'different')] += 1
                if fmt in INTEGRITY_CHECKED:
                    failures.append(f'{label}: loaded a different result')
    with capsys.disabled():
        print('\nfuzz verdicts:', json.dumps(
            {f'{f}: {v}': n for (f, v), n in sorted(verdicts.items())},
            indent=1))
    assert sum(verdicts.values()) == len(FORMATS) * PER_FORMAT == 200
    assert not failures, '\n'.join(failures)
