"""Survey questions as a scripted caller answers them, on the simulated clock, and their checks."""

import textwrap

import pytest
from flowkit import build, call, hangup, press, said

from ivr.cli import main

SURVEY = """
flow: t
start: ask
nodes:
  ask:
    type: survey
    question: satisfaction
    prompt: "How satisfied were you?"
    scale: {scale}
    invalid_prompt: "That is not an answer."
    no_input_prompt: "We did not hear a key."
    {extra}
    next: thanks
  thanks: {{type: hangup, prompt: "Thank you."}}
{more}"""
SORRY = '  sorry: {type: hangup, prompt: "Never mind."}\n'


def survey(tmp_path, scale: str = "1-5", extra: str = "", more: str = ""):
    return build(tmp_path, SURVEY.format(scale=scale, extra=extra, more=more))


def notes(result, node: str = "ask") -> dict:
    return next(v.notes for v in result.record.visits if v.node == node)


def result_of(result, node: str = "ask") -> str | None:
    return next(v.result for v in result.record.visits if v.node == node)


@pytest.mark.parametrize(
    ("scale", "keys", "answer"),
    [("1-5", "4", 4), ("1-5", "1", 1), ("0-10", "0", 0), ("0-10", "7", 7), ("1-3", "3", 3)],
)
def test_a_caller_who_presses_a_number_on_the_scale_has_answered_it(tmp_path, scale, keys, answer):
    result = call(survey(tmp_path, scale), press(keys), expect={"vars": {"satisfaction": answer}})
    assert result.failures == [], result.report()
    assert said(result) == ["How satisfied were you?", "Thank you."]
    assert result.record.path == ["ask", "thanks"]
    assert result_of(result) == "answered"
    assert notes(result) == {"question": "satisfaction", "scale": scale, "answer": str(answer)}


def test_the_answer_is_in_the_call_variables_as_a_number(tmp_path):
    wrong = call(survey(tmp_path), press("4"), expect={"vars": {"satisfaction": 5}})
    assert wrong.failures == ["expected variable 'satisfaction' to be 5, got 4"]


def test_a_wrong_key_is_refused_and_the_question_asked_again(tmp_path):
    result = call(survey(tmp_path), press("8"), press("5"), expect={"vars": {"satisfaction": 5}})
    assert result.failures == [], result.report()
    assert said(result) == [
        "How satisfied were you?",
        "That is not an answer.",
        "How satisfied were you?",
        "Thank you.",
    ]
    assert notes(result)["answer"] == "5"


def test_no_key_twice_goes_to_on_fail_without_an_answer(tmp_path):
    result = call(survey(tmp_path, extra="on_fail: sorry", more=SORRY))
    assert said(result) == [
        "How satisfied were you?",
        "We did not hear a key.",
        "How satisfied were you?",
        "We did not hear a key.",
        "Never mind.",
    ]
    assert result.record.path == ["ask", "sorry"]
    assert result_of(result) == "fail"
    assert notes(result) == {"question": "satisfaction", "scale": "1-5"}


def test_a_caller_who_answers_nothing_goes_on_to_next_when_there_is_no_on_fail(tmp_path):
    result = call(survey(tmp_path), press("9"), press("0"))
    assert result.record.path == ["ask", "thanks"]
    assert result_of(result) == "fail"
    assert "answer" not in notes(result)


def test_attempts_sets_how_often_the_question_is_asked(tmp_path):
    result = call(survey(tmp_path, extra="attempts: 3"))
    assert said(result).count("How satisfied were you?") == 3


def test_ten_on_a_zero_to_ten_scale_takes_two_keys(tmp_path):
    result = call(survey(tmp_path, "0-10"), press("10"), expect={"vars": {"satisfaction": 10}})
    assert result.failures == [], result.report()
    assert notes(result)["answer"] == "10"


def test_a_one_followed_by_silence_on_a_zero_to_ten_scale_is_one(tmp_path):
    result = call(survey(tmp_path, "0-10"), press("1"), expect={"vars": {"satisfaction": 1}})
    assert result.failures == [], result.report()


