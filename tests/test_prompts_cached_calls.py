"""Issue 4's "done when": after ``ivr prompts build``, every prompt of the example flows plays
from the cache. Every example scenario runs through the controller over ESL with the built
cache, and no text is spoken by TTS on a call except prompts made of call variables."""

import re
from pathlib import Path

import gevent

from ivr.flow.source import Diagnostics, SourceCache
from ivr.project import load_project
from ivr.prompts.build import build
from ivr.prompts.files import PromptFiles
from ivr.testing.scenario import load_scenario
from ivr.testing.via_esl import EslRunner

FLOWS = Path(__file__).parents[1] / "flows"
WORKERS = 4


def _pattern(template: str) -> re.Pattern:
    """A template with variables as a pattern of what it renders to."""
    parts = re.split(r"\{\{.*?\}\}", template)
    return re.compile(".+".join(re.escape(part) for part in parts), re.DOTALL)


def test_example_calls_play_every_prompt_from_the_built_cache(tmp_path, monkeypatch):
    project = load_project(FLOWS)
    assert project.ok
    cache = tmp_path / "prompts"
    report = build(project, PromptFiles(cache, FLOWS.parent / "sounds", 8000), progress=False)
    assert not report.errors
    allowed = [_pattern(text) for text, _ in report.at_call_time if "{{" in text]
    assert allowed, "the example flows have prompts with variables"

    spoken: list[str] = []
    speak = PromptFiles._speak

    def counting(self, text, voice_id, tail_seconds):
        spoken.append(text)
        return speak(self, text, voice_id, tail_seconds)

    monkeypatch.setattr(PromptFiles, "_speak", counting)
    cases = [
        (scenario, case)
        for path in sorted(FLOWS.glob("*.test.yaml"))
        if (scenario := load_scenario(path, Diagnostics(), SourceCache())) is not None
        for case in scenario.cases
    ]
    todo = list(cases)
    results = []
    renders = 0

    def work() -> None:
        # Cases wait on real time here and there (the simulator's pauses, a slow data source):
        # a few controllers side by side keep the test short.
        nonlocal renders
        runner = EslRunner(project, prompt_cache=cache)
        try:
            while todo:
                results.append(runner.run_case(*todo.pop()))
        finally:
            runner.close()
            renders += runner.prompts.stats.renders

    gevent.joinall([gevent.spawn(work) for _ in range(WORKERS)], raise_error=True)
    assert len(cases) > 40 and len(results) == len(cases)
    assert [r.case.name for r in results if not r.passed] == []
    assert renders == len(spoken)
    missed = sorted({t for t in spoken if not any(p.fullmatch(t) for p in allowed)})
    assert not missed, f"{len(missed)} prompt(s) missed the built cache: {missed}"
