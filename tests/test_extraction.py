"""Raw video/audio -> features (normtr_plugin.extraction, section 4.3)."""
import csv
import json
import os.path as osp
import subprocess
import sys

import datasets as hf
import numpy as np
import pytest

from conftest import ROOT
from normtr_plugin.datasets import load_feature_stats
from normtr_plugin.extraction import (MediaError, MediaSkippedWarning, delta,
                                      extract_features, read_manifest,
                                      read_video_frames,
                                      segment_frame_indices,
                                      spectrogram_image)

cv2 = pytest.importorskip('cv2')
from scipy.io import wavfile  # noqa: E402

T, PX = 8, 64
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0),
           (255, 0, 255), (0, 255, 255), (128, 128, 128), (255, 255, 255)]
# id, split, label, frames
SAMPLES = [('a0', 'train', 'angry', 12), ('a1', 'train', 'happy', 12),
           ('a2', 'train', 'sad', 3), ('a3', 'train', 'angry', 12),
           ('a4', 'train', 'happy', 12), ('b0', 'validation', 'sad', 12),
           ('b1', 'validation', 'angry', 12), ('c0', 'test', 'happy', 12),
           ('c1', 'test', 'sad', 12)]
FAST = dict(segments=T, image_size=PX, batch_size=8, progress=False)
pytestmark = pytest.mark.filterwarnings('ignore:the backbone is randomly')


def write_video(path, colours, size=PX):
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10,
                          (size, size))
    assert out.isOpened()
    for rgb in colours:
        frame = np.zeros((size, size, 3), np.uint8)
        frame[:] = rgb[::-1]  # OpenCV writes BGR
        out.write(frame)
    out.release()


def write_wav(path, freq, sr=16000):
    t = np.arange(sr) / sr
    wavfile.write(str(path), sr,
                  (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(
                      np.int16))


def write_manifest(path, rows, columns=('id', 'split', 'label', 'video',
                                        'audio')):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)
    return str(path)


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp('media')
    rows = []
    for i, (sid, split, label, n) in enumerate(SAMPLES):
        write_video(root / f'{sid}.avi',
                    [COLOURS[(i + k) % 8] for k in range(n)])
        write_wav(root / f'{sid}.wav', 220 * (i + 1))
        rows.append([sid, split, label, f'{sid}.avi', f'{sid}.wav'])
    return root, rows


def test_segment_frame_indices():
    assert segment_frame_indices(8, 8) == list(range(8))
    assert segment_frame_indices(16, 8) == list(range(0, 16, 2))
    assert segment_frame_indices(12, 4) == [1, 4, 7, 10]
    assert segment_frame_indices(3, 8) == [0, 0, 0, 1, 1, 2, 2, 2]
    r1 = segment_frame_indices(100, 8, 'random', np.random.default_rng(1))
    r2 = segment_frame_indices(100, 8, 'random', np.random.default_rng(1))
    assert r1 == r2
    assert all(k * 100 // 8 <= i < (k + 1) * 100 // 8
               for k, i in enumerate(r1))
    with pytest.raises(ValueError, match='middle'):
        segment_frame_indices(10, 8, 'first')


