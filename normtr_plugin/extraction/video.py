"""Video frames for the video features (paper section 4.3).

A clip is split into T equal segments and one frame is taken per segment:
its middle frame (``'middle'``, deterministic, the default) or a random
frame of it (``'random'``, from a seeded generator). A clip with fewer than
T frames repeats frames (``segment_frame_indices`` maps segment k to frame
``floor((k + 0.5) * n / T)``); the caller reports such clips. Frames are
read with OpenCV (``opencv-python-headless``) and returned as RGB.
"""
from typing import List, Optional, Tuple

import numpy as np

from ..utils.errors import InputError, MissingDependencyError, NormTRError

__all__ = ['MediaError', 'read_video_frames', 'segment_candidate_indices',
           'segment_frame_indices']


class MediaError(NormTRError, RuntimeError):
    """A media file that is missing, unreadable or empty."""


def segment_frame_indices(num_frames: int, segments: int,
                          mode: str = 'middle',
                          rng: Optional[np.random.Generator] = None
                          ) -> List[int]:
    """The frame index taken from each of ``segments`` equal segments.

    Segment k covers frames ``[k*n//T, (k+1)*n//T)``; ``'middle'`` takes
    ``(start + end - 1) // 2`` and ``'random'`` a uniform frame of it. With
    ``n < T`` frames, segment k takes frame ``floor((k + 0.5) * n / T)``
    (frames repeat) for both modes.
    """
    if num_frames < 1:
        raise InputError('a video needs at least one frame')
    if segments < 1:
        raise InputError('segments must be >= 1')
    if mode not in ('middle', 'random'):
        raise InputError(f"frame mode must be 'middle' or 'random', "
                         f'got {mode!r}')
    n, t = num_frames, segments
    if n < t:
        return [int((k + 0.5) * n / t) for k in range(t)]
    if mode == 'random' and rng is None:
        rng = np.random.default_rng(0)
    out = []
    for k in range(t):
        start, end = k * n // t, (k + 1) * n // t
        if mode == 'middle':
            out.append((start + end - 1) // 2)
        else:
            out.append(int(rng.integers(start, end)))
    return out


def _spread(low: int, high: int, count: int) -> List[int]:
    """``count`` frames spread evenly over ``[low, high)`` (the middles of
    ``count`` equal parts); an empty range repeats ``low``."""
    if high <= low:
        return [low] * count
    n = high - low
    return [low + ((j * n // count) + ((j + 1) * n // count) - 1) // 2
            for j in range(count)]


def segment_candidate_indices(num_frames: int, segments: int,
                              frames_per_segment: int) -> List[int]:
    """K candidate frames per segment, laid out as T*K indices.

    Segment k's K candidates are consecutive (positions ``kK..kK+K-1``) and
    sorted; candidate ``K // 2`` is the segment's middle frame (what
    ``segment_frame_indices`` takes), the others are spread evenly before
    and after it. ``SegmentSample(seq_len=T)`` over the stored T*K steps
    splits them into T segments of K: ``random=True`` picks one of segment
    k's candidates in training, ``random=False`` position ``kK + K // 2``,
    the middle frame (the K = 1 frame), in evaluation. With
    fewer than T frames every candidate of a segment is its one frame.
    """
    k = int(frames_per_segment)
    if k < 1:
        raise InputError(f'frames_per_segment must be >= 1, got {k}')
    middles = segment_frame_indices(num_frames, segments)
    if k == 1:
        return middles
    n, t, centre = num_frames, segments, k // 2
    out = []
    for seg, mid in enumerate(middles):
        if n < t:
            out += [mid] * k
            continue
        start, end = seg * n // t, (seg + 1) * n // t
        out += _spread(start, mid, centre) + [mid] + \
            _spread(mid + 1, end, k - 1 - centre)
    return out


def _open(path: str):
    try:
        import cv2
    except ImportError as err:  # pragma: no cover
        raise MissingDependencyError(
            'reading videos needs OpenCV: pip install '
            'opencv-python-headless') from err
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise MediaError(f'cannot open video {path!r}')
    return cv2, cap


def count_frames(path: str) -> int:
    """Frames that can actually be decoded (the container's count can lie)."""
    _, cap = _open(path)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def read_video_frames(path: str, segments: int, mode: str = 'middle',
                      rng: Optional[np.random.Generator] = None,
                      frames_per_segment: int = 1
                      ) -> Tuple[np.ndarray, int]:
    """The selected frames, RGB uint8 (T*K, H, W, 3), and the frame count.

    K = ``frames_per_segment``: 1 takes one frame per segment (``mode``);
    K > 1 takes ``segment_candidate_indices`` (``mode`` must be 'middle').
    Two sequential passes (count, then decode only the chosen frames), so
    memory stays at T*K frames whatever the clip's length.
    """
    if frames_per_segment > 1 and mode != 'middle':
        raise InputError('frames_per_segment > 1 stores K candidates per '
                         "segment for SegmentSample; use mode='middle'")
    n = count_frames(path)
    if n == 0:
        raise MediaError(f'video {path!r} has no decodable frames')
    indices = (segment_frame_indices(n, segments, mode, rng)
               if frames_per_segment == 1 else
               segment_candidate_indices(n, segments, frames_per_segment))
    wanted = sorted(set(indices))
    cv2, cap = _open(path)
    frames = {}
    try:
        i = 0
        for idx in wanted:
            while i < idx:
                if not cap.grab():
                    break
                i += 1
            ok, frame = cap.read()
            i += 1
            if not ok:
                raise MediaError(f'video {path!r}: cannot decode frame {idx}')
            frames[idx] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return np.stack([frames[i] for i in indices]), n
