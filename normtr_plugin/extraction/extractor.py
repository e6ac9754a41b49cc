"""Raw video / audio -> the project's feature format (paper section 4.3).

Per sample and modality, T images go through the backbone (ResNet-18 by
default) and give a (T, 512) feature sequence: T frames (one per equal
segment of the clip, ``video.py``) and T log-mel/delta/delta-delta
spectrogram segments (``audio.py``). Images of consecutive samples are
collected into batches of ``batch_size`` for the backbone. The output is
written with ``FeatureDatasetWriter`` (streaming, atomic, with
``feature_stats.json`` and a dataset card).
"""
import os.path as osp
import warnings
import zlib
from typing import Optional

import numpy as np
import torch

from ..datasets.converters.dataset_card import render_card
from ..datasets.feature_format import FeatureDatasetWriter
from .audio import read_wav, spectrogram_image, split_segments
from .backbone import build_backbone
from ..utils import check_replaceable
from .manifest import read_manifest
from .video import MediaError, read_video_frames

__all__ = ['MediaSkippedWarning', 'extract_features']


class MediaSkippedWarning(UserWarning):
    """A sample was skipped because a media file is missing or unreadable."""


def _video_images(path, backbone, segments, frame, rng):
    frames, n = read_video_frames(path, segments, frame, rng)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    return backbone.preprocess(x, crop=True), n


def _audio_images(path, backbone, segments):
    y, sr = read_wav(path)
    parts = split_segments(spectrogram_image(y, sr), segments)
    return torch.cat([backbone.preprocess(torch.from_numpy(
        np.ascontiguousarray(p))[None], crop=False) for p in parts])