def test_middle_frames_are_read(tmp_path):
    # 16 frames, T = 8: segment k is frames 2k, 2k+1 -> frame 2k (middle).
    colours = [COLOURS[k // 2] if k % 2 == 0 else (0, 0, 0)
               for k in range(16)]
    write_video(tmp_path / 'v.avi', colours)
    frames, n = read_video_frames(str(tmp_path / 'v.avi'), 8)
    assert n == 16 and frames.shape == (8, PX, PX, 3)
    means = frames.reshape(8, -1, 3).mean(1)
    np.testing.assert_allclose(means, np.array(COLOURS, float), atol=12)


def test_spectrogram_and_delta():
    y = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    img = spectrogram_image(y.astype(np.float32), 16000)
    assert img.shape == (3, 128, 32) and img.min() == 0 and img.max() == 1
    ramp = np.tile(np.arange(20, dtype=np.float32) * 3, (2, 1))
    np.testing.assert_allclose(delta(ramp), 3, atol=1e-4)  # librosa's too
    np.testing.assert_allclose(delta(ramp, order=2), 0, atol=1e-4)


def test_extract_shapes_determinism_card(tmp_path, media):
    root, rows = media
    man = write_manifest(root / 'manifest.csv', rows)
    rep = extract_features(man, str(tmp_path / 'a'), **FAST)
    extract_features(man, str(tmp_path / 'b'), **FAST)
    assert rep['samples'] == 9 and rep['num_skipped'] == 0
    assert rep['num_short_videos'] == 1
    assert rep['short_videos'][0]['id'] == 'a2'
    a = hf.load_from_disk(str(tmp_path / 'a'))
    b = hf.load_from_disk(str(tmp_path / 'b'))
    assert list(a) == ['train', 'validation', 'test']
    assert a['train'].features['label'].names == ['angry', 'happy', 'sad']
    assert a['train']['label'] == [0, 1, 2, 0, 1]
    for m in ('video', 'audio'):
        x = np.asarray(a['train'][m], np.float32)
        assert x.shape == (5, T, 512)
        assert np.isfinite(x).all() and x.std() > 0
        np.testing.assert_array_equal(x, np.asarray(b['train'][m]))
    assert load_feature_stats(str(tmp_path / 'a'))['modalities'].keys() \
        == {'video', 'audio'}
    card = (tmp_path / 'a' / 'README.md').read_text()
    assert 'Videos shorter than T = 8 frames (frames repeated): 1.' in card
    assert 'Skipped samples (missing or unreadable media): 0.' in card
    with pytest.raises(FileExistsError, match='overwrite'):
        extract_features(man, str(tmp_path / 'a'), **FAST)


def test_missing_and_corrupt_media_are_skipped(tmp_path, media):
    root, rows = media
    (tmp_path / 'bad.avi').write_text('not a video')
    rows = [list(r) for r in rows]
    rows[1][3] = str(tmp_path / 'bad.avi')  # a1: corrupt video
    rows[5][4] = 'nowhere.wav'  # b0: missing audio
    man = write_manifest(tmp_path / 'm.csv', [
        [r[0], r[1], r[2], osp.join(root, r[3]), osp.join(root, r[4])]
        for r in rows])
    # The media lie outside the manifest's folder: allowed explicitly.
    with pytest.warns(MediaSkippedWarning) as rec:
        rep = extract_features(man, str(tmp_path / 'out'),
                               allow_outside=True, **FAST)
    text = ' '.join(str(w.message) for w in rec)
    assert 'bad.avi' in text and 'nowhere.wav' in text
    assert rep['num_skipped'] == 2
    assert {s['id'] for s in rep['skipped']} == {'a1', 'b0'}
    assert rep['splits']['train']['samples'] == 4
    assert rep['splits']['validation']['samples'] == 1
    card = (tmp_path / 'out' / 'README.md').read_text()
    assert 'Skipped samples (missing or unreadable media): 2' in card
    with pytest.raises(MediaError, match='bad.avi'):
        extract_features(man, str(tmp_path / 'strict'), strict=True,
                         allow_outside=True, **FAST)
    assert not osp.exists(tmp_path / 'strict')
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.tmp-')]


def test_local_weights(tmp_path):
    import torch
    from safetensors.torch import save_file
    from normtr_plugin.extraction import build_backbone
    torch.manual_seed(3)
    ref = build_backbone(image_size=PX)
    state = {k: v.contiguous() for k, v in ref.model.state_dict().items()}
    save_file(state, str(tmp_path / 'w.safetensors'))
    torch.save({'state_dict': state}, tmp_path / 'w.pth')
    x = ref.preprocess(torch.rand(2, 3, 80, 96))
    assert x.shape == (2, 3, PX, PX)
    for f in ('w.safetensors', 'w.pth'):
        net = build_backbone(weights=str(tmp_path / f), image_size=PX)
        np.testing.assert_array_equal(net(x), ref(x))
    torch.save({'conv1.weight': torch.zeros(1)}, tmp_path / 'bad.pt')
    with pytest.raises(ValueError, match='do not fit'):
        build_backbone(weights=str(tmp_path / 'bad.pt'))


def test_manifest_errors(tmp_path, media):
    root, rows = media
    bad = write_manifest(tmp_path / 'a.csv', [r[:2] + r[3:] for r in rows],
                         ('id', 'split', 'video', 'audio'))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['label'\]"
                       r".*found: \['id', 'split', 'video', 'audio'\]"):
        read_manifest(bad)
    bad = write_manifest(tmp_path / 'b.csv', [r[:3] for r in rows],
                         ('id', 'split', 'label'))
    with pytest.raises(ValueError, match='video or audio'):
        read_manifest(bad)
    bad = write_manifest(tmp_path / 'c.csv', rows[5:])
    with pytest.raises(ValueError, match="no 'train' split"):
        read_manifest(bad)
    bad = write_manifest(tmp_path / 'd.csv', rows[:2] + rows[:1])
    with pytest.raises(ValueError, match='duplicate id'):
        read_manifest(bad)
    with pytest.raises(ValueError, match='numeric labels'):
        read_manifest(write_manifest(tmp_path / 'e.csv', rows),
                      task='regression')
    reg = [r[:2] + [str(i * 0.5)] + r[3:] for i, r in enumerate(rows)]
    m = read_manifest(write_manifest(tmp_path / 'f.csv', reg),
                      task='regression')
    assert m.label_feature == hf.Value('float32') and m.encode('1.5') == 1.5
    proc = subprocess.run(
        [sys.executable, 'tools/extract_features.py', '--manifest',
         str(tmp_path / 'a.csv'), '--out', str(tmp_path / 'o')],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count('\n') == 0
    assert proc.stderr.startswith('extract_features.py: error: manifest')


def test_cli_output_trains(tmp_path, media):
    root, rows = media
    man = write_manifest(root / 'cli.csv', rows)
    out = tmp_path / 'rml'
    proc = subprocess.run(
        [sys.executable, 'tools/extract_features.py', '--manifest', man,
         '--out', str(out), '--segments', str(T), '--batch-size', '8',
         '--image-size', str(PX)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report['samples'] == 9 and report['feature_dim'] == 512
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', osp.join('configs',
                                                     'normtr_rml.py'),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         f'data_root={out}', 'train_cfg.max_epochs=1',
         'model.head.num_classes=3',
         'default_hooks.checkpoint.save_best=Acc-3'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(tmp_path / 'work' / 'test_metrics.json') as f:
        assert 'Acc-3' in json.load(f)['metrics']


class _Payload:
    def __reduce__(self):
        return (print, ('pickled code ran',))


def test_backbone_weights_via_timm_stay_weights_only(tmp_path):
    import torch
    from normtr_plugin.extraction import build_backbone
    torch.save({'state_dict': {'conv1.weight': _Payload()}},
               tmp_path / 'evil.pth')
    with pytest.raises(ValueError, match='refused'):
        build_backbone(weights=str(tmp_path / 'evil.pth'), image_size=PX)
    with pytest.raises(ValueError, match='.safetensors, .pth'):
        (tmp_path / 'w.npz').write_bytes(b'')
        build_backbone(weights=str(tmp_path / 'w.npz'), image_size=PX)


def test_segment_candidate_indices_fit_segment_sample():
    import torch
    from normtr_plugin.datasets.transforms import SegmentSample
    from normtr_plugin.extraction import segment_candidate_indices
    assert segment_candidate_indices(12, 4, 1) == [1, 4, 7, 10]
    assert segment_candidate_indices(12, 4, 3) == list(range(12))
    for n, t, k in [(12, 4, 3), (30, 3, 4), (100, 8, 2), (7, 8, 3)]:
        idx = np.array(segment_candidate_indices(n, t, k))
        assert len(idx) == t * k and (np.diff(idx) >= 0).all()
        mid = SegmentSample(['video'], t).indices(
            torch.tensor([t * k]), t)[0].numpy()
        assert list(idx[mid]) == segment_frame_indices(n, t)
        for seg in range(t):  # candidates stay inside their segment
            if n >= t:
                assert (idx[seg * k:(seg + 1) * k] >= seg * n // t).all()
                assert (idx[seg * k:(seg + 1) * k] < (seg + 1) * n // t).all()


def test_workers_and_frames_per_segment(tmp_path, media):
    """Decoding in worker processes gives the same features; K candidate
    frames per segment are laid out for SegmentSample."""
    import torch
    from normtr_plugin.datasets.transforms import SegmentSample
    root, rows = media
    man = write_manifest(root / 'manifest_k.csv', rows)
    one = extract_features(man, str(tmp_path / 'k1'), workers=0, **FAST)
    extract_features(man, str(tmp_path / 'w2'), workers=2, **FAST)
    rep = extract_features(man, str(tmp_path / 'k3'), workers=2,
                           frames_per_segment=3, **FAST)
    assert rep['frames_per_segment'] == 3 and one['frames_per_segment'] == 1
    k1, w2, k3 = (hf.load_from_disk(str(tmp_path / d))['train']
                  for d in ('k1', 'w2', 'k3'))
    for m in ('video', 'audio'):
        np.testing.assert_array_equal(np.asarray(k1[m]), np.asarray(w2[m]))
    video = np.asarray(k3['video'], np.float32)
    assert video.shape == (5, 3 * T, 512)
    assert np.asarray(k3['audio']).shape == (5, T, 512)
    np.testing.assert_allclose(np.asarray(k3['audio']),
                               np.asarray(k1['audio']), atol=1e-5)
    # evaluation: the middle candidate is the K = 1 frame
    batch = dict(video=torch.from_numpy(video), modalities=['video'],
                 lengths=torch.full((5, 1), 3 * T))
    test = SegmentSample(['video'], T)(dict(batch))['video'].numpy()
    np.testing.assert_allclose(test, np.asarray(k1['video']), atol=1e-5)
    # training: one of each segment's K candidates
    train = SegmentSample(['video'], T, random=True)(
        dict(batch))['video'].numpy()
    for b in range(5):
        for seg in range(T):
            cands = video[b, seg * 3:(seg + 1) * 3]
            assert any(np.array_equal(train[b, seg], c) for c in cands)
    card = (tmp_path / 'k3' / 'README.md').read_text()
    assert 'K = 3 candidate frames' in card and f'({3 * T}, 512)' in card
    with pytest.raises(ValueError, match="frame='middle'"):
        extract_features(man, str(tmp_path / 'bad'), frame='random',
                         frames_per_segment=2, **FAST)
