"""Audio files for prompts: recordings from ``sounds/`` or TTS renderings, content-addressed.

FreeSWITCH plays files, so every Utterance becomes a path it can read. A recording named by the
flow is looked up in the FreeSWITCH layout (``sounds/<language>/<rate>/<name>.wav``, then
``sounds/<language>/<name>.wav``); text is spoken by pyttsx3 (espeak-ng on Linux) into the cache,
under a name derived from everything that changes the audio, so a prompt is rendered once and a
change of voice never serves a stale file. Beside each rendering a ``.txt`` file keeps the words,
for transcripts and the simulated FreeSWITCH.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from pathlib import Path

import gevent
from gevent.event import AsyncResult

from ivr.runtime.channel import Utterance

log = logging.getLogger("ivr.prompts")

ENGINE = "pyttsx3-espeak"


class PromptError(Exception):
    """A prompt could not be turned into audio (TTS engine missing or failing)."""


class _Speaker:
    """One pyttsx3 engine, used by one thread at a time (pyttsx3 is not thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine = None
        self._voices: dict[str, str] = {}

    def _voice_for(self, language: str, voice: str | None) -> str | None:
        if not self._voices:
            for v in self._engine.getProperty("voices"):
                self._voices.setdefault(v.id.rsplit("/", 1)[-1].lower(), v.id)
        for key in (voice, language, language.split("-")[0]):
            if key and key.lower() in self._voices:
                return self._voices[key.lower()]
        return None

    def render(self, text: str, language: str, voice: str | None, path: Path) -> None:
        with self._lock:
            if self._engine is None:
                import pyttsx3

                try:
                    self._engine = pyttsx3.init("espeak")
                except Exception as exc:  # pyttsx3 raises bare errors when espeak-ng is missing
                    raise PromptError(
                        f"the TTS engine cannot start ({exc}); install espeak-ng"
                    ) from exc
            chosen = self._voice_for(language, voice)
            if chosen:
                self._engine.setProperty("voice", chosen)
            partial = path.with_suffix(".part.wav")
            # pyttsx3's espeak driver prints a line for every file it saves.
            with contextlib.redirect_stdout(io.StringIO()):
                self._engine.save_to_file(text, str(partial))
                self._engine.runAndWait()
            if not partial.exists() or partial.stat().st_size <= 44:
                raise PromptError(f"the TTS engine produced no audio for {text[:60]!r}")
            os.replace(partial, path)


class PromptFiles:
    """Turns utterances into file paths FreeSWITCH can play.

    Args:
        cache_dir: where TTS renderings are kept (must be readable by FreeSWITCH).
        sounds_dir: the project's recordings, in FreeSWITCH's layout.
        rate: the preferred sample rate folder of recordings.
    """

    def __init__(self, cache_dir: Path, sounds_dir: Path, rate: int = 8000) -> None:
        self.cache_dir = cache_dir
        self.sounds_dir = sounds_dir
        self.rate = rate
        self._speaker = _Speaker()
        self._rendering: dict[Path, AsyncResult] = {}

    def _recording(self, name: str, language: str) -> Path | None:
        for folder in (self.sounds_dir / language / str(self.rate), self.sounds_dir / language):
            for candidate in (folder / name, folder / f"{name}.wav"):
                if candidate.is_file():
                    return candidate.resolve()
        return None

    def path_for(self, utterance: Utterance) -> str:
        """The file to play for ``utterance``, rendering it with TTS when needed.

        A missing recording without text is logged and its expected path returned, so
        FreeSWITCH reports FILE NOT FOUND and the call goes on.
        """
        if utterance.sound:
            found = self._recording(utterance.sound, utterance.language)
            if found is not None:
                return str(found)
            if not utterance.text:
                log.warning(
                    "recording %r is missing for %s and has no text to speak",
                    utterance.sound,
                    utterance.language,
                )
                return str(
                    self.sounds_dir.resolve() / utterance.language / f"{utterance.sound}.wav"
                )
        return str(self.render(utterance.text, utterance.language, utterance.voice))

    def key(self, text: str, language: str, voice: str | None) -> str:
        """The content address of a rendering: every input that changes the audio."""
        material = "\x1f".join([ENGINE, language, voice or "", text])
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def render(self, text: str, language: str, voice: str | None) -> Path:
        """Render ``text`` once (concurrent calls wait for the same rendering) and return it."""
        path = self.cache_dir / language / f"{self.key(text, language, voice)}.wav"
        if path.exists():
            return path.resolve()
        pending = self._rendering.get(path)
        if pending is not None:
            return pending.get()
        pending = self._rendering[path] = AsyncResult()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".txt").write_text(text, encoding="utf-8")
            # pyttsx3 blocks; run it in a real thread so other calls keep going.
            gevent.get_hub().threadpool.apply(self._speaker.render, (text, language, voice, path))
            pending.set(path.resolve())
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            self._rendering.pop(path, None)
        return path.resolve()
