"""Hold music the project synthesises itself, so no copyrighted audio is ever shipped.

The loop is a slow progression of soft chords (triangle-like pads, a low bass and a quiet
music-box arpeggio), written as mono 16-bit PCM WAV files in FreeSWITCH's rate folders
(``8000/`` and ``16000/``) for ``mod_local_stream``. The loop starts and ends in silence, so
FreeSWITCH can play it back to back without a click. Only the standard library is used.

Run ``python -m ivr.prompts.music sounds/music --seconds 20`` to regenerate the committed files.
"""

from __future__ import annotations

import argparse
import math
import wave
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path

FILE_NAME = "ivr-hold.wav"
RATES = (8000, 16000)

# Peak after normalisation: -9 dBFS leaves headroom for codecs and stays well below -6 dBFS.
PEAK = 10 ** (-9 / 20)

# I-vi-IV-V in C major as seventh chords. A narrowband phone line keeps only 300-3400 Hz, so the
# pads (170-500 Hz) reach it with their overtones, the arpeggio plays an octave above them, and the
# bass, an octave below, is heard through its harmonics. Each entry: (bass MIDI note, pad notes).
PROGRESSION: tuple[tuple[int, tuple[int, ...]], ...] = (
    (48, (60, 64, 67, 71)),  # Cmaj7
    (45, (57, 60, 64, 67)),  # Am7
    (41, (53, 57, 60, 64)),  # Fmaj7
    (43, (55, 59, 62, 65)),  # G7
)

# Timbres as (harmonic number, relative amplitude). Odd harmonics falling off with 1/n^2 make a
# triangle wave: mellow, without the hollow beep of a pure sine on a phone speaker.
PAD = ((1, 1.0), (3, 1 / 9), (5, 1 / 25))
BASS = ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15))
BELL = ((1, 1.0), (2, 0.25), (3, 0.08))

PAD_LEVEL = 0.16
BASS_LEVEL = 0.22
BELL_LEVEL = 0.2

# Arpeggio: eight steps per chord through these chord-tone indices, an octave above the pad.
ARPEGGIO = (0, 1, 2, 3, 2, 1, 2, 1)

TABLE_SIZE = 4096


def write_hold_music(folder: Path, seconds: float = 30.0) -> list[Path]:
    """Synthesise the hold-music loop into ``folder/<rate>/ivr-hold.wav`` for 8 and 16 kHz.

    Args:
        folder: The music folder, laid out as FreeSWITCH expects (``sounds/music``).
        seconds: Length of the loop; the chord progression is stretched to fill it.

    Returns:
        The written files, 8000 Hz first.

    Raises:
        ValueError: If ``seconds`` is too short to hold the progression (under 2 s).
    """
    if seconds < 2:
        raise ValueError(f"hold music needs at least 2 seconds, got {seconds}")
    written = []
    for rate in RATES:
        path = folder / str(rate) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_wav(path, rate, synthesise(rate, seconds))
        written.append(path)
    return written


def synthesise(rate: int, seconds: float) -> array:
    """Render the loop as 16-bit samples.

    Args:
        rate: Sample rate in Hz.
        seconds: Length of the loop.

    Returns:
        Signed 16-bit samples (``array('h')``), peak at ``PEAK`` of full scale.
    """
    total = int(rate * seconds)
    mix = array("d", bytes(8 * total))
    chord_s = seconds / len(PROGRESSION)
    step_s = chord_s / len(ARPEGGIO)
    # Each chord change is a raised-cosine crossfade centred on the beat; the first chord rises
    # from the start of the loop and the last one falls to its end, so the file is silent there.
    overlap_s = chord_s * 0.2
    pad_envelope = _swell(attack_s=2 * overlap_s, release_s=2 * overlap_s)
    bell_envelope = _pluck(decay_s=step_s * 0.9)
    for index, (bass, pads) in enumerate(PROGRESSION):
        start_s = index * chord_s
        pad_start_s = max(0.0, start_s - overlap_s)
        pad_length_s = min(seconds, start_s + chord_s + overlap_s) - pad_start_s
        voices = [(note, PAD, PAD_LEVEL) for note in pads] + [(bass, BASS, BASS_LEVEL)]
        for note, timbre, level in voices:
            _add_note(mix, rate, pad_start_s, pad_length_s, note, timbre, level, pad_envelope)
        for step, chord_tone in enumerate(ARPEGGIO):
            bell_start_s = start_s + step * step_s
            ring_s = min(step_s * 2.5, seconds - bell_start_s)
            bell_note = pads[chord_tone] + 12
            _add_note(mix, rate, bell_start_s, ring_s, bell_note, BELL, BELL_LEVEL, bell_envelope)
    _fade_loop_edges(mix, rate, seconds)
    return _to_pcm16(mix)


