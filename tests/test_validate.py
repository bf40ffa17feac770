import textwrap
from pathlib import Path

from ivr.cli import main
from ivr.nodes.registry import default_registry

FIXTURES = Path(__file__).parent / "fixtures"


def _validate(capsys, *paths) -> tuple[int, str]:
    code = main(["validate", *map(str, paths)])
    return code, capsys.readouterr().out


def _flow(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_every_mistake_of_a_broken_flow_is_reported_at_once_with_positions(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES.parent.parent)
    code, out = _validate(capsys, "tests/fixtures/bad_bank")
    expected = (FIXTURES / "bad_bank" / "expected.txt").read_text()
    expected = expected.replace("{known_types}", ", ".join(default_registry().names()))
    assert code == 1
    assert out == expected


def test_the_example_flows_are_valid(capsys):
    code, out = _validate(capsys, Path(__file__).parents[1] / "flows")
    assert code == 0
    assert out.endswith("0 error(s), 0 warning(s). All good.\n")


def test_yaml_syntax_error_names_line_and_column(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: a
        nodes:
          a: {type: hangup
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    first, line, caret = out.splitlines()[:3]
    # The file ends inside the braces: the error points at the one left open.
    assert first.startswith(f"{path}:4:6: error: YAML syntax error: expected ',' or '}}'")
    assert (line, caret) == ("      a: {type: hangup", "         ^")


def test_an_unclosed_quote_points_at_where_it_opens_with_a_caret(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: a
        nodes:
          a:
            type: hangup
            prompt: "Goodbye
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert out.splitlines()[:3] == [
        f"{path}:6:13: error: YAML syntax error: found unexpected end of the file "
        "(while scanning a quoted scalar)",
        '        prompt: "Goodbye',
        "                ^",
    ]


def test_duplicate_keys_are_reported(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: a
        nodes:
          a: {type: hangup}
          a: {type: hangup}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert f"{path}:5:3: error: duplicate key 'a' (first defined at line 4)" in out


def test_a_menu_with_one_choice_is_a_warning_that_does_not_fail(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: m
        nodes:
          m:
            type: menu
            prompt: "Press 1."
            choices: {1: bye}
            on_fail: bye
          bye: {type: hangup}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 0
    assert f"{path}:7:14: warning: menu 'm' has only one choice" in out
    assert out.endswith("0 error(s), 1 warning(s)\n")


def test_an_edge_to_a_missing_node_suggests_the_likely_one(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: welcome
        nodes:
          welcome: {type: play, prompt: Hi, next: goodby}
          goodbye: {type: hangup}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert (
        f"{path}:4:43: error: edge 'next' goes to 'goodby', which is not a node of this "
        "flow; did you mean 'goodbye'?"
    ) in out


def test_a_loop_callers_can_never_leave_is_refused(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: a
        nodes:
          a: {type: play, prompt: One, next: b}
          b: {type: play, prompt: Two, next: a}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert f"{path}:4:3: error: callers who reach 'a' can never leave" in out
    assert f"{path}:5:3: error: callers who reach 'b' can never leave" in out


def test_variables_from_save_as_and_vars_are_known_and_typos_are_not(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: ask
        vars: {greeting: Hello}
        nodes:
          ask:
            type: input
            prompt: "{{ greeting }}, enter a number."
            save_as: number
            next: say
            on_fail: bye
          say: {type: play, prompt: "You entered {{ numbr }} for {{ caller }}.", next: bye}
          bye: {type: hangup, prompt: "{{ number }} {{ now.year }}"}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert "unknown variable 'numbr' in template; did you mean 'number'?" in out
    assert out.count("error:") == 1


def test_template_syntax_errors_are_reported(tmp_path, capsys):
    path = _flow(
        tmp_path,
        """
        flow: f
        start: a
        nodes:
          a: {type: hangup, prompt: "Hello {{ caller | nosuchfilter }}"}
    """,
    )
    code, out = _validate(capsys, path)
    assert code == 1
    assert f"{path}:4:29: error: template error: No filter named 'nosuchfilter'." in out


def test_duplicate_flow_ids_are_refused(tmp_path, capsys):
    _flow(tmp_path, "flow: same\nstart: a\nnodes: {a: {type: hangup}}\n", "one.yaml")
    two = _flow(tmp_path, "flow: same\nstart: a\nnodes: {a: {type: hangup}}\n", "two.yaml")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert (
        f"{two}:1:7: error: duplicate flow id 'same' (also defined at {tmp_path}/one.yaml:1:7)"
        in out
    )


def test_a_tenant_naming_a_missing_flow_is_refused(tmp_path, capsys):
    _flow(tmp_path, "flow: f\nstart: a\nnodes: {a: {type: hangup}}\n")
    (tmp_path / "tenants.yaml").write_text(
        "tenants:\n  acme: {name: Acme, numbers: ['1800'], flow: g}\n"
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert (
        f"{tmp_path}/tenants.yaml:2:47: error: tenant 'acme' uses flow 'g', which is not "
        "loaded\n" in out
    )


def test_schedule_mistakes_name_the_time_zone_and_hours(tmp_path, capsys):
    _flow(tmp_path, "flow: f\nstart: a\nnodes: {a: {type: hangup}}\n")
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n  s: {timezone: Mars/Olympus, weekly: {mon: '9-5', funday: closed}}\n"
    )
    code, out = _validate(capsys, tmp_path)
    assert "unknown time zone 'Mars/Olympus'" in out
    assert "bad opening hours '9-5': expected \"HH:MM-HH:MM\" or closed" in out
    assert "'funday' is not a day or day range" in out


def test_a_missing_path_is_a_usage_error(capsys):
    assert main(["validate", "no/such/folder"]) == 2
    assert "no/such/folder: no such file or folder" in capsys.readouterr().err
