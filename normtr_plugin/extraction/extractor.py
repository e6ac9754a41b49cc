"""Raw video / audio -> the project's feature format (paper section 4.3).

Per sample and modality, images go through the backbone (ResNet-18 by
default) and give a feature sequence: T (or T*K) video frames, one (or K
candidates) per equal segment of the clip (``video.py``), and T
log-mel/delta/delta-delta spectrogram segments (``audio.py``).

Decoding and preprocessing are a ``MediaDataset`` read by a ``DataLoader``
with ``workers`` processes (``media_dataset.py``); the main process collects
the images of consecutive samples into batches of ``batch_size`` for the
backbone and writes the features with ``FeatureDatasetWriter`` (streaming,
atomic, with ``feature_stats.json`` and a dataset card).
"""
import os.path as osp
import warnings
from typing import Iterator, Optional

import torch

from ..datasets.converters.dataset_card import render_card
from ..datasets.feature_format import FeatureDatasetWriter
from ..utils import check_replaceable
from .backbone import build_backbone
from .manifest import read_manifest
from .media_dataset import MediaDataset, media_loader, split_features
from .video import MediaError
from ..utils.errors import InputError

__all__ = ['MediaSkippedWarning', 'extract_features']


class MediaSkippedWarning(UserWarning):
    """A sample was skipped because a media file is missing or unreadable."""


def _check_args(segments, batch_size, frame, frames_per_segment, workers):
    if segments < 1:
        raise InputError('segments must be >= 1')
    if batch_size < 1:
        raise InputError('batch_size must be >= 1')
    if frame not in ('middle', 'random'):
        raise InputError(f"frame must be 'middle' or 'random', got {frame!r}")
    if frames_per_segment < 1:
        raise InputError('frames_per_segment must be >= 1')
    if frames_per_segment > 1 and frame != 'middle':
        raise InputError('frames_per_segment > 1 stores K candidates per '
                         "segment (SegmentSample picks one); use frame="
                         "'middle'")
    if workers < 0:
        raise InputError('workers must be >= 0')


class _Collector:
    """Turns loader items into feature columns, batch by batch, and keeps
    the skipped and short samples."""

    def __init__(self, man, net, segments, batch_size, strict):
        self.man, self.net, self.segments = man, net, segments
        self.batch_size, self.strict = batch_size, strict
        self.skipped, self.short = [], []

    def accept(self, sample, item) -> bool:
        """Record a skipped or short sample; False when skipped."""
        error = item['error']
        if error is not None:
            if self.strict:
                raise MediaError(f"sample {sample.id!r}: {error['reason']}")
            warnings.warn(
                f"skipping sample {sample.id!r} ({sample.split}): "
                f"{error['modality']} file {error['file']!r}: "
                f"{error['reason']}", MediaSkippedWarning, stacklevel=4)
            self.skipped.append(dict(id=sample.id, split=sample.split,
                                     **error))
            return False
        if item['frames'] is not None and item['frames'] < self.segments:
            self.short.append(dict(id=sample.id, split=sample.split,
                                   file=sample.media['video'],
                                   frames=item['frames']))
        return True

    def flush(self, pending) -> dict:
        mods = self.man.modalities
        images = torch.cat([item['images'][m] for _, item in pending
                            for m in mods])
        counts = [{m: len(item['images'][m]) for m in mods}
                  for _, item in pending]
        feats = split_features(self.net(images, self.batch_size), counts,
                               mods)
        cols = {'id': [s.id for s, _ in pending],
                'label': [self.man.encode(s.label) for s, _ in pending]}
        for m in mods:
            cols[m] = [f[m] for f in feats]
        return cols

    def batches(self, samples, items: Iterator[dict], bar):
        """Feature columns for ``samples`` (one split), reading one loader
        item per sample."""
        pending, count = [], 0
        for sample in samples:
            item = next(items)
            if self.accept(sample, item):
                pending.append((sample, item))
                count += sum(len(x) for x in item['images'].values())
            else:
                bar.update(1)
            if count >= self.batch_size:
                yield self.flush(pending)
                bar.update(len(pending))
                pending, count = [], 0
        if pending:
            yield self.flush(pending)
            bar.update(len(pending))


