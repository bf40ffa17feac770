"""Menus and digit entry as a scripted caller experiences them, on the simulated clock."""

import pytest
from flowkit import build, call, hear, press, said


def at(result, text: str) -> float:
    return next(e.at for e in result.transcript if e.text == text)


MENU = """
flow: t
start: m
nodes:
  m:
    type: menu
    prompt: "Main menu."
    retry_prompt: "Press 1 or 2."
    invalid_prompt: "Sorry, that is not an option."
    no_input_prompt: "I did not hear a key."
    choices: {1: one, 2: two}
    timeout: 7s
    attempts: 3
    on_fail: fallback
  one: {type: hangup, prompt: "One."}
  two: {type: hangup, prompt: "Two."}
  fallback: {type: hangup, prompt: "Let me find someone for you."}
"""


@pytest.fixture
def menu(tmp_path):
    return build(tmp_path, MENU)


def test_caller_who_presses_a_wrong_key_hears_the_invalid_prompt_then_the_retry_prompt(menu):
    result = call(menu, press("9"), press("2"))
    assert said(result) == [
        "Main menu.",
        "Sorry, that is not an option.",
        "Press 1 or 2.",
        "Two.",
    ]
    assert result.record.path == ["m", "two"]
    assert result.record.inputs == [("m", "choice", "2")]
    assert result.record.outcome == "completed"


def test_silent_caller_hears_the_no_input_prompt_each_attempt_then_goes_to_on_fail(menu):
    result = call(menu)
    assert said(result) == [
        "Main menu.",
        "I did not hear a key.",
        "Press 1 or 2.",
        "I did not hear a key.",
        "Press 1 or 2.",
        "I did not hear a key.",
        "Let me find someone for you.",
    ]
    assert [e.text for e in result.transcript].count("no key within 7s") == 3
    assert result.record.path == ["m", "fallback"]
    assert result.record.inputs == []


def test_three_wrong_keys_use_up_the_attempts_and_lead_to_on_fail(menu):
    result = call(menu, press("7"), press("8"), press("9"))
    assert said(result).count("Sorry, that is not an option.") == 3
    assert result.record.path == ["m", "fallback"]
    assert result.record.inputs == []


def test_menu_waits_its_own_timeout_for_a_key_on_the_simulated_clock(tmp_path):
    project = build(tmp_path, MENU.replace("timeout: 7s", "timeout: 20s"))
    result = call(project)
    waited = at(result, "no key within 20s") - at(result, "says: Main menu.")
    assert 20.0 <= waited < 21.0  # the prompt itself takes under a second
    assert "no key within 7s" not in [e.text for e in result.transcript]


def test_menu_with_a_seven_second_timeout_gives_up_after_seven_seconds(menu):
    result = call(menu)
    waited = at(result, "no key within 7s") - at(result, "says: Main menu.")
    assert 7.0 <= waited < 8.0


def test_a_key_pressed_on_a_retry_is_accepted(menu):
    result = call(menu, hear("Press 1 or 2"), press("1"))
    assert result.record.path == ["m", "one"]
    assert said(result)[:3] == ["Main menu.", "I did not hear a key.", "Press 1 or 2."]
    assert result.failures == []


SPECIAL_KEYS = """
flow: t
start: m
nodes:
  m:
    type: menu
    prompt: "Menu."
    choices: {1: one, 10: ten, 11: eleven, "*": star, "#": hash}
    digit_timeout: 2s
    attempts: 1
    on_fail: fallback
  one: {type: hangup, prompt: "One."}
  ten: {type: hangup, prompt: "Ten."}
  eleven: {type: hangup, prompt: "Eleven."}
  star: {type: hangup, prompt: "Star."}
  hash: {type: hangup, prompt: "Hash."}
  fallback: {type: hangup, prompt: "Fallback."}
"""


