import textwrap
from pathlib import Path

from ivr.cli import main

FLOW = """
flow: shop
start: menu
nodes:
  menu:
    type: menu
    prompt: "For orders press 1."
    choices: {1: orders, 2: orders}
    on_fail: bye
  orders:
    type: play
    prompt: "Your order has shipped."
    goal: told
    next: bye
  bye: {type: hangup, prompt: "Goodbye."}
"""


def _write(tmp_path: Path, scenario: str) -> Path:
    (tmp_path / "shop.yaml").write_text(FLOW)
    path = tmp_path / "shop.test.yaml"
    path.write_text(textwrap.dedent(scenario).lstrip())
    return path


def test_passing_cases_print_a_line_each_and_exit_zero(tmp_path, capsys):
    path = _write(
        tmp_path,
        """
        flow: shop
        cases:
          - name: orders
            steps: [{hear: "orders press 1"}, {press: "1"}, {hear: shipped}]
            expect: {path: [menu, orders, bye], outcome: self_served, goals: [told]}
          - name: silence
            steps: [{wait: 30s}]
            expect: {path: [menu, bye], outcome: completed}
    """,
    )
    assert main(["test", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"PASS  {path}: orders", f"PASS  {path}: silence", "2 passed, 0 failed"]


def test_a_failing_case_names_the_expectation_and_shows_the_transcript(tmp_path, capsys):
    path = _write(
        tmp_path,
        """
        flow: shop
        cases:
          - name: wrong outcome
            steps: [{press: "1"}, {hangup: true}]
            expect: {outcome: answered}
    """,
    )
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}: wrong outcome" in out
    assert "- expected outcome 'answered', got 'ivr_hangup'" in out
    assert "ivr     says: For orders press 1." in out
    assert "caller  presses 1" in out
    assert "path: menu -> orders" in out
    assert out.endswith("0 passed, 1 failed\n")


def test_a_hear_that_never_plays_fails_the_case(tmp_path, capsys):
    path = _write(
        tmp_path,
        """
        flow: shop
        cases:
          - name: expects a prompt the flow does not have
            steps: [{hear: "For billing press 3"}]
    """,
    )
    assert main(["test", str(path)]) == 1
    assert "step at line 4 (hear 'For billing press 3') was never played" in capsys.readouterr().out


def test_a_mistake_in_the_scenario_file_is_reported_with_its_position(tmp_path, capsys):
    path = _write(
        tmp_path,
        """
        flow: shop
        cases:
          - name: typo
            steps: [{pres: "1"}, {wait: 5 parsecs}]
            expect: {outcome: happy}
    """,
    )
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:4:14: error: unknown step 'pres'; did you mean 'press'?" in out
    assert f"{path}:4:33: error: bad duration '5 parsecs'" in out
    assert f"{path}:5:23: error: 'happy' is not one of: self_served" in out


def test_a_scenario_for_a_flow_that_is_not_there_fails(tmp_path, capsys):
    path = _write(tmp_path, "flow: shoop\ncases: [{name: x, steps: []}]\n")
    assert main(["test", str(path)]) == 1
    assert "flow 'shoop' is not among the flows" in capsys.readouterr().out


def test_a_folder_without_scenarios_is_a_usage_error(tmp_path, capsys):
    assert main(["test", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err
