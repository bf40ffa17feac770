"""``ivr validate`` on flow folders made to hurt it: each input ends in one clear message.

A folder of flows may come from anyone (a pull request, an upload). Whatever it holds, validating
it must finish quickly, in bounded memory, and say what is wrong and where, as ``FILE:LINE:COL``
or ``FILE`` for what is wrong with a file as a whole; never a traceback, never a hang.
"""

from __future__ import annotations

import os
import threading
import types
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.flow.source import MAX_ALIAS_VALUES, MAX_FILE_BYTES, MAX_NESTING
from ivr.project import load_project

HANGUP = "flow: {id}\nstart: bye\nnodes:\n  bye: {{type: hangup}}\n"


def _validate(capsys, path: Path) -> tuple[int, list[str]]:
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out.splitlines()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _error_lines(out: list[str]) -> list[str]:
    return [line for line in out if ": error: " in line]


def test_a_fifo_named_like_a_flow_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    done = types.SimpleNamespace(result=None)

    def validate() -> None:
        done.result = _validate(capsys, tmp_path)

    worker = threading.Thread(target=validate, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():
        # Opening the FIFO for writing lets the stuck reader see an end of file and finish.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
        pytest.fail("ivr validate opened the FIFO and waited for a writer")
    code, out = done.result
    assert code == 1
    assert f"{fifo}: error: not a regular file" in out


@pytest.mark.parametrize("command", ["validate", "test"])
def test_a_fifo_named_on_the_command_line_is_refused_as_not_a_regular_file(
    command, tmp_path, capsys
):
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    assert main([command, str(fifo)]) == 2
    assert f"{fifo}: not a regular file (a FIFO, a device or a socket)" in capsys.readouterr().err


def test_a_flow_that_is_a_link_to_dev_zero_is_refused_unread(tmp_path, capsys):
    (tmp_path / "x.yaml").symlink_to("/dev/zero")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert f"{tmp_path / 'x.yaml'}: error: not a regular file" in out


def test_a_50_mb_flow_file_is_refused_by_its_size_before_it_is_read(tmp_path, capsys):
    big = tmp_path / "x.yaml"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: no disk used, but stat says 50 MB
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert f"{big}: error: 50.0 MB is over the 2 MB limit for a flow file" in out


def test_a_flow_of_exactly_the_size_limit_is_still_read(tmp_path, capsys):
    text = HANGUP.format(id="padded")
    _write(tmp_path, "padded.yaml", text + "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n")
    code, out = _validate(capsys, tmp_path)
    assert (code, out[-1]) == (0, "1 file(s) checked: 0 error(s), 0 warning(s). All good.")


def test_a_data_table_that_is_a_fifo_is_refused_where_the_flow_names_it(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / "data" / "t.csv")
    path = _write(
        tmp_path,
        "d.yaml",
        "flow: d\nstart: bye\ndata: {t: {csv: data/t.csv, key: k}}\nnodes:\n"
        "  bye: {type: hangup}\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    fifo = tmp_path / "data" / "t.csv"
    assert out[0] == f"{path}:3:17: error: cannot read {fifo}: not a regular file"


def test_folder_links_to_the_folder_itself_or_its_parent_end_the_walk(tmp_path, capsys):
    flows = tmp_path / "flows"
    flows.mkdir()
    _write(flows, "ok.yaml", HANGUP.format(id="ok"))
    (flows / "parent").symlink_to("..")
    (flows / "again.yaml").symlink_to(".")
    (flows / "again.test.yaml").symlink_to(".")
    code, out = _validate(capsys, flows)
    assert code == 1
    assert _error_lines(out) == [
        f"{flows / 'again.test.yaml'}: error: not a regular file",
        f"{flows / 'again.yaml'}: error: not a regular file",
    ]


def _laughs(levels: int) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        before, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{before}"] * 9) + "]")
    return "flow: laughs\nstart: bye\nnodes: {bye: {type: hangup}}\nvars:\n  " + "\n  ".join(lines)


def test_billion_laughs_is_stopped_at_the_alias_that_goes_over_the_limit(tmp_path, capsys):
    path = _write(tmp_path, "laughs.yaml", _laughs(9) + "\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    # Aliases bring 74,718 values into 'b' to 'e', and each *e brings 66,430 more: the first *e
    # of 'f' takes the document over the limit.
    assert out[:3] == [
        f"{path}:10:10: error: this alias takes the document over {MAX_ALIAS_VALUES} values "
        "brought in by aliases (anchors that repeat each other multiply)",
        "      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
        "             ^",
    ]


def test_a_few_aliases_of_a_shared_prompt_are_fine(tmp_path, capsys):
    _write(
        tmp_path,
        "shared.yaml",
        "flow: shared\nstart: one\nnodes:\n"
        "  one: {type: play, prompt: &hello 'Hello.', next: two}\n"
        "  two: {type: play, prompt: *hello, next: bye}\n"
        "  bye: {type: hangup, prompt: *hello}\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert (code, out[-1]) == (0, "1 file(s) checked: 0 error(s), 0 warning(s). All good.")


def test_an_alias_inside_its_own_anchor_is_named_not_followed_for_ever(tmp_path, capsys):
    path = _write(tmp_path, "self.yaml", HANGUP.format(id="self") + "vars: &loop {again: *loop}\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[0] == (
        f"{path}:5:21: error: the alias *loop is inside its own anchor &loop, which would make a "
        "value that contains itself"
    )


@pytest.mark.parametrize("levels", [10_000, 100_000])
def test_lists_nested_thousands_deep_in_the_nodes_map_are_refused_at_the_level_too_deep(
    tmp_path, capsys, levels
):
    path = _write(
        tmp_path, "deep.yaml", "flow: deep\nstart: a\nnodes: " + "[" * levels + "]" * levels
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    # The file's own mapping is the first level, so the 64th bracket is one too many.
    column = len("nodes: ") + MAX_NESTING
    assert out[0] == f"{path}:3:{column}: error: nested deeper than {MAX_NESTING} levels"
    assert out[1].startswith("    ...[[[[") and out[1].endswith("[[[...")
    assert out[2].index("^") == out[1].index("[") + 60


@pytest.mark.parametrize("levels", [10_000, 100_000])
def test_mappings_nested_thousands_deep_in_any_value_are_refused(tmp_path, capsys, levels):
    path = _write(
        tmp_path,
        "deep.yaml",
        HANGUP.format(id="deep") + "vars: " + "{a: " * levels + "1" + "}" * levels + "\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    column = len("vars: ") + (MAX_NESTING - 1) * len("{a: ") + 1
    assert out[0] == f"{path}:5:{column}: error: nested deeper than {MAX_NESTING} levels"


def test_nesting_built_from_chained_aliases_is_refused_at_the_alias(tmp_path, capsys):
    lines = ["  l0: &l0 " + "[" * 40 + "]" * 40]
    for i in range(1, 4):
        lines.append(f"  l{i}: &l{i} " + "[" * 40 + f"*l{i - 1}" + "]" * 40)
    path = _write(tmp_path, "chain.yaml", HANGUP.format(id="chain") + "vars:\n" + "\n".join(lines))
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[0] == (
        f"{path}:7:{len('  l1: &l1 ') + 41}: error: nested deeper than {MAX_NESTING} levels "
        "(with what aliases bring in)"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object/apply:os.system ['echo owned']", "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!foo bar", "!foo"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!<tag:example.com,2026:thing> x", "tag:example.com,2026:thing"),
    ],
)
def test_a_tag_other_than_str_seq_or_map_is_named_where_it_stands(tmp_path, capsys, value, shown):
    path = _write(tmp_path, "tag.yaml", HANGUP.format(id="tag") + f"vars: {{cmd: {value}}}\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[:3] == [
        f"{path}:5:13: error: the tag '{shown}' is not allowed: a flow holds text, numbers, "
        "lists and mappings (only !!str, !!seq and !!map may be written)",
        f"    vars: {{cmd: {value}}}",
        "                ^",
    ]


def test_a_core_tag_on_the_wrong_kind_of_value_is_refused(tmp_path, capsys):
    path = _write(tmp_path, "tag.yaml", HANGUP.format(id="tag") + "vars: {cmd: !!seq text}\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[0] == f"{path}:5:13: error: the tag '!!seq' does not fit this value"


def test_str_tag_keeps_a_number_as_the_text_written(tmp_path):
    _write(tmp_path, "tag.yaml", HANGUP.format(id="tag") + "vars: {account: !!str 42, n: 42}\n")
    project = load_project(tmp_path)
    assert project.ok
    assert project.flows["tag"].vars == {"account": "42", "n": 42}


@pytest.mark.parametrize("text", ["", "\n\n", "# a flow, one day\n# not yet\n", "---\n", "~\n"])
def test_an_empty_flow_file_is_an_error_naming_the_file(tmp_path, capsys, text):
    path = _write(tmp_path, "x.yaml", text)
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}: error: empty flow file"]


def test_an_empty_scenario_file_is_an_error_naming_the_file(tmp_path, capsys):
    _write(tmp_path, "ok.yaml", HANGUP.format(id="ok"))
    path = _write(tmp_path, "ok.test.yaml", "# cases to come\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}: error: empty scenario file"]


def test_an_empty_queues_file_means_no_queues_not_a_mistake(tmp_path, capsys):
    _write(tmp_path, "ok.yaml", HANGUP.format(id="ok"))
    _write(tmp_path, "queues.yaml", "# no queues yet\n")
    _write(tmp_path, "agents.yaml", "")
    code, out = _validate(capsys, tmp_path)
    assert (code, out[-1]) == (0, "1 file(s) checked: 0 error(s), 0 warning(s). All good.")


def _caller(flow: str, calls: str, end: str = "bye: {type: hangup}") -> str:
    return (
        f"flow: {flow}\nstart: call\nnodes:\n"
        f"  call: {{type: subflow, flow: {calls}, next: bye}}\n  {end}\n"
    )


def test_two_flows_calling_each_other_as_subflows_are_named_as_a_ring(tmp_path, capsys):
    _write(tmp_path, "a.yaml", _caller("a", "b"))
    b = _write(tmp_path, "b.yaml", _caller("b", "a", end="bye: {type: return}"))
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[:3] == [
        f"{b}:4:31: error: flows call each other as subflows in a ring: a -> b -> a "
        "(a call would start one inside the other without end)",
        "      call: {type: subflow, flow: a, next: bye}",
        "                                  ^",
    ]
    assert len(_error_lines(out)) == 1


def test_a_ring_of_three_subflows_is_reported_once(tmp_path, capsys):
    _write(tmp_path, "a.yaml", _caller("a", "b"))
    _write(tmp_path, "b.yaml", _caller("b", "c", end="bye: {type: return}"))
    c = _write(tmp_path, "c.yaml", _caller("c", "a", end="bye: {type: return}"))
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [
        f"{c}:4:31: error: flows call each other as subflows in a ring: a -> b -> c -> a "
        "(a call would start one inside the other without end)"
    ]


def test_a_flow_calling_itself_as_a_subflow_is_an_error_at_the_reference(tmp_path, capsys):
    path = _write(tmp_path, "a.yaml", _caller("a", "a"))
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}:4:31: error: a flow cannot call itself as a subflow"]


def test_two_flows_sharing_one_subflow_are_no_ring(tmp_path, capsys):
    _write(tmp_path, "a.yaml", _caller("a", "shared"))
    _write(tmp_path, "b.yaml", _caller("b", "shared"))
    _write(tmp_path, "shared.yaml", "flow: shared\nstart: back\nnodes:\n  back: {type: return}\n")
    code, out = _validate(capsys, tmp_path)
    assert (code, out[-1]) == (0, "3 file(s) checked: 0 error(s), 0 warning(s). All good.")


def test_bytes_that_are_not_utf8_are_reported_at_their_line_and_column(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_bytes(HANGUP.format(id="x").encode() + b"vars: {name: caf\xe9}\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[0] == f"{path}:5:17: error: not UTF-8 text: byte 0xe9"


def test_a_control_character_is_reported_at_its_line_and_column(tmp_path, capsys):
    path = _write(tmp_path, "x.yaml", HANGUP.format(id="x") + "vars: {name: 'a\x07b'}\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert out[0] == (
        f"{path}:5:16: error: YAML syntax error: the character U+0007 may not be in a YAML file"
    )


def test_a_case_with_an_empty_expect_is_an_error_at_it_not_a_crash(tmp_path, capsys):
    # Found by tests/test_fuzz_flows.py: a value that failed its check went on as a placeholder.
    _write(tmp_path, "ok.yaml", HANGUP.format(id="ok"))
    path = _write(
        tmp_path,
        "ok.test.yaml",
        "flow: ok\ncases:\n  - name: hangs up\n    expect:\n    steps: [{hangup: true}]\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}:4:12: error: expected a mapping, got nothing"]


def test_a_language_node_without_its_language_is_an_error_not_a_crash(tmp_path, capsys):
    # Found by tests/test_fuzz_flows.py: a node short of a required key still had its checks run.
    path = _write(
        tmp_path,
        "ok.yaml",
        "flow: ok\nlanguage: en\nstart: switch\nnodes:\n"
        "  switch: {type: language, lang: en, next: bye}\n  bye: {type: hangup}\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out)[0] == (
        f"{path}:5:11: error: missing required key 'language' (the language code, e.g. ru)"
    )


def test_a_branch_case_without_its_condition_is_an_error_not_a_crash(tmp_path, capsys):
    # Found by tests/test_fuzz_flows.py: `0hen:` for `when:` left a case without its condition.
    path = _write(
        tmp_path,
        "ok.yaml",
        "flow: ok\nstart: pick\nnodes:\n"
        "  pick: {type: branch, cases: [{0hen: 'true', goto: bye}], default: bye}\n"
        "  bye: {type: hangup}\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert [line.split(": error: ")[1].split(" (")[0] for line in _error_lines(out)] == [
        "missing required key 'when'",
        "unknown key '0hen'; did you mean 'when'?",
    ]
    assert _error_lines(out)[0].startswith(f"{path}:4:32: ")


def test_a_scenario_agent_set_up_without_a_state_is_an_error_not_a_crash(tmp_path, capsys):
    _write(tmp_path, "ok.yaml", HANGUP.format(id="ok"))
    path = _write(
        tmp_path,
        "ok.test.yaml",
        "flow: ok\ncases:\n  - name: hangs up\n    agents: {1001: {until: 5s}}\n"
        "    steps: [{hangup: true}]\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out)[0].startswith(f"{path}:4:20: error: missing required key 'state'")


def test_a_wrong_value_inside_a_nested_option_is_an_error_not_a_crash(tmp_path, capsys):
    # Found by tests/test_fuzz_flows.py: `min: 0` went on as a placeholder the node compared.
    path = _write(
        tmp_path,
        "ok.yaml",
        "flow: ok\nstart: sign_in\ndata: {accounts: {csv: accounts.csv, key: account}}\n"
        "nodes:\n  sign_in:\n    type: authenticate\n    source: accounts\n"
        "    account_digits: {min: 0, max: 8}\n    account_prompt: Account?\n"
        "    pin_prompt: PIN?\n    save_as: customer\n    next: bye\n    on_fail: bye\n"
        "    locked: bye\n    on_error: bye\n  bye: {type: hangup}\n",
    )
    _write(tmp_path, "accounts.csv", "account,pin\n12345678,1234\n")
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}:8:27: error: 0 is too small: the least allowed is 1"]


def test_a_wrong_default_language_is_an_error_not_a_crash(tmp_path, capsys):
    # Found by tests/test_fuzz_flows.py: `language: 0n` went on as the flow's language.
    path = _write(
        tmp_path,
        "ok.yaml",
        "flow: ok\nlanguage: 0n\nstart: bye\nnodes:\n"
        "  bye: {type: hangup, prompt: [{text: Bye., language: en}]}\n",
    )
    code, out = _validate(capsys, tmp_path)
    assert code == 1
    assert _error_lines(out) == [f"{path}:2:11: error: '0n' is not a language code like en, ru, bg"]
