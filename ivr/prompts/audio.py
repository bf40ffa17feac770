"""Prompt audio as FreeSWITCH plays it: mono 16-bit PCM WAV at 8000 or 16000 Hz, at one level.

TTS output (espeak-ng speaks at 22050 Hz, with silence before and after the words) is resampled
with soxr, trimmed and brought to the project's speech level, so a rendered prompt, a recorded
one and the hold music between queue announcements all play equally loud. The level is the
active speech level (the RMS of the 20 ms frames that carry sound, after ITU-T P.56's idea),
and peaks are kept below a ceiling so no sample clips.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import soxr

from ivr.errors import IvrError

RATES = (8000, 16000)
LEVEL_DBFS = -21.0
"""Active speech level of every prompt: the level of the project's hold music (-20.8 dBFS RMS)."""
PEAK_CEILING_DBFS = -1.0
"""No sample louder than this after normalising: headroom for codecs."""
SILENCE_DBFS = -45.0
"""A frame quieter than this (below the loudest frame's level) is silence for trimming."""
LEAD_SECONDS = 0.02
"""Kept before the first sound, so the attack of the first word is never cut."""
FRAME_SECONDS = 0.02


class AudioError(IvrError):
    """A WAV file cannot be read as prompt audio."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as mono float samples in [-1, 1] and its sample rate.

    Raises:
        AudioError: the file is missing, not a WAV, or not 16-bit PCM.
    """
    try:
        with wave.open(str(path), "rb") as audio:
            if audio.getsampwidth() != 2:
                raise AudioError(f"{path}: {8 * audio.getsampwidth()}-bit audio, expected 16-bit")
            channels = audio.getnchannels()
            rate = audio.getframerate()
            frames = audio.readframes(audio.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{path}: not a readable WAV file ({exc})") from exc
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono 16-bit PCM atomically: FreeSWITCH never sees a half-written file."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with wave.open(str(partial), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(pcm.tobytes())
    os.replace(partial, path)


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """Change the sample rate (soxr, high quality)."""
    if rate == to_rate or not len(samples):
        return samples
    return soxr.resample(samples, rate, to_rate, quality="HQ").astype(np.float32)


def _frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """The RMS level of each 20 ms frame, in dBFS."""
    size = max(int(rate * FRAME_SECONDS), 1)
    count = len(samples) // size
    if not count:
        return np.zeros(0)
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def active_level(samples: np.ndarray, rate: int) -> float | None:
    """The active speech level in dBFS, or None for silence.

    Frames more than 30 dB below the loudest frame (pauses, breath) do not count, so a prompt
    with long pauses is not judged quieter than it sounds.
    """
    levels = _frame_levels(samples, rate)
    if not len(levels) or levels.max() < -70:
        return None
    active = levels[levels > levels.max() - 30]
    power = np.mean(10 ** (active / 10))
    return float(10 * np.log10(power))


def peak(samples: np.ndarray) -> float:
    """The loudest sample in dBFS (-inf dBFS is returned as -200)."""
    loudest = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return 20 * np.log10(loudest) if loudest > 0 else -200.0


def trim(samples: np.ndarray, rate: int, tail_seconds: float) -> np.ndarray:
    """Cut the silence before the first sound and keep ``tail_seconds`` after the last."""
    levels = _frame_levels(samples, rate)
    if not len(levels):
        return samples
    loud = np.nonzero(levels > max(levels.max() + SILENCE_DBFS, -70))[0]
    if not len(loud):
        return samples[:0]
    size = max(int(rate * FRAME_SECONDS), 1)
    start = max(int(loud[0] * size - LEAD_SECONDS * rate), 0)
    end = min(int((loud[-1] + 1) * size + tail_seconds * rate), len(samples))
    return samples[start:end]


def normalise(samples: np.ndarray, rate: int, level: float = LEVEL_DBFS) -> np.ndarray:
    """Bring the active speech level to ``level`` dBFS, peaks under PEAK_CEILING_DBFS."""
    current = active_level(samples, rate)
    if current is None:
        return samples
    gain_db = min(level - current, PEAK_CEILING_DBFS - peak(samples))
    return (samples * 10 ** (gain_db / 20)).astype(np.float32)


def prepare(
    samples: np.ndarray, rate: int, to_rate: int, *, tail_seconds: float, level: float
) -> np.ndarray:
    """Turn raw TTS output into prompt audio: resampled, trimmed and at the speech level."""
    return normalise(trim(resample(samples, rate, to_rate), to_rate, tail_seconds), to_rate, level)


def silence(rate: int, seconds: float) -> np.ndarray:
    """``seconds`` of silence at ``rate``."""
    return np.zeros(int(round(rate * seconds)), dtype=np.float32)


def is_silent(samples: np.ndarray, rate: int) -> bool:
    """Whether nothing in ``samples`` is louder than a whisper (-60 dBFS)."""
    return active_level(samples, rate) is None or peak(samples) < -60
