"""How fast prompts become audio: TTS renderings, cache hits, joined values, and a whole build.

Measures, on a fresh cache in a temporary folder: the time to render one new prompt with
pyttsx3 and espeak-ng (median over sentences in English, Russian and Bulgarian, 8000 Hz), the
latency of ``PromptFiles.path_for`` when the file is already cached (target: under 10 ms), a
balance said from word pieces that are already rendered (no TTS run), 50 calls asking for the
same new prompt at once, and ``ivr prompts build`` of the example flows with a cold and a warm
cache. Prints numbers; asserts nothing.

Run: ``.venv/bin/python benchmarks/prompts_render.py [sentences per language]``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import gevent

from ivr.project import load_project
from ivr.prompts.build import build
from ivr.prompts.files import PromptFiles
from ivr.prompts.pieces import spoken_value, vocabulary
from ivr.runtime.channel import Utterance

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = {
    "en": "Thank you for calling. Your request number {n} is being processed. Please hold.",
    "ru": "Спасибо за звонок. Ваша заявка номер {n} обрабатывается. Пожалуйста, подождите.",
    "bg": "Благодарим ви за обаждането. Заявка номер {n} се обработва. Моля, изчакайте.",
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def render_times(files: PromptFiles, per_language: int) -> dict[str, list[float]]:
    """Seconds to render each new sentence, per language."""
    times: dict[str, list[float]] = {}
    for language, template in SENTENCES.items():
        files.render("warm up", language, None)  # start the engine and find the voice
        for n in range(per_language):
            started = time.perf_counter()
            files.render(template.format(n=n), language, None)
            times.setdefault(language, []).append(time.perf_counter() - started)
    return times


def hit_times(files: PromptFiles, per_language: int, rounds: int = 20) -> list[float]:
    """Seconds ``path_for`` takes for prompts that are already in the cache."""
    utterances = [
        Utterance(template.format(n=n), language)
        for language, template in SENTENCES.items()
        for n in range(per_language)
    ]
    times = []
    for _ in range(rounds):
        for utterance in utterances:
            started = time.perf_counter()
            files.path_for(utterance)
            times.append(time.perf_counter() - started)
    return times


def value_times(files: PromptFiles) -> tuple[float, int, list[float], int]:
    """Pre-render the pieces of Russian money (as the build does), then say new balances.

    Returns:
        Seconds to pre-render, pieces rendered, seconds per new balance, TTS runs meanwhile.
    """
    words = vocabulary("money", "ru")
    started = time.perf_counter()
    for word in words:
        files.piece(word, "ru", None)
    prepared = time.perf_counter() - started
    before = files.stats.renders
    times = []
    for amount in ("4321.65", "2143.56", "1324.65", "3412.56", "2314.65", "987.01", "21.21"):
        started = time.perf_counter()
        files.path_for(spoken_value("money", amount, "ru", None))
        times.append(time.perf_counter() - started)
    return prepared, len(words), times, files.stats.renders - before


def same_prompt_at_once(files: PromptFiles, calls: int = 50) -> tuple[float, int]:
    """Seconds for ``calls`` greenlets to get one new prompt, and how many TTS runs it took."""
    before = files.stats.renders
    started = time.perf_counter()
    waiting = [
        gevent.spawn(files.render, "All our operators are busy.", "en", "en-us")
        for _ in range(calls)
    ]
    gevent.joinall(waiting, raise_error=True)
    return time.perf_counter() - started, files.stats.renders - before


def build_time(cache: Path) -> tuple[float, int]:
    """Seconds ``ivr prompts build flows/`` takes, and how many files it made."""
    project = load_project(ROOT / "flows")
    files = PromptFiles(cache, ROOT / "sounds")
    started = time.perf_counter()
    report = build(project, files, progress=False)
    return time.perf_counter() - started, report.rendered


def main() -> None:
    """Run every measurement and print the numbers."""
    per_language = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        files = PromptFiles(Path(tmp) / "cache", ROOT / "sounds")
        times = render_times(files, per_language)
        print(f"render one new prompt (pyttsx3 + espeak-ng, 8000 Hz, {per_language} per language):")
        for language, seconds in times.items():
            print(
                f"  {language}: median {_ms(statistics.median(seconds))}, max {_ms(max(seconds))}"
            )
        every = [s for seconds in times.values() for s in seconds]
        print(f"  all: median {_ms(statistics.median(every))}")
        hits = sorted(hit_times(files, per_language))
        print(
            f"cache hit (path_for of a cached prompt, {len(hits)} lookups): "
            f"median {_ms(statistics.median(hits))}, "
            f"p99 {_ms(hits[int(len(hits) * 0.99)])} (target < 10 ms)"
        )
        prepared, pieces, joined, runs = value_times(files)
        print(
            f"balance from word pieces (ru): {pieces} pieces pre-rendered in {prepared:.1f} s, "
            f"then median {_ms(statistics.median(joined))} per new amount ({runs} TTS runs)"
        )
        seconds, renders = same_prompt_at_once(files)
        print(f"50 calls asking for one new prompt at once: {_ms(seconds)}, {renders} TTS run(s)")
        cold, made = build_time(Path(tmp) / "build")
        warm, _ = build_time(Path(tmp) / "build")
        print(
            f"ivr prompts build flows/: {cold:.1f} s with an empty cache ({made} files), "
            f"{warm:.2f} s when everything is cached"
        )


if __name__ == "__main__":
    main()
