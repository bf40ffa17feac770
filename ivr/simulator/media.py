"""What a playback target sounds like: its pieces, how long each lasts, and the words in it.

``playback`` accepts a file, ``file_string://a.wav!b.wav`` (several in a row; a missing one is
skipped), ``silence_stream://<ms>``, ``tone_stream://<script>`` and ``local_stream://<name>``
(endless hold music). A file's words come from ``<file without extension>.txt`` beside it (our
TTS writes one next to each WAV), else from its name; its length is the WAV's real duration, or
the time it takes to say its words.
"""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

from ivr.runtime.memory import SPEECH_CHARS_PER_SECOND
from ivr.simulator.parsing import atoi

__all__ = ["Piece", "resolve", "tone_script", "write_silence_wav"]

_TONE_SEGMENT = re.compile(r"%\(\s*(\d+)\s*,\s*(\d+)([^)]*)")
_TONE_LOOPS = re.compile(r"(?:^|;)\s*(?:L|loops)\s*=\s*(-?\d+)")
_UNKNOWN_TONE_SECONDS = 1.0
_SAMPLE_RATE = 8000


@dataclass(frozen=True)
class Piece:
    """One thing a playback plays.

    Attributes:
        kind: ``file``, ``tone``, ``silence`` or ``music``.
        target: the file path or stream as given.
        seconds: how long it lasts; None for an endless stream.
        text: the words a caller hears in it (empty for streams).
        path: the file that plays, as found (empty for streams).
    """

    kind: str
    target: str
    seconds: float | None
    text: str = ""
    path: str = ""

    @property
    def is_prompt(self) -> bool:
        """A file or a finite tone: heard to its end before the caller reacts to it."""
        return self.kind in ("file", "tone") and self.seconds is not None

    def describe(self) -> str:
        """The transcript line for this piece."""
        if self.kind == "file":
            return f"says: {self.text}  [file {self.target}]"
        if self.kind == "music":
            return f"plays hold music {self.target}"
        if self.kind == "silence":
            length = "" if self.seconds is None else f" {self.seconds:g}s"
            return f"plays silence{length}"
        return f"plays tone {self.target}"


def _strip_decorations(target: str) -> str:
    """Drop a leading ``{var=value}`` block and a trailing ``@@<samples>`` start offset."""
    target = target.strip()
    while target.startswith("{") and "}" in target:
        target = target[target.index("}") + 1 :].lstrip()
    if "@@" in target:
        target = target[: target.index("@@")]
    return target


def tone_script(script: str) -> tuple[list[tuple[float, float, list[float]]], int]:
    """The segments of a teletone script (``%(on_ms,off_ms,hz,hz...)``) and its loops.

    Returns:
        Each segment's seconds on, seconds off and frequencies, and how many times the whole
        plays (``L=``/``loops=``; -1 for ever, 1 when not given).
    """
    segments = []
    for on, off, rest in _TONE_SEGMENT.findall(script):
        frequencies = [float(hz) for hz in re.findall(r"\d+(?:\.\d+)?", rest)]
        segments.append((int(on) / 1000, int(off) / 1000, frequencies))
    loops = _TONE_LOOPS.search(script)
    repeat = int(loops.group(1)) if loops else 1
    return segments, (repeat if repeat < 0 else max(repeat, 1))


def _tone_seconds(script: str) -> float | None:
    segments, repeat = tone_script(script)
    if not segments:
        return _UNKNOWN_TONE_SECONDS
    if repeat < 0:
        return None
    return sum(on + off for on, off, _ in segments) * repeat


_PIECES: dict[tuple[str, str], tuple[tuple[int, int], Piece]] = {}
"""Files already read, by (path, target), with the change times of the file and its words: a
load generator plays the same prompts thousands of times."""
_PIECES_SIZE = 10_000


def _changed(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def _file_piece(path: Path, given: str) -> Piece | None:
    if not path.is_file():
        if path.suffix or not path.with_suffix(".wav").is_file():
            return None
        path = path.with_suffix(".wav")
    key = (str(path), given)
    changed = (_changed(path), _changed(path.with_suffix(".txt")))
    known = _PIECES.get(key)
    if known is not None and known[0] == changed:
        return known[1]
    piece = _read_file_piece(path, given)
    if len(_PIECES) >= _PIECES_SIZE:
        _PIECES.clear()
    _PIECES[key] = changed, piece
    return piece


def _read_file_piece(path: Path, given: str) -> Piece:
    words_file = path.with_suffix(".txt")
    text = words_file.read_text(encoding="utf-8").strip() if words_file.is_file() else path.stem
    try:
        with wave.open(str(path), "rb") as audio:
            seconds = audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, OSError):
        seconds = len(text) / SPEECH_CHARS_PER_SECOND
    return Piece("file", given, seconds, text, str(path))


def resolve(target: str, sounds_dir: Path) -> list[Piece]:
    """The pieces ``playback <target>`` plays, in order; empty when nothing can be played.

    Args:
        target: the playback argument.
        sounds_dir: where relative file names are looked up (FreeSWITCH's ``sound_prefix``).
    """
    target = _strip_decorations(target)
    scheme, sep, rest = target.partition("://")
    if not sep:
        path = Path(target)
        piece = _file_piece(path if path.is_absolute() else sounds_dir / path, target)
        return [piece] if piece else []
    scheme = scheme.lower()
    if scheme == "file_string":
        return [piece for part in rest.split("!") for piece in resolve(part, sounds_dir)]
    if scheme == "silence_stream":
        milliseconds = atoi(rest)
        return [Piece("silence", target, milliseconds / 1000 if milliseconds > 0 else None)]
    if scheme == "tone_stream":
        return [Piece("tone", target, _tone_seconds(rest))]
    if scheme == "local_stream":
        return [Piece("music", target, None)]
    return []


def write_silence_wav(path: Path, seconds: float) -> None:
    """Write ``seconds`` of 8 kHz 16-bit mono silence to ``path``, creating its folders.

    The benchmarks' prompts are such files: as long as their words take to say, silent.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = round(max(seconds, 0.0) * _SAMPLE_RATE)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(_SAMPLE_RATE)
        audio.writeframes(b"\x00\x00" * frames)
