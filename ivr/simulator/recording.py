"""What a recording of a simulated call holds: the sounds on its line, written to a real WAV.

The simulated FreeSWITCH has no audio of its own, so each thing that happens on the line
stands for a sound a listener can tell apart, on the side of the call it happens on. The side
the caller hears (FreeSWITCH's *write* stream, the right channel of a stereo recording):

* a prompt file: its own samples when it is a 16-bit WAV (8 kHz as it is, 16 kHz or any other
  rate taken sample by sample at 8 kHz, the first channel of several); a prompt that has only
  its words (no readable WAV) is a steady ``PROMPT_VOICE_HZ`` tone for as long as it plays;
* ``tone_stream://`` scripts as their script says (frequencies, on and off times, loops);
  ``silence_stream://`` is silence;
* hold music (``local_stream://``) is a steady ``HOLD_MUSIC_HZ`` tone;
* the ringback while agents' phones ring: ``transfer_ringback`` for an answered caller, else
  ``ringback`` (a ``%(...)`` tone script, looping, or a file or stream as above; nothing when
  neither is set);
* during a bridge, the agent's voice: a steady ``AGENT_VOICE_HZ`` tone while the agent talks.

A side with nothing on it carries the faint noise of a real idle leg (samples of +1 and -1,
RMS 1, as measured on FreeSWITCH 1.11), so that a masked span, exact zeros, is told apart from
a quiet one. The side the caller speaks on (*read*, the left channel):

* each key the caller presses: its DTMF pair of tones for the ``KEY_TONE_SECONDS`` up to the
  moment the key reaches the line (a key is recognised once it has sounded, so a key that ends
  a masked entry is masked too);
* the caller's voice, a steady ``CALLER_VOICE_HZ`` tone, while they talk into a ``record`` and
  while they talk during a bridge.

A bridged conversation goes in turns of ``TURN_SECONDS``: the agent greets first, then the
caller answers, and so on until the bridge ends. The whisper an agent hears before the bridge
is played on the agent's leg only and is in no recording of the caller's leg.

A mono recording is the sum of both sides (clipped). A masked span is zeros on every channel
while call time runs on (the file keeps its length); a paused span writes nothing, and so does
a recording asked to wait for the answer or the bridge until then. Samples are
written as call time passes (at each change on the line, in one-second blocks), so a long call
in virtual time costs no more memory than a short one. As FreeSWITCH's, the file's header
gives its length only once it is closed (RECORD_STOP): read before then, it holds no audio.
"""

from __future__ import annotations

import math
import wave
from abc import ABC, abstractmethod
from array import array
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ivr.simulator.media import Piece, tone_script

__all__ = [
    "AGENT_VOICE_HZ",
    "CALLER_VOICE_HZ",
    "DTMF_HZ",
    "HOLD_MUSIC_HZ",
    "KEY_TONE_SECONDS",
    "PROMPT_VOICE_HZ",
    "RATE",
    "TURN_SECONDS",
    "Recorder",
    "Sound",
    "agent_voice",
    "caller_voice",
    "ringback_sound",
    "sound_of",
]

RATE = 8000
"""Samples per second of the line and of every recording (the channel's L16 at 8 kHz)."""
LEVEL = 8000
"""Peak of a synthesised tone (about -12 dBFS); a pair of tones shares it."""
CALLER_VOICE_HZ = 300.0
"""The caller's voice."""
AGENT_VOICE_HZ = 1000.0
"""The agent's voice during a bridge."""
HOLD_MUSIC_HZ = 500.0
"""Hold music (``local_stream://``)."""
PROMPT_VOICE_HZ = 400.0
"""A prompt whose file holds no readable 16-bit WAV (only its words are known)."""
KEY_TONE_SECONDS = 0.1
"""How long a key's DTMF tones sound."""
TURN_SECONDS = 2.0
"""How long each side talks in turn during a bridge."""
DTMF_HZ = {
    key: (row, column)
    for row, keys in zip((697, 770, 852, 941), ("123A", "456B", "789C", "*0#D"), strict=True)
    for column, key in zip((1209, 1336, 1477, 1633), keys, strict=True)
}
"""The low and high frequency of each key (ITU-T Q.23)."""
_BLOCK = RATE
"""Samples rendered at a time."""
_MAX = 32767
_KEY_SAMPLES = round(KEY_TONE_SECONDS * RATE)


def _zeros(count: int) -> array:
    return array("h", bytes(2 * count))


class Sound(ABC):
    """Something on one side of the line, as samples from its own start."""

    @abstractmethod
    def samples(self, offset: int, count: int) -> array:
        """``count`` samples from ``offset`` samples after the sound began."""


class Silence(Sound):
    """Digital silence: every sample zero."""

    def samples(self, offset: int, count: int) -> array:
        return _zeros(count)


