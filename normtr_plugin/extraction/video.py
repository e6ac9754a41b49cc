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

__all__ = ['MediaError', 'segment_frame_indices', 'read_video_frames']


class MediaError(RuntimeError):
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
        raise ValueError('a video needs at least one frame')
    if segments < 1:
        raise ValueError('segments must be >= 1')
    if mode not in ('middle', 'random'):
        raise ValueError(f"frame mode must be 'middle' or 'random', "
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


def _open(path: str):
    try:
        import cv2
    except ImportError as err:  # pragma: no cover
        raise ImportError('reading videos needs OpenCV: pip install '
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
                      rng: Optional[np.random.Generator] = None
                      ) -> Tuple[np.ndarray, int]:
    """The T selected frames, RGB uint8 (T, H, W, 3), and the frame count.

    Two sequential passes (count, then decode only the chosen frames), so
    memory stays at T frames whatever the clip's length.
    """
    n = count_frames(path)
    if n == 0:
        raise MediaError(f'video {path!r} has no decodable frames')
    indices = segment_frame_indices(n, segments, mode, rng)
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