def _add_note(
    mix: array,
    rate: int,
    start_s: float,
    length_s: float,
    midi_note: int,
    timbre: Sequence[tuple[int, float]],
    level: float,
    envelope: Callable[[float, float], float],
) -> None:
    """Mix one note into ``mix`` through a wavetable, which is far cheaper than ``math.sin``."""
    frequency = 440.0 * 2 ** ((midi_note - 69) / 12)
    table = _wavetable(timbre, frequency, rate)
    first = int(start_s * rate)
    count = min(int(length_s * rate), len(mix) - first)
    increment = frequency * TABLE_SIZE / rate
    mask = TABLE_SIZE - 1
    phase = 0.0
    for offset in range(count):
        mix[first + offset] += level * envelope(offset / rate, length_s) * table[int(phase) & mask]
        phase += increment


def _wavetable(timbre: Sequence[tuple[int, float]], frequency: float, rate: int) -> list[float]:
    """One period of ``timbre``, without harmonics that would alias at ``rate``."""
    nyquist_margin = 0.45 * rate
    partials = [(n, a) for n, a in timbre if n * frequency < nyquist_margin]
    scale = sum(a for _, a in partials)
    return [
        sum(a * math.sin(2 * math.pi * n * i / TABLE_SIZE) for n, a in partials) / scale
        for i in range(TABLE_SIZE)
    ]


def _swell(attack_s: float, release_s: float) -> Callable[[float, float], float]:
    """A pad envelope: raised-cosine rise and fall, so no note starts or stops with a click."""

    def envelope(t: float, length_s: float) -> float:
        if t < attack_s:
            return _rise(t / attack_s)
        remaining = length_s - t
        if remaining < release_s:
            return _rise(remaining / release_s)
        return 1.0

    return envelope


def _pluck(decay_s: float) -> Callable[[float, float], float]:
    """A soft music-box envelope: 15 ms rise, exponential decay, 30 ms fade at the cut."""
    rise_s, fade_s = 0.015, 0.03

    def envelope(t: float, length_s: float) -> float:
        level = math.exp(-t / decay_s)
        if t < rise_s:
            level *= _rise(t / rise_s)
        remaining = length_s - t
        if remaining < fade_s:
            level *= _rise(remaining / fade_s)
        return level

    return envelope


def _rise(fraction: float) -> float:
    """Raised cosine from 0 (at 0) to 1 (at 1)."""
    return 0.5 - 0.5 * math.cos(math.pi * max(0.0, min(1.0, fraction)))


def _fade_loop_edges(mix: array, rate: int, seconds: float) -> None:
    """Fade the loop in and out, so it starts and ends at exactly zero and loops seamlessly."""
    fade_in = int(rate * min(0.25, seconds / 20))
    fade_out = int(rate * min(1.0, seconds / 10))
    for i in range(fade_in):
        mix[i] *= _rise(i / fade_in)
    last = len(mix) - 1
    for i in range(fade_out):
        mix[last - i] *= _rise(i / fade_out)


def _to_pcm16(mix: array) -> array:
    """Normalise to ``PEAK`` and quantise to signed 16-bit."""
    loudest = max(abs(v) for v in mix) or 1.0
    gain = PEAK * 32767 / loudest
    return array("h", (round(v * gain) for v in mix))


def _write_wav(path: Path, rate: int, samples: array) -> None:
    """Write mono 16-bit PCM; ``wave`` turns native-order samples into WAV's little-endian."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate the hold music from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="music folder, e.g. sounds/music")
    parser.add_argument("--seconds", type=float, default=30.0, help="loop length (default 30)")
    args = parser.parse_args(argv)
    for path in write_hold_music(args.folder, args.seconds):
        print(path)


if __name__ == "__main__":
    main()
