"""What a listener would hear in a recorded WAV file: loudness and tone per channel and span.

Recordings (real FreeSWITCH's or the simulator's) are checked the way a person would check
them: which side holds which voice, and where it is silent. Only the standard library is used
(``wave``, ``array``, ``math``), so any machine that runs the tests can read them.

Spans are given in seconds from the start of the file.
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path
from typing import NamedTuple


class Recording(NamedTuple):
    """A 16-bit PCM WAV file, read whole.

    Attributes:
        rate: samples per second (per channel).
        channels: one list of samples per channel, left first.
    """

    rate: int
    channels: list[list[int]]

    @property
    def seconds(self) -> float:
        """How long it plays."""
        return len(self.channels[0]) / self.rate if self.channels else 0.0

    def span(self, channel: int, start: float, end: float) -> list[int]:
        """The samples of ``channel`` (0 = left) from ``start`` to ``end`` seconds."""
        return self.channels[channel][int(start * self.rate) : int(end * self.rate)]

    def rms(self, channel: int, start: float, end: float) -> float:
        """The loudness (root mean square, full scale 32768) of ``channel`` in the span."""
        return rms(self.span(channel, start, end))

    def peak(self, channel: int, start: float, end: float) -> int:
        """The largest absolute sample of ``channel`` in the span (0: digital silence)."""
        return max((abs(s) for s in self.span(channel, start, end)), default=0)

    def dominant(self, channel: int, start: float, end: float, candidates: list[float]) -> float:
        """Which of the ``candidates`` frequencies (Hz) is strongest in ``channel``'s span."""
        samples = self.span(channel, start, end)
        return max(candidates, key=lambda hz: goertzel(samples, self.rate, hz))

    def windows(self, seconds: float = 0.5) -> list[tuple[float, list[float]]]:
        """Each window's start and the RMS of every channel in it, for a reader of a failure."""
        count = math.ceil(self.seconds / seconds)
        return [
            (
                i * seconds,
                [self.rms(c, i * seconds, (i + 1) * seconds) for c in range(len(self.channels))],
            )
            for i in range(count)
        ]

    def table(self, seconds: float = 0.5) -> str:
        """``windows`` as lines of text: start, then the RMS of each channel."""
        return "\n".join(
            f"{start:6.2f}s " + " ".join(f"{level:8.1f}" for level in levels)
            for start, levels in self.windows(seconds)
        )


def read_wav(path: Path | str) -> Recording:
    """Read a 16-bit PCM WAV file (any rate, any number of channels).

    Raises:
        ValueError: the file is not 16-bit PCM.
    """
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: {wav.getsampwidth() * 8}-bit samples, not 16-bit")
        width = wav.getnchannels()
        rate = wav.getframerate()
        samples = array("h")
        samples.frombytes(wav.readframes(wav.getnframes()))
    return Recording(rate, [list(samples[c::width]) for c in range(width)])


def rms(samples: list[int]) -> float:
    """Root mean square of the samples (0.0 for none)."""
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def goertzel(samples: list[int], rate: int, hz: float) -> float:
    """The power of the frequency ``hz`` in the samples (Goertzel's algorithm, one bin)."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    before, previous = 0.0, 0.0
    for sample in samples:
        before, previous = previous, sample + coefficient * previous - before
    return previous * previous + before * before - coefficient * previous * before
