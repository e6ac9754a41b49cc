"""Log-mel spectrogram images for the audio features (paper section 4.3).

The paper: "we first used Librosa to compute the log mel-spectrogram and
its first and second-order differentials of each sample, and then employed
a ResNet-18 to extract features". Librosa is not a dependency of this
project; this module reproduces the same computation with numpy/torch/scipy:

* WAV read with ``scipy.io.wavfile`` (integer PCM scaled to [-1, 1], channels
  averaged to mono); no resampling: the file's rate is used.
* Power spectrogram: ``torch.stft`` with librosa's defaults ``n_fft=2048``,
  ``hop_length=512``, periodic Hann window, ``center=True`` with zero
  padding (librosa >= 0.10's ``pad_mode='constant'``), power 2.
* Mel filterbank: ``mel_filterbank`` is ``librosa.filters.mel`` (Slaney mel
  scale and Slaney area normalisation by default; ``htk=True`` for the HTK
  scale), 128 bands from 0 Hz to sr/2 (``librosa.feature.melspectrogram``'s
  defaults).
* Log: ``log(mel + 1e-6)`` (natural log). ``librosa.power_to_db`` would be
  ``10 * log10(max(mel, 1e-10))`` clipped to 80 dB below the peak: a linear
  rescaling except at the floor; the min-max scaling below removes the
  scale.
* Deltas: ``delta`` is ``librosa.feature.delta(width=9, mode='interp')``,
  i.e. ``scipy.signal.savgol_filter(x, 9, polyorder=order, deriv=order,
  axis=-1, mode='interp')`` (first order; second order is computed on the
  log-mel itself with ``order=2``, as ``librosa.feature.delta(S, order=2)``).
  Clips shorter than 9 frames use a shorter odd window.

The three (n_mels, frames) maps are stacked as the 3 channels of an image,
each min-max scaled to [0, 1] over the whole clip, split along time into T
equal segments (a clip with fewer than T frames repeats columns), and each
segment is resized to the backbone's input size (``Backbone.preprocess``
with ``crop=False``) and normalised with its mean/std.
"""
from typing import Tuple

import numpy as np
import torch

from .video import MediaError

__all__ = ['read_wav', 'mel_filterbank', 'log_mel_spectrogram', 'delta',
           'spectrogram_image', 'split_segments']

N_FFT, HOP, N_MELS, EPS, DELTA_WIDTH = 2048, 512, 128, 1e-6, 9


def read_wav(path: str) -> Tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate."""
    import warnings

    from scipy.io import wavfile
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', wavfile.WavFileWarning)
            sr, data = wavfile.read(path)
    except (ValueError, OSError, EOFError) as err:
        raise MediaError(f'cannot read WAV {path!r}: {err}') from err
    data = np.asarray(data)
    if data.dtype.kind == 'u':  # 8-bit PCM is unsigned
        bits = data.dtype.itemsize * 8
        data = (data.astype(np.float64) - 2 ** (bits - 1)) / 2 ** (bits - 1)
    elif data.dtype.kind == 'i':
        data = data.astype(np.float64) / 2 ** (data.dtype.itemsize * 8 - 1)
    data = data.astype(np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.size == 0:
        raise MediaError(f'WAV {path!r} has no samples')
    return data, int(sr)


def _hz_to_mel(f, htk=False):
    f = np.asarray(f, np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz)
                    / logstep, f / f_sp)


def _mel_to_hz(m, htk=False):
    m = np.asarray(m, np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel,
                    min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    f_sp * m)


def mel_filterbank(sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = 0.0, fmax=None, htk: bool = False,
                   norm: str = 'slaney') -> np.ndarray:
    """Triangular filters (n_mels, 1 + n_fft // 2), as librosa.filters.mel."""
    fmax = sr / 2.0 if fmax is None else fmax
    fftfreqs = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin, htk),
                                   _hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == 'slaney':
        weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def log_mel_spectrogram(y: np.ndarray, sr: int, n_fft: int = N_FFT,
                        hop_length: int = HOP, n_mels: int = N_MELS
                        ) -> np.ndarray:
    """log(mel power + 1e-6), (n_mels, frames)."""
    x = torch.as_tensor(np.asarray(y, np.float32))
    if len(x) < n_fft // 2 + 1:  # center padding needs n_fft // 2 samples
        x = torch.nn.functional.pad(x, (0, n_fft // 2 + 1 - len(x)))
    spec = torch.stft(x, n_fft, hop_length=hop_length,
                      window=torch.hann_window(n_fft, periodic=True),
                      center=True, pad_mode='constant', return_complex=True)
    power = spec.abs().pow(2).numpy()
    mel = mel_filterbank(sr, n_fft, n_mels) @ power
    return np.log(mel + EPS).astype(np.float32)


def delta(x: np.ndarray, order: int = 1, width: int = DELTA_WIDTH
          ) -> np.ndarray:
    """librosa.feature.delta along the last axis (Savitzky-Golay)."""
    from scipy.signal import savgol_filter
    frames = x.shape[-1]
    if frames < width:  # librosa refuses; use the widest odd window left
        width = frames if frames % 2 else frames - 1
    if width <= order:
        return np.zeros_like(x)
    return savgol_filter(x, width, polyorder=order, deriv=order, axis=-1,
                         mode='interp').astype(np.float32)


def spectrogram_image(y: np.ndarray, sr: int, n_mels: int = N_MELS
                      ) -> np.ndarray:
    """(3, n_mels, frames): log-mel, delta, delta-delta, each in [0, 1]."""
    logmel = log_mel_spectrogram(y, sr, n_mels=n_mels)
    channels = np.stack([logmel, delta(logmel, 1), delta(logmel, 2)])
    low = channels.min(axis=(1, 2), keepdims=True)
    high = channels.max(axis=(1, 2), keepdims=True)
    return ((channels - low) / np.maximum(high - low, 1e-8)
            ).astype(np.float32)


def split_segments(image: np.ndarray, segments: int) -> list:
    """T equal time segments of a (C, F, frames) image (columns repeat
    when there are fewer than T frames)."""
    n = image.shape[-1]
    if n < segments:
        return [image[..., int((k + 0.5) * n / segments)][..., None]
                for k in range(segments)]
    return [image[..., k * n // segments:(k + 1) * n // segments]
            for k in range(segments)]
