"""Identity checks: the authenticate node (account, PIN, attempts, lockout) and input's confirm."""

import datetime as dt
import logging
import sqlite3

import pytest
from flowkit import build, call, hear, press, said, wait

from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel

START = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)

SIGN_IN = """
flow: t
start: sign_in
data:
  accounts:
    sqlite:
      file: bank.sqlite
      query: "SELECT account, name FROM accounts WHERE account = :key AND pin = :pin"
nodes:
  sign_in:
    type: authenticate
    source: accounts
    account_prompt: "Account number?"
    pin_prompt: "PIN?"
    invalid_prompt: "No match."
    locked_prompt: "Locked."
    account_digits: {min: 4, max: 4}
    attempts: 3
    lockout: {after: 3, within: 1h}
    save_as: customer
    next: welcome
    on_fail: operator
    locked: operator
    on_error: sorry
  welcome: {type: hangup, prompt: "Hello {{ customer.name }}."}
  operator: {type: hangup, prompt: "Operator."}
  sorry: {type: hangup, prompt: "Sorry."}
"""


def bank(tmp_path):
    conn = sqlite3.connect(tmp_path / "bank.sqlite")
    conn.executescript(
        "CREATE TABLE accounts (account TEXT, name TEXT, pin TEXT, pin_code TEXT);"
        "INSERT INTO accounts VALUES ('1234', 'Ann', '2468', '2468');"
        "INSERT INTO accounts VALUES ('5678', 'Bob', '1357', '1357');"
    )
    conn.commit()
    conn.close()
    return build(tmp_path, SIGN_IN)


def place(project, services, *keys, caller="+15550001111", at=START):
    """One call sharing ``services`` (and so the lockout ledger) with the others."""
    steps = [press(k) for k in keys] + [wait(30)]
    channel = MemoryChannel(CallInfo("c", caller, "", ""), start=at, steps=steps)
    record = Call(services, project.flows["t"], channel).run()
    return record, [e.text[6:] for e in channel.transcript if e.text.startswith("says: ")]


def test_the_right_account_and_pin_sign_the_caller_in(tmp_path):
    result = call(bank(tmp_path), press("1234#"), press("2468#"), hear("Hello Ann"))
    assert result.passed, result.report()
    assert result.record.path == ["sign_in", "welcome"]
    assert result.record.lookups == [("sign_in", "accounts", "accepted")]


def test_a_wrong_pin_is_refused_and_the_caller_tries_again(tmp_path):
    result = call(
        bank(tmp_path),
        press("1234#"),
        press("1111#"),
        hear("No match"),
        press("1234#"),
        press("2468#"),
        hear("Hello Ann"),
    )
    assert result.passed, result.report()
    assert result.record.lookups == [
        ("sign_in", "accounts", "refused"),
        ("sign_in", "accounts", "accepted"),
    ]


def test_the_pin_is_masked_in_the_journal_and_never_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    result = call(bank(tmp_path), press("1234#"), press("9753#"), press("1234#"), press("2468#"))
    assert ("sign_in", "pin", "****") in result.record.inputs
    assert ("sign_in", "account", "1234") in result.record.inputs
    assert "2468" not in repr(result.record) and "9753" not in repr(result.record)
    assert not [r for r in caplog.records if "2468" in r.getMessage() or "9753" in r.getMessage()]


def test_three_wrong_pins_lock_the_account_out(tmp_path):
    result = call(
        bank(tmp_path), *[press(k) for k in ("1234#", "1111#", "1234#", "2222#", "1234#", "3333#")]
    )
    assert said(result)[-2:] == ["Locked.", "Operator."]
    assert result.record.visits[0].result == "locked"


def test_a_locked_account_stays_locked_for_other_callers_within_the_window(tmp_path):
    project = bank(tmp_path)
    services = CallServices(project)
    for caller in ("+1001", "+1002", "+1003"):
        record, _ = place(project, services, "1234#", "0000#", caller=caller)
        assert record.lookups[0] == ("sign_in", "accounts", "refused")
    record, heard = place(project, services, "1234#", "2468#", caller="+1004")
    assert heard[-2:] == ["Locked.", "Operator."]
    later = START + dt.timedelta(hours=1, minutes=1)
    record, heard = place(project, services, "1234#", "2468#", caller="+1004", at=later)
    assert heard[-1] == "Hello Ann."


def test_a_caller_failing_on_many_accounts_is_locked_out_at_once_on_the_next_call(tmp_path):
    project = bank(tmp_path)
    services = CallServices(project)
    place(project, services, "1234#", "0000#", "5678#", "0000#", "4321#", "0000#")
    record, heard = place(project, services, "5678#", "1357#")
    assert heard == ["Locked.", "Operator."]
    record, heard = place(project, services, "5678#", "1357#", caller="+1999")
    assert heard[-1] == "Hello Bob."


def test_signing_in_clears_earlier_failures(tmp_path):
    project = bank(tmp_path)
    services = CallServices(project)
    place(project, services, "1234#", "0000#", "1234#", "0000#", "1234#", "2468#")
    record, heard = place(project, services, "1234#", "0000#", "1234#", "0000#", "1234#", "2468#")
    assert heard[-1] == "Hello Ann."


