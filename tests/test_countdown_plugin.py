"""A plugin node type is one file: the countdown validates, draws, pre-renders, runs, journals.

The ``countdown`` node type lives in tests/plugins/countdown.py and nowhere else: adding it
edited no other file, in ivr/ or in tests/. ivr meets it only as it meets any third-party
node type: these tests install a distribution (``ivr-countdown 1.0``, its metadata written into a
temporary folder on ``sys.path``) whose ``ivr.nodes`` entry point names the fixture's class,
and every ``ivr`` command below finds it through the node registry's plugin loading.
"""

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.nodes import registry
from ivr.store.journal import CallFilter
from ivr.store.sqlite import SqliteJournal

PLUGINS = Path(__file__).parent / "plugins"

LAUNCH = """\
flow: launch
language: en
start: welcome
nodes:
  welcome:
    type: play
    prompt: "Mission control."
    next: count
  count:
    type: countdown
    from: 3
    then: "Lift off!"
    next: goodbye
    on_key: abort
  abort:
    type: hangup
    prompt: "Launch aborted."
  goodbye:
    type: hangup
    prompt: "Goodbye."
"""

SCENARIOS = """\
flow: launch
cases:
  - name: the caller hears three, two, one and lift off
    steps:
      - hear: "Mission control"
      - hear: "three"
      - hear: "two"
      - hear: "one"
      - hear: "Lift off"
    expect:
      path: [welcome, count, goodbye]
      outcome: completed
  - name: a key during the countdown aborts the launch
    steps:
      - hear: "two"
      - press: "5"
      - hear: "Launch aborted"
    expect:
      path: [welcome, count, abort]
"""


@pytest.fixture
def countdown_installed(tmp_path, monkeypatch):
    """The countdown plugin installed as a distribution with an ``ivr.nodes`` entry point."""
    dist = tmp_path / "site" / "ivr_countdown-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ivr-countdown\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ivr.nodes]\ncountdown = countdown:NODE\n")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    # The process-wide registry was loaded before the plugin was installed: load it afresh.
    monkeypatch.setattr(registry, "_default", None)


@pytest.fixture
def launch(tmp_path, countdown_installed):
    """A project folder whose flow counts down, with its scenarios beside it."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "launch.yaml").write_text(LAUNCH)
    (flows / "launch.test.yaml").write_text(SCENARIOS)
    return flows


def test_the_countdown_is_registered_from_its_entry_point_naming_its_distribution(
    countdown_installed,
):
    found = registry.default_registry()
    assert found.get("countdown").summary == "Count down aloud, then go on"
    assert found.origin("countdown") == "plugin ivr-countdown 1.0"
    assert found.problems == []


def test_a_flow_with_a_countdown_validates(launch, capsys):
    assert main(["validate", str(launch)]) == 0
    assert "error" not in capsys.readouterr().err


def test_a_misspelt_countdown_option_is_reported_at_its_line_and_column_with_a_suggestion(
    launch, capsys
):
    flow = launch / "launch.yaml"
    flow.write_text(
        LAUNCH.replace("    from: 3", "    form: 3").replace("then:", "say_as: digit\n    then:")
    )
    assert main(["validate", str(launch)]) == 1
    out = capsys.readouterr().out
    assert f"{flow}:11:5: error: unknown key 'form'; did you mean 'from'?" in out
    assert "        form: 3\n        ^\n" in out
    assert (
        f"{flow}:12:13: error: 'digit' is not one of: number, digits; did you mean 'digits'?" in out
    )
    assert "2 error(s)" in out


def test_ivr_graph_draws_the_countdown_with_its_edges_and_what_it_counts(launch, capsys):
    assert main(["graph", str(launch / "launch.yaml")]) == 0
    out = capsys.readouterr().out
    assert 'n_count["count<br/><i>countdown</i><br/>counts down from 3<br/>Lift off!"]' in out
    assert 'n_count -->|"next"| n_goodbye' in out
    assert 'n_count -->|"key"| n_abort' in out
    assert main(["graph", str(launch / "launch.yaml"), "--format", "dot"]) == 0
    assert '"count" -> "abort" [label="key"];' in capsys.readouterr().out


def test_ivr_prompts_build_renders_the_countdowns_numbers_so_its_calls_render_nothing(
    launch, tmp_path, capsys
):
    cache = tmp_path / "cache"
    assert main(["prompts", "build", str(launch), "--prompt-cache", str(cache)]) == 0
    texts = {p.read_text(encoding="utf-8") for p in cache.rglob("*.txt")}
    assert {"three", "two", "one", "Lift off!"} <= texts
    before = sorted(cache.rglob("*"))
    # The calls through the controller play from the cache: everything they say is there.
    assert main(["test", "--via-esl", str(launch), "--prompt-cache", str(cache)]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
    assert sorted(cache.rglob("*")) == before


def test_scenarios_through_the_countdown_pass_and_the_journal_keeps_how_far_it_counted(
    launch, tmp_path, capsys
):
    journal_path = tmp_path / "journal.sqlite"
    assert main(["test", str(launch), "--journal", str(journal_path)]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
    journal = SqliteJournal(journal_path)
    try:
        visits = [
            next(v for v in entry.record.visits if v.node == "count")
            for entry in journal.entries(CallFilter())
        ]
    finally:
        journal.close()
    notes = sorted((v.result, v.notes) for v in visits)
    assert notes == [
        ("key", {"counted": "3 2", "stopped_by": "5"}),
        ("next", {"counted": "3 2 1"}),
    ]
