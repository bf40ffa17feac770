"""Audio files for prompts: recordings from ``sounds/`` or TTS renderings, content-addressed.

FreeSWITCH plays files, so every Utterance becomes a path it can read. A recording named by the
flow is looked up in the FreeSWITCH layout (``sounds/<language>/<rate>/<name>.wav``, then
``sounds/<language>/<name>.wav``; a tenant's own ``sounds/tenants/<tenant>/`` first) and always
wins over TTS. Text is spoken by pyttsx3 into the cache, as mono 16-bit PCM at the configured
rate, trimmed and at the project's speech level, under a name derived from everything that
changes the audio (engine version, processing, language, voice, speaking rate, sample rate,
level, text): a prompt is rendered once and a change of voice never serves a stale file. Say-as
values are joined from word pieces rendered once each. Beside each file a ``.txt`` keeps the
words, for transcripts and the simulated FreeSWITCH.

Rendering blocks, so it runs in gevent's thread pool (one synthesis at a time, see ``Speaker``)
while other calls go on; two calls that need the same new prompt wait for one rendering.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import numpy as np
from gevent.event import AsyncResult
from prometheus_client import Counter

from ivr.flow.prompts import base_language
from ivr.prompts import audio
from ivr.prompts.pieces import PAUSE, SpokenValue
from ivr.prompts.tts import Speaker, UnknownVoice
from ivr.runtime.channel import Utterance

log = logging.getLogger("ivr.prompts")


class PromptCacheCounter:
    """Counts prompt cache lookups; one for the whole process, shared by every controller."""

    def __init__(self) -> None:
        self.counter = Counter(
            "ivr_prompt_cache",
            "Prompt cache lookups by result (hit: the audio was ready; miss: it was rendered)",
            ["result"],
            registry=None,
        )
        self._hit = self.counter.labels(result="hit")
        self._miss = self.counter.labels(result="miss")

    def hit(self) -> None:
        """A prompt's audio was already in the cache."""
        self._hit.inc()

    def miss(self) -> None:
        """A prompt's audio had to be rendered."""
        self._miss.inc()


PROMPT_CACHE = PromptCacheCounter()
"""The process's prompt cache counter: call ``PROMPT_CACHE.hit()`` or ``.miss()``."""

PROCESSING = "trim-lead+soxr-hq+level-v1"
"""How renderings are processed; part of every cache key, so a change re-renders."""
PROMPT_TAIL_SECONDS = 0.25
"""Silence kept after a prompt's last word: the pause before the next prompt."""
PIECE_TAIL_SECONDS = 0.01
PIECE_GAP_SECONDS = 0.04
"""Silence between the word pieces of a value."""
PAUSE_SECONDS = 0.2
VALUE_TAIL_SECONDS = 0.15
REMEMBERED = 4096
"""Paths worked out per view and kept for the next call (forgotten all at once when full:
templated prompts make new texts without end)."""
_FOLDERS = {"prompt": "", "piece": "pieces", "value": "values"}


def _remember(paths: dict, key: tuple, value: object) -> None:
    if len(paths) >= REMEMBERED:
        paths.clear()
    paths[key] = value


def _blocking(function: Callable[..., Any], *args: Any) -> Any:
    """Run blocking work in gevent's thread pool, so the calling greenlet yields meanwhile.

    An exception is carried back and raised here: raised inside the pool, gevent would print
    its traceback, and a missing voice is a user's mistake, not a crash.
    """

    def guarded() -> tuple[Any, Exception | None]:
        try:
            return function(*args), None
        except Exception as exc:  # handed to the calling greenlet, which raises it
            return None, exc

    result, error = gevent.get_hub().threadpool.apply(guarded)
    if error is not None:
        raise error
    return result


@dataclass
class RenderStats:
    """What a cache did, shared by its tenant views: for reports, benchmarks and tests."""

    renders: int = 0
    """Texts spoken by TTS; cache hits and values joined from pieces do not count."""
    made: int = 0
    """Files added to the cache: TTS renderings and joined values."""