@pytest.mark.parametrize(
    ("keys", "node"),
    [("1", "one"), ("10", "ten"), ("11", "eleven"), ("*", "star"), ("#", "hash")],
)
def test_star_hash_and_two_key_choices_each_lead_to_their_own_node(tmp_path, keys, node):
    result = call(build(tmp_path, SPECIAL_KEYS), press(keys))
    assert result.record.path == ["m", node]
    assert result.record.inputs == [("m", "choice", keys)]


def test_a_one_key_prefix_of_a_two_key_choice_is_decided_after_the_digit_timeout(tmp_path):
    result = call(build(tmp_path, SPECIAL_KEYS), press("1"))
    decided = at(result, "-> one (hangup)") - at(result, "presses 1")
    assert decided >= 2.0
    fast = call(build(tmp_path, SPECIAL_KEYS), press("10"))
    assert at(fast, "-> ten (hangup)") - at(fast, "presses 10") < 1.0


def test_two_key_choice_that_is_not_offered_counts_as_a_wrong_key(tmp_path):
    result = call(build(tmp_path, SPECIAL_KEYS), press("12"))
    assert result.record.path == ["m", "fallback"]
    assert result.record.inputs == []


ACCOUNT = """
flow: t
start: acct
nodes:
  acct:
    type: input
    prompt: "Enter your account number."
    retry_prompt: "Enter the eight digits again."
    invalid_prompt: "That is not an account number."
    no_input_prompt: "I did not get any digits."
    digits: {min: 8, max: 8}
    terminator: "#"
    save_as: account
    attempts: 2
    next: m
    on_fail: fallback
  m:
    type: menu
    prompt: "Press 1 for your balance."
    choices: {1: balance, "#": hash}
    attempts: 1
    on_fail: fallback
  balance: {type: hangup, prompt: "Account {{ account }}."}
  hash: {type: hangup, prompt: "Hash in the menu."}
  fallback: {type: hangup, prompt: "Fallback."}
"""


def test_valid_account_number_lands_in_save_as_and_in_the_journal(tmp_path):
    project = build(tmp_path, ACCOUNT)
    result = call(project, press("12345678#"), press("1"), expect={"vars": {"account": "12345678"}})
    assert result.failures == []
    assert result.record.inputs == [("acct", "account", "12345678"), ("m", "choice", "1")]
    assert said(result)[-1] == "Account 12345678."


def test_hash_after_a_full_eight_digit_entry_does_not_reach_the_next_menu(tmp_path):
    result = call(build(tmp_path, ACCOUNT), press("12345678#"))
    assert result.record.path == ["acct", "m", "fallback"]
    assert "Hash in the menu." not in said(result)
    assert "no key within 5s" in [e.text for e in result.transcript]


def test_hash_after_a_full_entry_typed_over_a_barge_in_prompt_does_not_reach_the_menu(tmp_path):
    flow = ACCOUNT.replace("start: acct", "start: hello").replace(
        "nodes:\n", 'nodes:\n  hello: {type: play, prompt: "Welcome to the bank.", next: acct}\n'
    )
    result = call(build(tmp_path, flow), press("12345678#"))
    assert result.record.path == ["hello", "acct", "m", "fallback"]
    assert result.record.inputs == [("acct", "account", "12345678")]
    assert "Enter your account number." not in said(result)


def test_too_short_entry_hears_the_invalid_prompt_then_the_retry_prompt(tmp_path):
    result = call(build(tmp_path, ACCOUNT), press("123#"), press("87654321#"), press("1"))
    assert said(result)[:3] == [
        "Enter your account number.",
        "That is not an account number.",
        "Enter the eight digits again.",
    ]
    assert result.record.inputs[0] == ("acct", "account", "87654321")
    assert result.record.path == ["acct", "m", "balance"]


