"""Fuzzing the flow and scenario loaders with Hypothesis, seeded by the example flows.

Whatever text a flow file holds, ``ivr validate`` either compiles it or reports mistakes, each
with a place in a file (``FILE:LINE:COL`` or ``FILE``); no other exception may escape, and every
message renders. The same holds for scenario files (``ivr test``). The texts are the example
flows and scenarios of ``flows/`` damaged where YAML is touchy (anchors, tags, brackets,
indentation, quotes) and arbitrary nested data dumped as YAML. The budget is small by default
(derandomized, so a run is reproducible); ``IVR_FUZZ_EXAMPLES=3000`` runs a longer search.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.flow.compiler import CONFIG_FILES
from ivr.flow.source import Diagnostics, SourceCache
from ivr.nodes.registry import default_registry
from ivr.project import load_project
from ivr.testing.scenario import load_scenario

FLOWS = Path(__file__).resolve().parents[1] / "flows"
FLOW_TEXTS = [
    p.read_text()
    for p in sorted(FLOWS.glob("*.yaml"))
    if p.name not in CONFIG_FILES and not p.name.endswith(".test.yaml")
]
SCENARIO_TEXTS = [p.read_text() for p in sorted(FLOWS.glob("*.test.yaml"))]

FUZZ = settings(
    max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "150")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What YAML reads specially: where a small change turns a flow into something else entirely.
TOUCHY = [
    "&a ",
    "*a",
    "&b [*a, *a, *a]",
    "!!str ",
    "!!python/object:os.system ",
    "!foo ",
    "!<x> ",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "? ",
    "|",
    ">-",
    "\t",
    '"',
    "'",
    "#",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "<<: *a\n",
    "\\u0000",
    "\x00",
    "\x07",
    "\ufeff",
    "é",
    "0123",
    "1e9999",
    "~",
    "null",
    "on",
    "09:00",
    "\n  ",
    "\n      ",
    "{{ x }}",
    "{% if %}",
    "*undefined",
]


@st.composite
def damaged(draw: st.DrawFn, seeds: list[str]) -> str:
    """An example file with a few characters replaced, touchy pieces put in, lines moved."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        where = draw(st.integers(0, len(text) - 1))
        change = draw(st.sampled_from(["touchy", "char", "drop", "cut", "line", "indent"]))
        if change == "touchy":
            text = text[:where] + draw(st.sampled_from(TOUCHY)) + text[where:]
        elif change == "char":
            text = text[:where] + draw(st.characters()) + text[where + 1 :]
        elif change == "drop":
            text = text[:where] + text[where + draw(st.integers(1, 40)) :]
        elif change == "cut":
            text = text[:where]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if change == "line":
                lines.insert(draw(st.integers(0, len(lines))), lines[i])
            else:
                lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip()
            text = "\n".join(lines)
    return text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["hangup", "play", "menu", "subflow", "start", "next", "5s", "{{ x }}"]),
)
nested = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def dumped(draw: st.DrawFn) -> str:
    """Arbitrary nested data as YAML, on its own or as the parts of a flow."""
    data = draw(nested)
    if draw(st.booleans()):
        data = {"flow": draw(scalars), "start": draw(scalars), "nodes": data}
    style = draw(st.sampled_from([None, True, False]))
    return yaml.safe_dump(data, default_flow_style=style, allow_unicode=draw(st.booleans()))


@pytest.fixture(scope="module")
def project_folder(tmp_path_factory) -> Path:
    """A folder with the examples' config and data files, for one flow file at a time."""
    folder = tmp_path_factory.mktemp("fuzz")
    for name in CONFIG_FILES:
        if (FLOWS / name).exists():
            shutil.copy(FLOWS / name, folder / name)
    shutil.copytree(FLOWS / "data", folder / "data")
    return folder


REGISTRY = default_registry()


def assert_compiles_or_says_where(folder: Path, text: str) -> None:
    """Compile ``text`` as the folder's one flow: the result or mistakes that have a place."""
    (folder / "fuzzed.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    project = load_project(folder, REGISTRY)
    for item in project.diag.items:
        assert item.mark is not None, item.message
        item.render(project.sources)
    assert project.ok or project.diag.errors


def assert_loads_or_says_where(folder: Path, text: str) -> None:
    """Load ``text`` as a scenario: a scenario, or mistakes that each have a place."""
    path = folder / "fuzzed.test.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    diag, sources = Diagnostics(), SourceCache()
    scenario = load_scenario(path, diag, sources)
    for item in diag.items:
        assert item.mark is not None, item.message
        item.render(sources)
    assert scenario is not None or diag.errors


@FUZZ
@given(text=damaged(FLOW_TEXTS))
def test_a_damaged_example_flow_compiles_or_its_mistakes_have_places(project_folder, text):
    assert_compiles_or_says_where(project_folder, text)


@FUZZ
@given(text=dumped())
def test_arbitrary_nested_data_as_a_flow_compiles_or_its_mistakes_have_places(project_folder, text):
    assert_compiles_or_says_where(project_folder, text)


@FUZZ
@given(text=st.lists(st.sampled_from(TOUCHY + list("abc:-_ \n01")), max_size=80).map("".join))
def test_text_made_of_yaml_punctuation_compiles_or_its_mistakes_have_places(project_folder, text):
    assert_compiles_or_says_where(project_folder, text)


@FUZZ
@given(text=damaged(SCENARIO_TEXTS) | dumped())
def test_a_damaged_scenario_loads_or_its_mistakes_have_places(project_folder, text):
    assert_loads_or_says_where(project_folder, text)