class PromptFiles:
    """Turns utterances into file paths FreeSWITCH can play.

    Args:
        cache_dir: where TTS renderings are kept (must be readable by FreeSWITCH).
        sounds_dir: the project's recordings, in FreeSWITCH's layout.
        rate: the sample rate of renderings and the preferred rate folder of recordings
            (8000, or 16000 for wideband calls).
        speaker: the TTS engine (one per process; shared by default).
        level: the active speech level of renderings, in dBFS.
    """

    def __init__(
        self,
        cache_dir: Path,
        sounds_dir: Path,
        rate: int = 8000,
        *,
        speaker: Speaker | None = None,
        level: float = audio.LEVEL_DBFS,
    ) -> None:
        if rate not in audio.RATES:
            raise ValueError(f"prompt sample rate {rate} Hz: use one of {audio.RATES}")
        self.cache_dir = cache_dir.resolve()
        self.sounds_dir = sounds_dir.resolve()
        self.rate = rate
        self.speaker = speaker or _shared_speaker()
        self.level = level
        self.recording_dirs = [self.sounds_dir]
        self.stats = RenderStats()
        self._pending: dict[Path, AsyncResult] = {}
        self._voices: dict[tuple[str, str | None], str] = {}
        # Working out a path (a hash, a dozen Path objects) cost more than the stat that checks
        # it, on every prompt of every call; the file system is still asked each time.
        self._renderings: dict[tuple[str, str, str, str], Path] = {}
        self._candidates: dict[tuple[str, str], tuple[str, ...]] = {}
        self._tenant_views: dict[str, PromptFiles] = {}

    def for_tenant(self, tenant_id: str) -> PromptFiles:
        """The same cache, looking first in the tenant's own ``sounds/tenants/<id>/``."""
        view = self._tenant_views.get(tenant_id)
        if view is None:
            view = copy.copy(self)
            view.recording_dirs = [self.sounds_dir / "tenants" / tenant_id, *self.recording_dirs]
            view._candidates = {}
            view._tenant_views = {}
            self._tenant_views[tenant_id] = view
        return view

    # ------------------------------------------------------------------ recordings

    def recording_paths(self, name: str, language: str) -> list[Path]:
        """Where a recording is looked for, in order."""
        languages = dict.fromkeys([language, base_language(language)])
        out = []
        for root in self.recording_dirs:
            for lang in languages:
                for folder in (root / lang / str(self.rate), root / lang):
                    out += [folder / f"{name}.wav", folder / name]
        return out

    def recording(self, name: str, language: str) -> Path | None:
        """The recording ``name`` in ``language``, or None when there is none."""
        candidates = self._candidates.get((name, language))
        if candidates is None:
            candidates = tuple(str(path) for path in self.recording_paths(name, language))
            _remember(self._candidates, (name, language), candidates)
        return next((Path(c) for c in candidates if os.path.isfile(c)), None)

    # ------------------------------------------------------------------ playback paths

    def path_for(self, utterance: Utterance) -> str:
        """The file to play for ``utterance``, rendering it with TTS when needed.

        A recording wins over TTS. A missing recording without text is logged and its expected
        path returned, so FreeSWITCH reports FILE NOT FOUND and the call goes on.

        Raises:
            PromptError: the TTS engine is missing or failed.
        """
        if utterance.sound:
            found = self.recording(utterance.sound, utterance.language)
            if found is not None:
                return str(found)
            if not utterance.text:
                log.warning(
                    "recording %r is missing for %s and has no text to speak",
                    utterance.sound,
                    utterance.language,
                )
                return str(self.recording_paths(utterance.sound, utterance.language)[0])
        if isinstance(utterance, SpokenValue):
            return str(self.value(utterance))
        return str(self.render(utterance.text, utterance.language, utterance.voice))

    def voice_id(self, language: str, voice: str | None) -> str:
        """The installed voice for ``language`` and ``voice``.

        At call time a voice that is not installed is logged once and the language's own voice
        speaks instead: the caller still hears the prompt. ``ivr prompts build`` reports it as
        an error beforehand.
        """
        key = (language, voice)
        found = self._voices.get(key)
        if found is None:
            try:
                found = _blocking(self.speaker.voice_id, language, voice)
            except UnknownVoice as exc:
                if voice is None:
                    raise
                log.error("%s; %s is spoken with its default voice", exc, language)
                found = _blocking(self.speaker.voice_id, language, None)
            self._voices[key] = found
        return found

    def key(self, kind: str, text: str, language: str, voice_id: str) -> str:
        """The content address of a rendering: every input that changes the audio."""
        material = "\x1f".join(
            [
                self.speaker.version,
                PROCESSING,
                kind,
                language,
                voice_id,
                str(self.speaker.words_per_minute),
                str(self.rate),
                f"{self.level:g}",
                text,
            ]
        )
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def _rendering_path(self, kind: str, text: str, language: str, voice_id: str) -> Path:
        """Where the rendering of ``text`` is kept: ``kind`` is prompt, piece or value."""
        found = self._renderings.get((kind, text, language, voice_id))
        if found is None:
            name = f"{self.key(kind, text, language, voice_id)}.wav"
            found = self.cache_dir / language / _FOLDERS[kind] / name
            _remember(self._renderings, (kind, text, language, voice_id), found)
        return found

    def render(self, text: str, language: str, voice: str | None) -> Path:
        """Render ``text`` once (concurrent calls wait for the same rendering) and return it."""
        voice_id = self.voice_id(language, voice)
        path = self._rendering_path("prompt", text, language, voice_id)
        return self._once(path, text, lambda: self._speak(text, voice_id, PROMPT_TAIL_SECONDS))

    def piece(self, word: str, language: str, voice: str | None) -> Path:
        """Render one word of a say-as value (trimmed close, for joining) and return it."""
        voice_id = self.voice_id(language, voice)
        path = self._rendering_path("piece", word, language, voice_id)
        return self._once(path, word, lambda: self._speak(word, voice_id, PIECE_TAIL_SECONDS))

    def value(self, value: SpokenValue) -> Path:
        """A say-as value joined from its word pieces (rendering any piece not made yet)."""
        voice_id = self.voice_id(value.language, value.voice)
        path = self._rendering_path("value", value.text, value.language, voice_id)
        return self._once(path, value.text, lambda: self._join(value))

    # ------------------------------------------------------------------ making files

    def _once(self, path: Path, text: str, make: Callable[[], np.ndarray]) -> Path:
        """Return ``path``, making it first unless it exists or another call is making it."""
        if path.exists():
            PROMPT_CACHE.hit()
            return path
        PROMPT_CACHE.miss()
        pending = self._pending.get(path)
        if pending is not None:
            return pending.get()
        pending = self._pending[path] = AsyncResult()
        try:
            samples = make()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".txt").write_text(text, encoding="utf-8")
            audio.write_wav(path, samples, self.rate)
            self.stats.made += 1
            pending.set(path)
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            self._pending.pop(path, None)
        return path

    def _speak(self, text: str, voice_id: str, tail_seconds: float) -> np.ndarray:
        self.stats.renders += 1
        return _blocking(self._synthesize, text, voice_id, tail_seconds)

    def _synthesize(self, text: str, voice_id: str, tail_seconds: float) -> np.ndarray:
        """Speak and process in a worker thread (numpy and soxr release the GIL)."""
        samples, rate = self.speaker.synthesize(text, voice_id)
        return audio.prepare(samples, rate, self.rate, tail_seconds=tail_seconds, level=self.level)

    def _join(self, value: SpokenValue) -> np.ndarray:
        gap = audio.silence(self.rate, PIECE_GAP_SECONDS)
        parts: list[np.ndarray] = []
        for word in value.pieces:
            if word == PAUSE:
                parts.append(audio.silence(self.rate, PAUSE_SECONDS))
                continue
            samples, _ = audio.read_wav(self.piece(word, value.language, value.voice))
            parts += [samples, gap]
        parts.append(audio.silence(self.rate, VALUE_TAIL_SECONDS))
        return np.concatenate(parts)


_SPEAKER: Speaker | None = None


def _shared_speaker() -> Speaker:
    """The process's one TTS engine (espeak-ng can be initialised only once per process)."""
    global _SPEAKER
    if _SPEAKER is None:
        _SPEAKER = Speaker()
    return _SPEAKER