SILENCE = Silence()


class Idle(Sound):
    """A side with nothing on it: the faint noise of a real idle leg (+1, -1, ...; RMS 1)."""

    def samples(self, offset: int, count: int) -> array:
        pattern = array("h", (1, -1) if offset % 2 == 0 else (-1, 1))
        return (pattern * ((count + 1) // 2))[:count]


IDLE = Idle()


@cache
def _period(frequencies: tuple[int, ...]) -> array:
    """One second of the frequencies together: whole hertz repeat every second exactly."""
    if not frequencies:
        return _zeros(RATE)
    amplitude = LEVEL / len(frequencies)
    return array(
        "h",
        (
            round(amplitude * sum(math.sin(2 * math.pi * hz * n / RATE) for hz in frequencies))
            for n in range(RATE)
        ),
    )


def _tone_samples(frequencies: tuple[int, ...], offset: int, count: int) -> array:
    table = _period(frequencies)
    out = array("h")
    start = offset % RATE
    while len(out) < count:
        out += table[start : start + count - len(out)]
        start = 0
    return out


class Tone(Sound):
    """Steady frequencies (rounded to whole hertz)."""

    def __init__(self, *frequencies: float) -> None:
        self.frequencies = tuple(round(hz) for hz in frequencies)

    def samples(self, offset: int, count: int) -> array:
        return _tone_samples(self.frequencies, offset, count)


class ToneScript(Sound):
    """A teletone script: segments of tone then silence, played ``loops`` times (-1: for ever)."""

    def __init__(self, segments: list[tuple[float, float, list[float]]], loops: int) -> None:
        self.segments = [
            (round(on * RATE), round(off * RATE), tuple(round(hz) for hz in frequencies))
            for on, off, frequencies in segments
        ]
        self.loops = loops
        self.cycle = sum(on + off for on, off, _ in self.segments)

    def samples(self, offset: int, count: int) -> array:
        out = array("h")
        position = offset
        while len(out) < count:
            left = count - len(out)
            if not self.cycle or (self.loops >= 0 and position >= self.loops * self.cycle):
                out += _zeros(left)
                break
            within = position % self.cycle
            for on, off, frequencies in self.segments:
                if within < on:
                    take = min(left, on - within)
                    out += _tone_samples(frequencies, position, take)
                    break
                within -= on
                if within < off:
                    take = min(left, off - within)
                    out += _zeros(take)
                    break
                within -= off
            position += take
        return out


class FileSound(Sound):
    """A WAV file's own samples, read as they play; silence once it has ended.

    A file that is no 16-bit WAV (a prompt known by its words only) sounds as a steady
    ``PROMPT_VOICE_HZ`` tone. The file is opened only when a recording needs its samples.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def samples(self, offset: int, count: int) -> array:
        try:
            with wave.open(self.path, "rb") as audio:
                if audio.getsampwidth() != 2:
                    raise wave.Error(f"{audio.getsampwidth() * 8}-bit samples")
                width, rate = audio.getnchannels(), audio.getframerate()
                first = offset * rate // RATE
                if first >= audio.getnframes():
                    return _zeros(count)
                audio.setpos(first)
                wanted = (offset + count) * rate // RATE - first + 1
                read = array("h", audio.readframes(wanted))
        except (wave.Error, EOFError, OSError):
            return _tone_samples((round(PROMPT_VOICE_HZ),), offset, count)
        out = _zeros(count)
        if width == 1 and rate == RATE:
            out[: min(count, len(read))] = read[:count]
            return out
        for n in range(count):
            index = ((offset + n) * rate // RATE - first) * width
            if index >= len(read):
                break
            out[n] = read[index]
        return out


class Turns(Sound):
    """A voice heard in every other turn of a conversation (``phase`` 0: the first turn).

    In the other turns that side is idle: it listens.
    """

    def __init__(self, voice: Sound, phase: int) -> None:
        self.voice = voice
        self.phase = phase
        self.turn = round(TURN_SECONDS * RATE)

    def samples(self, offset: int, count: int) -> array:
        out = array("h")
        position = offset
        while len(out) < count:
            take = min(count - len(out), self.turn - position % self.turn)
            listening = (position // self.turn) % 2 != self.phase
            out += (IDLE if listening else self.voice).samples(position, take)
            position += take
        return out


def sound_of(piece: Piece) -> Sound:
    """What a playback piece sounds like to the caller."""
    if piece.kind == "file":
        return FileSound(piece.path)
    if piece.kind == "tone":
        return ToneScript(*tone_script(piece.target.partition("://")[2]))
    if piece.kind == "music":
        return Tone(HOLD_MUSIC_HZ)
    return SILENCE


def ringback_sound(value: str | None, pieces: list[Piece]) -> Sound:
    """What the caller hears while phones ring: the ringback variable's ``value``.

    Args:
        value: the variable (None: not set, nothing on the line).
        pieces: what ``value`` plays when it is a file or stream rather than a tone script.
    """
    if not value:
        return IDLE
    if value.lstrip().startswith("%("):
        segments, _ = tone_script(value)
        return ToneScript(segments, -1)
    return sound_of(pieces[0]) if pieces else IDLE


def agent_voice() -> Sound:
    """The agent's side of a bridged conversation."""
    return Turns(Tone(AGENT_VOICE_HZ), 0)


def caller_voice(*, in_turns: bool = False) -> Sound:
    """The caller talking (``in_turns``: in a bridged conversation)."""
    voice = Tone(CALLER_VOICE_HZ)
    return Turns(voice, 1) if in_turns else voice


def _faint(samples: array) -> bool:
    """Nothing but an idle side's noise (or silence) in the samples."""
    return not samples or (max(samples) <= 1 and min(samples) >= -1)


def _mix(first: array, second: array) -> array:
    """Both sounds at once; an idle side's noise adds nothing worth the cost of adding it."""
    if _faint(second):
        return first
    if _faint(first):
        return second
    return array("h", (max(-_MAX, min(_MAX, a + b)) for a, b in zip(first, second, strict=True)))


@dataclass
class _File:
    """One recording being written."""

    audio: wave.Wave_write
    stereo: bool
    swap: bool
    at: int
    needs_answer: bool
    needs_bridge: bool
    ends_at: int | None
    read_only: bool
    write_only: bool
    frames: int = 0
    masked: bool = False
    paused: bool = False


@dataclass
class _Side:
    """What one side of the line carried: each sound from the sample it began at.

    Kept back to the oldest sample a recording has still to write (at most a key's length).
    """

    sounds: list[tuple[int, Sound]] = field(default_factory=lambda: [(0, IDLE)])

    def change(self, at: int, sound: Sound) -> None:
        self.sounds.append((at, sound))

    def samples(self, at: int, count: int) -> array:
        out = array("h")
        for index, (since, sound) in enumerate(self.sounds):
            until = self.sounds[index + 1][0] if index + 1 < len(self.sounds) else at + count
            first, last = max(at, since), min(at + count, until)
            if first < last:
                out += sound.samples(first - since, last - first)
        return out

    def forget(self, before: int) -> None:
        """Drop the sounds that ended before sample ``before``."""
        while len(self.sounds) > 1 and self.sounds[1][0] <= before:
            del self.sounds[0]


@dataclass
class Recorder:
    """The sounds on one channel's line and the recordings of it (FreeSWITCH's media bugs).

    Call seconds given to it never go back. A key is heard for ``KEY_TONE_SECONDS`` up to
    the moment it reaches the line (it is recognised once it has sounded), so recordings are
    written a key's length behind the line at each change, and to the end when they stop,
    are masked or paused, and when the call is answered or bridged.
    """

    _heard: _Side = field(default_factory=_Side)
    _said: _Side = field(default_factory=_Side)
    _keys: list[tuple[int, Sound]] = field(default_factory=list)
    _files: dict[str, _File] = field(default_factory=dict)
    _answered: bool = False
    _bridged: bool = False

    @property
    def paths(self) -> list[str]:
        """The files being recorded, in the order they started."""
        return list(self._files)

    def recording(self, path: str) -> bool:
        return path in self._files

    def hear(self, now: float, sound: Sound | None) -> None:
        """From ``now`` the caller hears ``sound`` (None: nothing, an idle side)."""
        self._set(self._heard, now, sound)

    def say(self, now: float, sound: Sound | None) -> None:
        """From ``now`` the caller says ``sound`` (None: nothing, an idle side)."""
        self._set(self._said, now, sound)

    def key(self, now: float, key: str) -> None:
        """The caller's key reaches the line at ``now``."""
        if self._files and key in DTMF_HZ:
            self._write_all(now)
            self._keys.append((max(_sample(now) - _KEY_SAMPLES, 0), Tone(*DTMF_HZ[key])))

    def answered(self, now: float) -> None:
        """The call is answered from ``now``."""
        self._line(now, "_answered", True)

    def bridged(self, now: float, bridged: bool) -> None:
        """The caller is bridged to an agent from ``now`` (or no longer)."""
        self._line(now, "_bridged", bridged)

    def start(
        self,
        path: Path,
        now: float,
        *,
        stereo: bool,
        swap: bool,
        needs_answer: bool = False,
        needs_bridge: bool = False,
        limit: float | None = None,
        read_only: bool = False,
        write_only: bool = False,
    ) -> None:
        """Start recording the line to ``path`` (a WAV file) from ``now``.

        Args:
            path: the file.
            now: call seconds.
            stereo: what the caller says on the left, what they hear on the right (else both
                mixed in one channel).
            swap: the other way round (with ``stereo``).
            needs_answer: write only while the call is answered (``RECORD_ANSWER_REQ``).
            needs_bridge: write only while the caller is bridged (``RECORD_BRIDGE_REQ``).
            limit: seconds after which the recording ends (see ``due``); None: no limit.
            read_only: only what the caller says (``RECORD_READ_ONLY``; the ``record`` app).
            write_only: only what the caller hears (``RECORD_WRITE_ONLY``).

        Raises:
            OSError: the file cannot be written.
        """
        self._write_all(now)
        try:
            audio = wave.open(str(path), "wb")  # noqa: SIM115 - open until the recording stops
        except wave.Error as error:
            raise OSError(f"{path}: {error}") from error
        audio.setnchannels(2 if stereo else 1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframesraw(b"")  # the header of an empty file, until the close patches it
        ends_at = None if limit is None else _sample(now + limit)
        self._files[str(path)] = _File(
            audio,
            stereo,
            swap,
            _sample(now),
            needs_answer,
            needs_bridge,
            ends_at,
            read_only,
            write_only,
        )

    def deadline(self) -> float | None:
        """The call seconds at which the next recording's limit runs out (None: no limit)."""
        ends = [file.ends_at for file in self._files.values() if file.ends_at is not None]
        return min(ends) / RATE if ends else None

    def due(self, now: float) -> list[str]:
        """The recordings whose limit has run out by ``now``: the channel stops them."""
        return [
            path
            for path, file in self._files.items()
            if file.ends_at is not None and file.ends_at <= _sample(now)
        ]

    def mask(self, path: str, now: float, masked: bool) -> bool:
        """Write zeros into ``path`` from ``now`` while ``masked``; False: not recording it."""
        return self._flag(path, now, "masked", masked)

    def pause(self, path: str, now: float, paused: bool) -> bool:
        """Write nothing into ``path`` from ``now`` while ``paused``; False: not recording it."""
        return self._flag(path, now, "paused", paused)

    def stop(self, path: str, now: float) -> int | None:
        """Close ``path`` at ``now`` (or where its limit ran out, if earlier).

        Returns:
            The frames it holds; None when ``path`` is not being recorded.
        """
        file = self._files.get(path)
        if file is None:
            return None
        until = _sample(now)
        self._write(file, until if file.ends_at is None else min(until, file.ends_at))
        file.audio.close()
        del self._files[path]
        self._forget(_sample(now))
        return file.frames

    def _flag(self, path: str, now: float, name: str, value: bool) -> bool:
        file = self._files.get(path)
        if file is None:
            return False
        self._write(file, _sample(now))
        setattr(file, name, value)
        return True

    def _line(self, now: float, name: str, value: bool) -> None:
        for file in self._files.values():
            self._write(file, _sample(now))
        setattr(self, name, value)

    def _set(self, side: _Side, now: float, sound: Sound | None) -> None:
        self._write_all(now)
        side.change(_sample(now), sound or IDLE)

    def _write_all(self, now: float) -> None:
        until = _sample(now) - _KEY_SAMPLES
        for file in self._files.values():
            self._write(file, until)
        self._forget(_sample(now))

    def _forget(self, now: int) -> None:
        """Drop what every recording has written (all of it when none is left)."""
        written = min((file.at for file in self._files.values()), default=now)
        self._heard.forget(written)
        self._said.forget(written)
        self._keys = [(start, tone) for start, tone in self._keys if start + _KEY_SAMPLES > written]

    def _write(self, file: _File, until: int) -> None:
        while file.at < until:
            count = min(_BLOCK, until - file.at)
            skipped = (file.needs_answer and not self._answered) or (
                file.needs_bridge and not self._bridged
            )
            if not file.paused and not skipped:
                # Raw: the header says how long the file is only once it is closed.
                file.audio.writeframesraw(self._frames(file, count).tobytes())
                file.frames += count
            file.at += count

    def _frames(self, file: _File, count: int) -> array:
        if file.masked:
            return _zeros(count * (2 if file.stereo else 1))
        said = _zeros(count) if file.write_only else self._said.samples(file.at, count)
        for start, tone in [] if file.write_only else self._keys:
            first = max(start, file.at) - file.at
            last = min(start + _KEY_SAMPLES, file.at + count) - file.at
            if first < last:
                key = tone.samples(file.at + first - start, last - first)
                said[first:last] = _mix(said[first:last], key)
        heard = _zeros(count) if file.read_only else self._heard.samples(file.at, count)
        if not file.stereo:
            return _mix(said, heard)
        left, right = (heard, said) if file.swap else (said, heard)
        frames = _zeros(2 * count)
        frames[0::2] = left
        frames[1::2] = right
        return frames


def _sample(seconds: float) -> int:
    return round(seconds * RATE)
