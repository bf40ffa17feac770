"""The ``ivr`` command as a new user meets it: version, global options, mistakes, ``ivr init``."""

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from ivr.bundled import BUNDLED, bundled
from ivr.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    """The demo renders into the user's cache: a fresh one per test, never the real home."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exits: --version, --help, usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_ivr_version_prints_the_installed_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out == f"ivr {version('ivr')}\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "validate", REPO / "flows"],
        ["validate", "-v", REPO / "flows"],
        ["validate", REPO / "flows", "--verbose"],
    ],
)
def test_the_verbose_flag_is_taken_before_or_after_the_command(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out.endswith("All good.\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "flows", "--listen", "127.0.0.1:99999"], "port 99999 is not between 0 and"),
        (["serve", "flows", "--metrics", "127.0.0.1:70000"], "port 70000 is not between 0 and"),
        (["graph", REPO / "flows"], "is a folder: name one flow file, e.g. "),
        (["graph", "nowhere.yaml"], "nowhere.yaml: no such file"),
        (["graph", REPO / "flows" / "queues.yaml"], "queues.yaml is a config file, not a flow: "),
        (
            ["graph", REPO / "flows" / "acme_bank.test.yaml"],
            "acme_bank.test.yaml is a scenario file, not a flow: name a flow file, e.g. ",
        ),
        (["validate", "nowhere"], "nowhere: no such file or folder"),
        (
            ["validate", REPO / "flows" / "data" / "orders.csv"],
            "orders.csv: a data file, checked with the flows whose data sources name it: "
            "ivr validate ",
        ),
        (
            ["validate", REPO / "flows" / "data" / "card_service.yaml"],
            "card_service.yaml: a data file, checked with the flows whose data sources name it",
        ),
        (["validate", REPO / "README.md"], "README.md: not a flow, scenario or config file (YAML)"),
        (["test", "nowhere"], "nowhere: no such file or folder"),
        (["demo", "nowhere"], "nowhere: no such folder"),
        (["test", "flows", "--max-wait", "5x"], "'5x' is not a duration, e.g. 90s or 15m"),
        (["test", REPO / "flows", "--max-wait", "5m"], "--max-wait needs --via-freeswitch"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
        (["init"], "the following arguments are required: DIR"),
    ],
)
def test_a_command_line_mistake_is_one_line_and_exit_code_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert message in err
    assert "Traceback" not in err


def test_a_starter_project_validates_tests_and_demos_as_it_stands(tmp_path, capsys, monkeypatch):
    project = tmp_path / "p"
    code, out, _ = run(capsys, "init", project)
    assert code == 0
    assert (
        out.splitlines()[-1]
        == f"next: cd {project} && ivr validate . && ivr test . && ivr demo --keys 0"
    )
    written = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    for expected in (
        "flows/main.yaml",
        "flows/main.test.yaml",
        "flows/queues.yaml",
        "flows/agents.yaml",
        "flows/schedules.yaml",
        "flows/tenants.yaml",
        "freeswitch_conf/dialplan/default/00_ivr_controller.xml",
        "sounds/music/8000/ivr-hold.wav",
        "flow.schema.json",
    ):
        assert expected in written
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "validate", ".")
    assert (code, out) == (0, "2 file(s) checked: 0 error(s), 0 warning(s). All good.\n")
    code, out, _ = run(capsys, "test", ".")
    assert code == 0
    assert out.splitlines()[-1] == "5 passed, 0 failed"
    code, out, _ = run(capsys, "demo", "--keys", "0", "--at", "2026-11-23T10:00:00+00:00")
    assert code == 0
    assert out.startswith("Calling 18005550100 from +15550001111: flow main, Example Company")
    assert "outcome: answered" in out


def test_ivr_init_refuses_a_folder_that_holds_anything_and_leaves_it_alone(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = run(capsys, "init", tmp_path)
    assert code == 2
    assert err == (
        f"ivr: {tmp_path} is not empty: ivr init writes a new project into a new or empty "
        "folder and never overwrites files\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_ivr_init_refuses_a_file(tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("")
    code, _, err = run(capsys, "init", path)
    assert (code, err) == (2, f"ivr: {path} is a file: name a new or empty folder\n")


def test_the_demo_without_a_folder_calls_the_examples_that_came_with_ivr(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no flows/ here
    code, out, _ = run(capsys, "demo", "--keys", "9", "--at", "2026-11-22T10:00:00+02:00")
    assert code == 0
    assert out.startswith("Calling 18005550100 from +15550001111: flow acme_bank, Acme Bank")


def test_the_wav_files_the_demo_names_are_still_there_after_it(tmp_path, capsys, user_cache):
    code, out, _ = run(capsys, "demo", REPO / "flows", "--keys", "9")
    assert code == 0
    named = re.findall(r"\[file (.+?\.wav)\]", out)
    assert named
    assert all(Path(p).is_file() and Path(p).is_relative_to(user_cache) for p in named)


def test_a_project_folder_stands_for_its_flows(capsys):
    code, out, _ = run(capsys, "validate", REPO)
    assert code == 0
    assert out == run(capsys, "validate", REPO / "flows")[1]


@pytest.mark.parametrize("name", BUNDLED)
def test_the_bundled_folders_are_found_from_a_checkout(name):
    assert bundled(name) == REPO / name


def test_ivr_test_k_runs_only_the_cases_whose_name_holds_the_text(capsys):
    scenario = REPO / "flows" / "acme_bank.test.yaml"
    code, out, _ = run(capsys, "test", "-k", "WRONG pin", scenario)
    assert code == 0
    ran = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL", "SKIP"))]
    assert ran and all("wrong PIN" in line for line in ran)
    others = scenario.read_text().count("\n  - name: ") - len(ran)
    assert out.splitlines()[-1].endswith(f"{len(ran)} passed, 0 failed, {others} deselected")


def test_ivr_test_k_that_matches_no_case_fails_saying_so(capsys):
    code, _, err = run(capsys, "test", "--case", "no such case", REPO / "flows")
    assert code == 1
    assert "no case's name holds 'no such case'" in err