def test_hash_ends_a_one_key_answer_on_a_zero_to_ten_scale(tmp_path):
    result = call(survey(tmp_path, "0-10"), press("1#"), expect={"vars": {"satisfaction": 1}})
    assert result.failures == [], result.report()


def test_eleven_is_not_on_a_zero_to_ten_scale(tmp_path):
    result = call(survey(tmp_path, "0-10"), press("11"), press("9"))
    assert said(result)[1] == "That is not an answer."
    assert notes(result)["answer"] == "9"


@pytest.mark.parametrize(("key", "answer"), [("1", "yes"), ("2", "no")])
def test_yes_is_1_and_no_is_2_on_a_yes_no_question(tmp_path, key, answer):
    result = call(survey(tmp_path, "yes/no"), press(key), expect={"vars": {"satisfaction": answer}})
    assert result.failures == [], result.report()
    assert notes(result) == {"question": "satisfaction", "scale": "yes/no", "answer": answer}


def test_a_yes_no_question_takes_the_keys_it_is_given(tmp_path):
    project = survey(tmp_path, "yes/no", 'keys: {yes: "9", no: "6"}')
    no = call(project, press("6"), expect={"vars": {"satisfaction": "no"}})
    assert no.failures == [], no.report()
    refused = call(project, press("1"), press("9"), expect={"vars": {"satisfaction": "yes"}})
    assert refused.failures == [], refused.report()
    assert said(refused)[1] == "That is not an answer."


def test_store_names_the_variable_that_receives_the_answer(tmp_path):
    result = call(
        survey(tmp_path, extra="store: csat"),
        press("3"),
        expect={"vars": {"csat": 3}},
    )
    assert result.failures == [], result.report()
    assert notes(result)["question"] == "satisfaction"


def test_a_later_prompt_may_read_the_answer_under_the_question_id(tmp_path):
    flow = SURVEY.format(scale="1-5", extra="", more="").replace(
        'prompt: "Thank you."', 'prompt: "You gave us {{ satisfaction }}."'
    )
    result = call(build(tmp_path, flow), press("2"))
    assert said(result)[-1] == "You gave us 2."


def test_a_caller_who_hangs_up_during_the_question_leaves_no_answer(tmp_path):
    result = call(survey(tmp_path), hangup())
    assert result.record.path == ["ask"]
    assert result.record.outcome == "ivr_hangup"
    assert result_of(result) is None
    assert "answer" not in notes(result)


# ----------------------------------------------------------------- checks


def _validate(tmp_path, capsys, scale: str, extra: str = "") -> tuple[int, str]:
    path = tmp_path / "flow.yaml"
    flow = SURVEY.format(scale=scale, extra=extra, more="")
    path.write_text(textwrap.dedent(flow).lstrip())
    code = main(["validate", str(tmp_path)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("scale", "extra", "where", "message"),
    [
        ("1-20", "", "8:12", "scale 1-20 must go up from its lowest to its highest answer"),
        ("5-1", "", "8:12", "scale 5-1 must go up from its lowest to its highest answer"),
        ("stars", "", "8:12", "'stars' is not a scale such as 1-5 or 0-10, or yes/no"),
        ("1-5", 'keys: {yes: "1"}', "11:11", "keys: is for a yes/no scale"),
        ("yes/no", 'keys: {yes: "1", no: "1"}', "11:11", "yes and no have the same key 1"),
        ("yes/no", 'keys: {yes: "12"}', "11:17", "'12' is not one key"),
        ("1-5", "attempts: 9", "11:15", "9 is too large: the most allowed is 5"),
        ("1-5", "attempts: 0", "11:15", "0 is too small: the least allowed is 1"),
    ],
)
def test_survey_mistakes_are_reported_at_their_line_and_column(
    tmp_path, capsys, scale, extra, where, message
):
    code, out = _validate(tmp_path, capsys, scale, extra)
    assert code == 1
    assert f"flow.yaml:{where}: error: {message}" in out, out