def test_running_out_of_attempts_without_wrong_pins_goes_to_on_fail(tmp_path):
    result = call(bank(tmp_path), wait(60))
    assert result.record.visits[0].result == "fail"
    assert said(result).count("No match.") == 3


def test_the_node_can_compare_a_pin_field_of_the_record_itself(tmp_path):
    bank(tmp_path)
    flow = (
        SIGN_IN.replace("name FROM accounts", "name, pin_code FROM accounts")
        .replace("AND pin = :pin", "")
        .replace("    save_as: customer\n", "    save_as: customer\n    pin_field: pin_code\n")
        .replace("Hello {{ customer.name }}.", "Saved {{ customer.keys() | sort | join(' ') }}.")
    )
    project = build(tmp_path, flow)
    good = call(project, press("1234#"), press("2468#"))
    assert said(good)[-1] == "Saved account name."
    assert good.record.lookups == [("sign_in", "accounts", "accepted")]
    bad = call(project, press("1234#"), press("2469#"))
    assert bad.record.lookups[0] == ("sign_in", "accounts", "refused")


def test_a_source_failure_takes_the_error_edge(tmp_path):
    project = bank(tmp_path)
    (tmp_path / "bank.sqlite").unlink()
    result = call(project, press("1234#"), press("2468#"))
    assert said(result)[-1] == "Sorry."
    assert result.record.lookups == [("sign_in", "accounts", "error")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("AND pin = :pin", ""), "say who checks the PIN"),
        (("    save_as: customer\n", "    save_as: customer\n    pin_field: pin\n"), "not both"),
        (("WHERE account = :key AND", "WHERE"), "does not look accounts up by {{ key }}"),
        (("    locked: operator\n", ""), "missing required edge 'locked'"),
        (
            ("lockout: {after: 3, within: 1h}", "lockout: {after: 3, within: 1 hour}"),
            "bad duration",
        ),
        (("account_digits: {min: 4, max: 4}", "account_digits: {min: 5, max: 4}"), "min 5 is more"),
    ],
)
def test_authenticate_mistakes_are_reported(tmp_path, change, message):
    bank(tmp_path)
    (tmp_path / "flow.yaml").write_text(SIGN_IN.replace(*change))
    from ivr.project import load_project

    project = load_project(tmp_path)
    assert any(message in d.message for d in project.diag.errors), project.diag.errors


# ----------------------------------------------------------------- confirm on input

CONFIRM = """
flow: t
start: ask
nodes:
  ask:
    type: input
    prompt: "Account number?"
    digits: {{min: 4, max: 4}}
    save_as: account
    attempts: 2
    confirm: {confirm}
    next: done
    on_fail: failed
  done: {{type: hangup, prompt: "Thanks {{{{ account }}}}."}}
  failed: {{type: hangup, prompt: "Goodbye."}}
"""


def test_confirm_reads_the_entry_back_and_a_1_accepts_it(tmp_path):
    project = build(tmp_path, CONFIRM.format(confirm="true"))
    result = call(
        project,
        press("1234#"),
        hear("You entered one two three four if that is right, press 1"),
        press("1"),
    )
    assert result.passed, result.report()
    assert said(result)[1:] == [
        "You entered",
        "one two three four",
        "If that is right, press 1. To enter it again, press 2.",
        "Thanks 1234.",
    ]


def test_any_other_key_enters_it_again_and_uses_an_attempt(tmp_path):
    project = build(tmp_path, CONFIRM.format(confirm="true"))
    result = call(project, press("1234#"), press("2"), press("5678#"), press("1"))
    assert said(result)[-1] == "Thanks 5678."
    assert result.record.inputs == [("ask", "account", "5678")]
    failed = call(project, press("1234#"), press("2"), press("5678#"), press("9"))
    assert said(failed)[-1] == "Goodbye."


def test_confirm_takes_its_own_prompt_and_key(tmp_path):
    confirm = (
        '{prompt: ["Is", {say: digits, value: "{{ account }}"}, "right? Press hash."], yes: "#"}'
    )
    project = build(tmp_path, CONFIRM.format(confirm=confirm))
    result = call(project, press("4321#"), hear("Is four three two one right"), press("#"))
    assert result.passed, result.report()
    assert said(result)[-1] == "Thanks 4321."


def test_confirm_is_refused_on_a_sensitive_entry(tmp_path):
    (tmp_path / "flow.yaml").write_text(
        CONFIRM.format(confirm="true").replace("attempts: 2", "attempts: 2\n    sensitive: true")
    )
    from ivr.project import load_project

    project = load_project(tmp_path)
    assert [(d.mark.line, d.message) for d in project.diag.errors] == [
        (12, "confirm would read a sensitive entry (a PIN) aloud: remove one of them")
    ]


def test_confirm_options_are_checked_with_positions(tmp_path):
    (tmp_path / "flow.yaml").write_text(CONFIRM.format(confirm="{yes: 12, wait: 5s}"))
    from ivr.project import load_project

    project = load_project(tmp_path)
    assert [f"{d.mark.line}:{d.mark.col}: {d.message}" for d in project.diag.errors] == [
        "11:20: '12' is not one key",
        "11:24: unknown key 'wait' (allowed here: prompt, yes, timeout)",
    ]