def extract_features(manifest: str, out_dir: str, backbone: str = 'resnet18',
                     segments: int = 8, device='cpu', batch_size: int = 32,
                     pretrained: bool = False, weights: Optional[str] = None,
                     frame: str = 'middle', strict: bool = False,
                     seed: int = 0, overwrite: bool = False,
                     task: str = 'classification', image_size=None,
                     progress: bool = True,
                     allow_outside: bool = False) -> dict:
    """Extract (T, D) features per modality for every manifest sample.

    Args:
        manifest: the CSV (see ``manifest.py``).
        out_dir: the output dataset folder.
        backbone: timm model name.
        segments: T, time steps per sample and modality.
        device: ``'cpu'`` or ``'cuda'``.
        batch_size: images per backbone call.
        pretrained: timm's pretrained weights (needs the Hub).
        weights: local weights file instead (offline).
        frame: ``'middle'`` or ``'random'`` (seeded) frame per segment.
        strict: raise on a missing/unreadable file instead of skipping the
            sample with a ``MediaSkippedWarning``.
        seed: seeds random frames and a randomly initialised backbone.
        overwrite: replace ``out_dir`` (only a folder this project wrote).
        task: ``'classification'`` (ClassLabel) or ``'regression'``.
        image_size: backbone input size override (default: the model's).
        progress: show a tqdm bar (samples done).
        allow_outside: accept media paths outside the manifest's folder.

    Returns:
        The report: output folder, samples per split, skipped samples and
        videos shorter than T (both also in the dataset card).
    """
    from tqdm.auto import tqdm
    if segments < 1:
        raise ValueError('segments must be >= 1')
    if batch_size < 1:
        raise ValueError('batch_size must be >= 1')
    if frame not in ('middle', 'random'):
        raise ValueError(f"frame must be 'middle' or 'random', got {frame!r}")
    check_replaceable(out_dir, overwrite)
    man = read_manifest(manifest, task, allow_outside=allow_outside)
    if not pretrained and not weights:
        warnings.warn('the backbone is randomly initialised (no '
                      '--pretrained / --weights): the features are not '
                      'meaningful beyond tests', stacklevel=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_backbone(backbone, pretrained, weights, device,
                             image_size)
    dim, mods = net.feature_dim, man.modalities
    skipped, short = [], []

    def load(sample):
        """Preprocessed images per modality, or None when skipped."""
        out = {}
        for m in mods:
            path = sample.media[m]
            try:
                if path is None:
                    raise MediaError(f'no {m} file given')
                if not osp.isfile(path):
                    raise MediaError(f'{m} file {path!r} not found')
                if m == 'video':
                    rng = np.random.default_rng(
                        [seed, zlib.crc32(sample.id.encode())])
                    out[m], n = _video_images(path, net, segments, frame,
                                              rng)
                    if n < segments:
                        short.append(dict(id=sample.id, split=sample.split,
                                          file=path, frames=n))
                else:
                    out[m] = _audio_images(path, net, segments)
            except (MediaError, ValueError, OSError) as err:
                if strict:
                    raise MediaError(f'sample {sample.id!r}: {err}') from err
                warnings.warn(f'skipping sample {sample.id!r} ({sample.split})'
                              f': {m} file {path!r}: {err}',
                              MediaSkippedWarning, stacklevel=3)
                skipped.append(dict(id=sample.id, split=sample.split,
                                    modality=m, file=path, reason=str(err)))
                if short and short[-1]['id'] == sample.id:
                    short.pop()
                return None
        return out

    def flush(pending):
        images = torch.cat([imgs[m] for _, imgs in pending for m in mods])
        feats = net(images, batch_size).reshape(len(pending), len(mods),
                                                segments, dim)
        cols = {'id': [s.id for s, _ in pending],
                'label': [man.encode(s.label) for s, _ in pending]}
        for j, m in enumerate(mods):
            cols[m] = feats[:, j]
        return cols

    def batches(samples, bar):
        pending, count = [], 0
        for sample in samples:
            imgs = load(sample)
            if imgs is not None:
                pending.append((sample, imgs))
                count += len(mods) * segments
            if count >= batch_size:
                yield flush(pending)
                bar.update(len(pending))
                pending, count = [], 0
            if imgs is None:
                bar.update(1)
        if pending:
            yield flush(pending)
            bar.update(len(pending))

    bar = tqdm(total=len(man), unit='sample', desc='extracting',
               disable=not progress)
    try:
        with FeatureDatasetWriter(out_dir, {m: dim for m in mods},
                                  {'label': man.label_feature},
                                  overwrite) as writer:
            for split, samples in man.splits.items():
                writer.write_split(split, batches(samples, bar))
            if not writer.report.get('train', {}).get('samples'):
                raise ValueError("every 'train' sample was skipped; "
                                 'nothing to compute statistics from')
            report = dict(
                out_dir=osp.abspath(out_dir), manifest=man.path,
                backbone=backbone, pretrained=bool(pretrained),
                weights=weights, feature_dim=dim, segments=segments,
                frame=frame, image_size=list(net.input_size),
                modalities=mods, task=man.task,
                classes=man.class_names or None,
                splits=writer.report, samples=sum(
                    r['samples'] for r in writer.report.values()),
                num_skipped=len(skipped), skipped=skipped,
                num_short_videos=len(short), short_videos=short,
                transcript_column=man.has_transcript)
            writer.finish(_card(report, man))
    finally:
        bar.close()
    return report


def _card(report, man) -> str:
    splits = {s: r['samples'] for s, r in report['splits'].items()}
    dim, t = report['feature_dim'], report['segments']
    columns = [dict(column='id', type='string', shape='-',
                    splits=list(splits))]
    columns += [dict(column=m, type='Array2D float32', shape=f'({t}, {dim})',
                     splits=list(splits)) for m in report['modalities']]
    if man.task == 'regression':
        label_text, label_type = 'a float regression target', 'float32'
    else:
        label_text = (f'ClassLabel with {len(man.class_names)} classes: '
                      + ', '.join(f'{i} = `{n}`'
                                  for i, n in enumerate(man.class_names)))
        label_type = 'ClassLabel'
    columns.append(dict(column='label', type=label_type, shape='-',
                        splits=list(splits)))
    weights = ('timm pretrained weights' if report['pretrained'] else
               f'weights from `{osp.basename(report["weights"])}`'
               if report['weights'] else
               'RANDOM initialisation (no pretrained weights; for tests '
               'only)')
    notes = [
        f"Backbone `{report['backbone']}` (timm, global-pooled "
        f'{dim}-d output), {weights}; input '
        f"{report['image_size'][0]}x{report['image_size'][1]}.",
        f"Video: T = {t} equal segments, the {report['frame']} frame of "
        'each (OpenCV decoding, RGB, resize + center crop, ImageNet '
        'normalisation).' if 'video' in report['modalities'] else None,
        f'Audio: log-mel spectrogram (128 bands, n_fft 2048, hop 512) with '
        'its first and second order deltas (Savitzky-Golay, width 9, as '
        'librosa.feature.delta) as 3 channels, split into T = '
        f'{t} time segments, each resized to the backbone input.'
        if 'audio' in report['modalities'] else None,
        f"Skipped samples (missing or unreadable media): "
        f"{report['num_skipped']}"
        + (' (' + ', '.join(f"`{s['id']}`" for s in report['skipped'][:20])
           + ')' if report['skipped'] else '') + '.',
        f"Videos shorter than T = {t} frames (frames repeated): "
        f"{report['num_short_videos']}.",
    ]
    if man.has_transcript:
        notes.append('The manifest has a transcript column; text features '
                     'were not extracted.')
    return render_card(
        pretty_name=f'Features of {osp.basename(man.path)}',
        source_format='raw media listed in a manifest CSV, features '
        'extracted with `tools/extract_features.py` (paper section 4.3)',
        source_files=[man.path], splits=splits, columns=columns,
        labels={'label': label_text},
        non_finite={s: r['non_finite_samples']
                    for s, r in report['splits'].items()},
        modalities=report['modalities'], notes=[n for n in notes if n])