def test_two_failed_attempts_go_to_on_fail_without_saving_anything(tmp_path):
    result = call(build(tmp_path, ACCOUNT), press("1#"), expect={"vars": {"account": "x"}})
    assert said(result) == [
        "Enter your account number.",
        "That is not an account number.",
        "Enter the eight digits again.",
        "I did not get any digits.",
        "Fallback.",
    ]
    assert result.record.path == ["acct", "fallback"]
    assert result.record.inputs == []
    assert result.failures == ["expected variable 'account' to be 'x', it is not set"]


PIN = """
flow: t
start: pin
nodes:
  pin:
    type: input
    prompt: "Enter your PIN."
    invalid_prompt: "Wrong PIN format."
    digits: {min: 4, max: 6}
    pattern: "4[0-9]+"
    terminator: "*"
    sensitive: true
    save_as: pin
    attempts: 3
    next: ok
    on_fail: fallback
  ok: {type: hangup, prompt: "Thank you."}
  fallback: {type: hangup, prompt: "Fallback."}
"""


def test_sensitive_entry_is_masked_in_the_journal_but_kept_in_the_variable(tmp_path):
    result = call(build(tmp_path, PIN), press("41234*"), expect={"vars": {"pin": "41234"}})
    assert result.failures == []
    assert result.record.inputs == [("pin", "pin", "*****")]
    assert result.record.path == ["pin", "ok"]


def test_entry_not_matching_the_pattern_is_refused(tmp_path):
    result = call(build(tmp_path, PIN), press("5123*"), press("4999*"))
    assert said(result)[:3] == ["Enter your PIN.", "Wrong PIN format.", "Enter your PIN."]
    assert result.record.inputs == [("pin", "pin", "****")]


def test_custom_terminator_star_ends_the_entry_and_hash_is_just_a_wrong_key(tmp_path):
    result = call(build(tmp_path, PIN), press("4123#"), press("4123*"))
    assert said(result).count("Wrong PIN format.") == 1
    assert result.record.inputs == [("pin", "pin", "****")]
    assert result.record.path == ["pin", "ok"]


def test_entry_ends_by_itself_when_the_maximum_number_of_digits_is_reached(tmp_path):
    result = call(build(tmp_path, PIN), press("412345"))
    assert result.record.inputs == [("pin", "pin", "******")]
    assert at(result, "-> ok (hangup)") - at(result, "presses 412345") < 3.0


def test_entry_shorter_than_the_maximum_is_accepted_after_the_digit_timeout(tmp_path):
    result = call(build(tmp_path, PIN), press("4123"))
    assert result.record.inputs == [("pin", "pin", "****")]
    assert at(result, "-> ok (hangup)") - at(result, "presses 4123") >= 3.0


def test_entry_shorter_than_the_minimum_is_refused_even_with_the_terminator(tmp_path):
    result = call(build(tmp_path, PIN), press("412*"), press("4123*"))
    assert said(result)[:2] == ["Enter your PIN.", "Wrong PIN format."]
    assert result.record.inputs == [("pin", "pin", "****")]


def test_keys_typed_ahead_over_a_prompt_after_a_complete_entry_reach_the_next_menu(tmp_path):
    flow = """
    flow: t
    start: hello
    nodes:
      hello: {type: play, prompt: "Welcome to the shop line.", next: code}
      code:
        type: input
        prompt: "Enter your code, then hash."
        digits: {min: 2, max: 8}
        save_as: code
        attempts: 1
        next: m
        on_fail: fallback
      m:
        type: menu
        prompt: "Press 1 for orders."
        choices: {1: orders, 2: other}
        attempts: 1
        on_fail: fallback
      orders: {type: hangup, prompt: "Orders."}
      other: {type: hangup, prompt: "Other."}
      fallback: {type: hangup, prompt: "Fallback."}
    """
    project = build(tmp_path, flow)
    during_input = call(project, hear("Enter your code"), press("12#1"))
    assert during_input.record.path == ["hello", "code", "m", "orders"]
    over_welcome = call(project, press("12#1"))
    assert over_welcome.record.path == ["hello", "code", "m", "orders"]
