from pathlib import Path

from ivr.nodes.registry import default_registry
from ivr.project import load_project
from ivr.testing.runner import run_case
from ivr.testing.scenario import Case, Scenario

FLOWS = Path(__file__).parent / "flows"


def _call(caller: str):
    project = load_project(FLOWS)
    assert project.ok, [d.message for d in project.diag.errors]
    scenario = Scenario(FLOWS / "survey.test.yaml", "survey", [])
    return run_case(project, scenario, Case(name=caller, steps=[], caller=caller))


def test_split_is_registered_from_its_entry_point_with_its_distribution():
    registry = default_registry()
    assert registry.get("split") is not None
    assert registry.origin("split").startswith("plugin ivr-node-split")


def test_about_the_chosen_share_of_callers_take_path_a():
    paths = [_call(f"+1555{n:07d}").record.path[1] for n in range(300)]
    share = paths.count("new_menu") / len(paths)
    assert 0.22 < share < 0.38


def test_a_caller_who_calls_again_takes_the_same_path():
    first = _call("+15550001111").record.path
    assert all(_call("+15550001111").record.path == first for _ in range(5))


def test_a_percent_over_100_is_refused_with_its_position(tmp_path):
    bad = (FLOWS / "survey.yaml").read_text().replace("percent: 30", "percent: 130")
    (tmp_path / "survey.yaml").write_text(bad)
    project = load_project(tmp_path)
    [error] = project.diag.errors
    assert error.message == "130 is too large: the most allowed is 100"
    assert (error.mark.line, error.mark.col) == (6, 14)
