"""Helpers for tests that run small flows on the in-memory channel with a scripted caller."""

from textwrap import dedent

from ivr.project import load_project
from ivr.runtime.memory import Step
from ivr.testing.runner import run_case
from ivr.testing.scenario import Case, Scenario


def build(tmp_path, flow: str, **files: str):
    """Write ``flow`` (id ``t``) and config files into ``tmp_path`` and compile them."""
    (tmp_path / "flow.yaml").write_text(dedent(flow))
    for name, text in files.items():
        (tmp_path / name).write_text(dedent(text))
    project = load_project(tmp_path)
    assert project.ok, "\n".join(d.render(project.sources) for d in project.diag.sorted())
    return project


def call(project, *steps: Step, **case):
    """Run one call of flow ``t`` with the given caller steps and case options."""
    scenario = Scenario(project.folder / "t.test.yaml", "t", [])
    return run_case(project, scenario, Case(name="case", steps=list(steps), **case))


def press(keys: str) -> Step:
    return Step("press", keys)


def hear(text: str) -> Step:
    return Step("hear", text)


def wait(seconds: float) -> Step:
    return Step("wait", seconds)


def hangup() -> Step:
    return Step("hangup", True)


def said(result) -> list[str]:
    """The texts the IVR spoke, in order."""
    return [e.text.removeprefix("says: ") for e in result.transcript if e.text.startswith("says: ")]


def texts(result) -> list[str]:
    """Every transcript line's text."""
    return [e.text for e in result.transcript]