def extract_features(manifest: str, out_dir: str, backbone: str = 'resnet18',
                     segments: int = 8, device='cpu', batch_size: int = 32,
                     pretrained: bool = False, weights: Optional[str] = None,
                     frame: str = 'middle', strict: bool = False,
                     seed: int = 0, overwrite: bool = False,
                     task: str = 'classification', image_size=None,
                     progress: bool = True,
                     allow_outside: bool = False, workers: int = 0,
                     frames_per_segment: int = 1) -> dict:
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
        workers: DataLoader worker processes decoding media (0: decode in
            this process). The features do not depend on it.
        frames_per_segment: K; > 1 stores K candidate frames per video
            segment (video (T*K, D)) for ``SegmentSample(seq_len=T,
            random=True)`` to pick from in training (the middle one in
            evaluation); audio stays (T, D).

    Returns:
        The report: output folder, samples per split, skipped samples and
        videos shorter than T (both also in the dataset card).
    """
    from tqdm.auto import tqdm
    _check_args(segments, batch_size, frame, frames_per_segment, workers)
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
    ordered = [s for samples in man.splits.values() for s in samples]
    dataset = MediaDataset(ordered, mods, net.preprocess, segments, frame,
                           frames_per_segment, seed)
    items = iter(media_loader(dataset, workers))
    collector = _Collector(man, net, segments, batch_size, strict)
    bar = tqdm(total=len(man), unit='sample', desc='extracting',
               disable=not progress)
    try:
        with FeatureDatasetWriter(out_dir, {m: dim for m in mods},
                                  {'label': man.label_feature},
                                  overwrite) as writer:
            for split, samples in man.splits.items():
                writer.write_split(split, collector.batches(samples, items,
                                                            bar))
            if not writer.report.get('train', {}).get('samples'):
                raise InputError("every 'train' sample was skipped; "
                                 'nothing to compute statistics from')
            report = dict(
                out_dir=osp.abspath(out_dir), manifest=man.path,
                backbone=backbone, pretrained=bool(pretrained),
                weights=weights, feature_dim=dim, segments=segments,
                frames_per_segment=frames_per_segment,
                frame=frame, image_size=list(net.input_size),
                modalities=mods, task=man.task,
                classes=man.class_names or None,
                splits=writer.report, samples=sum(
                    r['samples'] for r in writer.report.values()),
                num_skipped=len(collector.skipped),
                skipped=collector.skipped,
                num_short_videos=len(collector.short),
                short_videos=collector.short,
                transcript_column=man.has_transcript, workers=workers)
            writer.finish(_card(report, man))
    finally:
        bar.close()
        del items  # shuts the workers down
    return report


def _card(report, man) -> str:
    splits = {s: r['samples'] for s, r in report['splits'].items()}
    dim, t = report['feature_dim'], report['segments']
    columns = [dict(column='id', type='string', shape='-',
                    splits=list(splits))]
    k = report.get('frames_per_segment', 1)
    columns += [dict(column=m, type='Array2D float32',
                     shape=f'({t * k}, {dim})' if m == 'video' and k > 1
                     else f'({t}, {dim})',
                     splits=list(splits)) for m in report['modalities']]
    if not man.class_names:  # a float target, not a ClassLabel
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
        (f"Video: T = {t} equal segments, the {report['frame']} frame of "
         'each (OpenCV decoding, RGB, resize + center crop, ImageNet '
         'normalisation).' if k == 1 else
         f'Video: T = {t} equal segments, K = {k} candidate frames of each '
         f'stored consecutively (T*K = {t * k} steps; candidate K//2 is the '
         "segment's middle frame): `SegmentSample(keys=['video'], "
         f'seq_len={t}, random=True)` picks one per segment in training, '
         '`random=False` the middle one in evaluation (OpenCV decoding, '
         'RGB, resize + center crop, ImageNet normalisation).')
        if 'video' in report['modalities'] else None,
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
