"""Text to speech with pyttsx3 (espeak-ng on Linux): one engine, one synthesis at a time.

pyttsx3 is blocking and not thread-safe, and espeak-ng can be initialised once per process, so
a ``Speaker`` owns the process's engine behind a lock; callers run it in a worker thread (see
``PromptFiles``) so a call's greenlet never blocks the others. Voices are named as espeak-ng
names them (``en-us``, ``ru``, ``bg``, ``gmw/en-us``), with an optional variant (``en-us+f3``);
a flow without a voice gets the language's own voice.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from ivr.flow.prompts import base_language
from ivr.prompts.audio import AudioError, is_silent, read_wav
from ivr.runtime.channel import ChannelError

log = logging.getLogger("ivr.prompts")

WORDS_PER_MINUTE = 160
"""Speaking rate: a little slower than espeak-ng's 175, for a narrowband phone line."""


class PromptError(ChannelError):
    """A prompt could not be turned into audio; the call cannot play it."""


class TtsUnavailable(PromptError):
    """The TTS engine cannot start (espeak-ng is not installed, or its library fails)."""


class UnknownVoice(PromptError):
    """No installed TTS voice has the name a flow, node or tenant asked for."""


def _quiet(*args: object, **kwargs: object) -> None:
    """Stands in for ``print`` inside pyttsx3's espeak driver, which prints every saved file."""


_ENGINE_LOCK = threading.Lock()
"""Held while anything uses espeak, whichever Speaker it goes through."""


class Speaker:
    """The process's pyttsx3 engine, used by one thread at a time.

    Args:
        words_per_minute: the speaking rate.
    """

    def __init__(self, words_per_minute: int = WORDS_PER_MINUTE) -> None:
        self.words_per_minute = words_per_minute
        # pyttsx3 hands every Speaker of the process the same espeak engine, which is not
        # thread-safe: one lock for all of them, not one each.
        self._lock = _ENGINE_LOCK
        self._engine = None
        self._espeak = None
        self._voices: dict[tuple[str, str | None], str] = {}
        self.version = ""

    def _start(self) -> None:
        """Start the engine (under the lock). Raises TtsUnavailable with what to install."""
        if self._engine is not None:
            return
        try:
            import pyttsx3
            from pyttsx3.drivers import _espeak

            engine = pyttsx3.init("espeak")
        except Exception as exc:  # pyttsx3 raises bare errors when espeak-ng is missing
            raise TtsUnavailable(
                f"the TTS engine cannot start ({exc}); install espeak-ng "
                "(apt-get install espeak-ng) and try again"
            ) from exc
        # The driver prints a line for every file it saves; silence only that module, since
        # redirecting sys.stdout from a worker thread would swallow other threads' output.
        sys.modules["pyttsx3.drivers.espeak"].print = _quiet
        engine.setProperty("rate", self.words_per_minute)
        self._espeak = _espeak
        self.version = (
            f"pyttsx3 {importlib.metadata.version('pyttsx3')}, "
            f"espeak-ng {_espeak.Info(None).decode()}"
        )
        self._engine = engine

    def start(self) -> str:
        """Start the engine if needed; returns its version (it goes into every cache key)."""
        with self._lock:
            self._start()
            return self.version

    def voice_id(self, language: str, voice: str | None) -> str:
        """The installed voice that speaks ``language`` as ``voice`` asks, e.g. ``gmw/en-US+f3``.

        Raises:
            UnknownVoice: no installed voice has that name (or speaks that language).
            TtsUnavailable: the engine cannot start.
        """
        key = (language, voice)
        if key in self._voices:
            return self._voices[key]
        with self._lock:
            self._start()
            found = self._voices[key] = self._find_voice(language, voice)
            return found

    def _find_voice(self, language: str, voice: str | None) -> str:
        names = [voice] if voice else [language, base_language(language)]
        for name in names:
            if self._espeak.SetVoiceByName(name.encode()) != 0:
                continue
            chosen = self._espeak.GetCurrentVoice().contents.identifier.decode()
            variant = name.partition("+")[2]
            if variant and not chosen.lower().endswith(f"+{variant.lower()}"):
                raise UnknownVoice(
                    f"voice '{voice}': espeak-ng has no variant '{variant}' (variants are the "
                    "files in espeak-ng-data/voices/!v, e.g. f3, m3)"
                )
            return chosen
        base = base_language(language)
        near = sorted(
            v.id.rsplit("/", 1)[-1]
            for v in self._engine.getProperty("voices")
            if any(base_language(lang) == base for lang in v.languages)
        )
        if voice:
            hint = f"voices for {language}: {', '.join(near)}" if near else "see espeak-ng --voices"
            raise UnknownVoice(f"voice '{voice}' is not installed ({hint})")
        raise UnknownVoice(f"no installed TTS voice speaks '{language}' (see espeak-ng --voices)")

    def synthesize(self, text: str, voice_id: str) -> tuple[np.ndarray, int]:
        """Speak ``text`` with the voice ``voice_id``; blocking (run it in a worker thread).

        pyttsx3's espeak driver now and then saves an empty file; one more try has always
        given the audio, so a rendering is tried twice before it fails.

        Returns:
            The raw samples (float, mono) and their sample rate.

        Raises:
            PromptError: the engine failed or produced no sound, twice.
        """
        for attempt in range(2):
            # espeak may still be writing into the folder as it is removed ("Directory not
            # empty", seen under load): a folder left in /tmp must not cost the caller a prompt.
            folder = tempfile.TemporaryDirectory(prefix="ivr-tts-", ignore_cleanup_errors=True)
            with self._lock, folder as tmp:
                self._start()
                path = Path(tmp) / "speech.wav"
                self._engine.setProperty("voice", voice_id)
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
                try:
                    samples, rate = read_wav(path)
                except AudioError as exc:
                    problem = str(exc)
                else:
                    if not is_silent(samples, rate):
                        return samples, rate
                    problem = "no sound"
            if not attempt:
                log.warning("the TTS engine gave %s for %r; trying again", problem, text[:60])
        raise PromptError(f"the TTS engine failed to speak {text[:60]!r}: {problem}")
