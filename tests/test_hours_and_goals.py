"""What the reference promises about hours (holidays, lunch breaks) and when a goal counts."""

import datetime as dt

import pytest
from flowkit import build, call, hangup, hear, press

SCHEDULES = """
schedules:
  office:
    timezone: Europe/Sofia
    weekly: {mon-fri: ["09:00-12:00", "13:00-18:00"]}
    holidays: ["2026-12-24"]
  always:
    timezone: Europe/Sofia
    weekly: {mon-sun: "00:00-24:00"}
    holidays: ["2026-12-25"]
"""
HOURS_FLOW = """
flow: t
start: check
nodes:
  check: {type: hours, schedule: office, open: open, closed: closed, holiday: feast}
  open: {type: hangup, prompt: "Open."}
  closed: {type: hangup, prompt: "Closed."}
  feast: {type: hangup, prompt: "Holiday."}
"""
SOFIA = dt.timezone(dt.timedelta(hours=2))  # EET: Sofia in winter


def heard(project, when: str) -> str:
    result = call(project, at=dt.datetime.fromisoformat(when).replace(tzinfo=SOFIA))
    return result.transcript[-2].text.removeprefix("says: ")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-11-25T08:59", "Closed."),
        ("2026-11-25T09:00", "Open."),
        ("2026-11-25T11:59", "Open."),
        ("2026-11-25T12:00", "Closed."),  # lunch starts at the end minute of the morning range
        ("2026-11-25T12:59", "Closed."),
        ("2026-11-25T13:00", "Open."),  # and ends on the afternoon's first minute
        ("2026-11-25T17:59", "Open."),
        ("2026-11-25T18:00", "Closed."),
    ],
)
def test_a_lunch_break_is_two_ranges_closed_between_them(tmp_path, when, expected):
    project = build(tmp_path, HOURS_FLOW, **{"schedules.yaml": SCHEDULES})
    assert heard(project, when) == expected


def test_a_holiday_on_a_working_day_goes_to_the_holiday_edge_even_within_the_hours(tmp_path):
    project = build(tmp_path, HOURS_FLOW, **{"schedules.yaml": SCHEDULES})
    assert heard(project, "2026-12-24T10:00") == "Holiday."  # a Thursday, 10:00
    assert heard(project, "2026-12-24T12:30") == "Holiday."  # lunch time too


def test_a_holiday_closes_even_a_round_the_clock_schedule_for_the_whole_local_day(tmp_path):
    flow = HOURS_FLOW.replace("schedule: office", "schedule: always").replace(
        ", holiday: feast", ""
    )
    project = build(
        tmp_path,
        flow.replace('  feast: {type: hangup, prompt: "Holiday."}\n', ""),
        **{"schedules.yaml": SCHEDULES},
    )
    assert heard(project, "2026-12-24T23:59") == "Open."
    assert heard(project, "2026-12-25T00:00") == "Closed."  # no holiday edge: closed
    assert heard(project, "2026-12-25T23:59") == "Closed."
    assert heard(project, "2026-12-26T00:00") == "Open."


GOAL_FLOW = """
flow: t
start: menu
nodes:
  menu:
    type: menu
    prompt: "For your balance press 1."
    choices: {1: balance, 2: menu}
    on_fail: bye
  balance:
    type: play
    prompt: ["Your balance is", {say: number, value: 120}, "dollars."]
    goal: balance_told
    next: menu
  bye: {type: hangup, prompt: "Goodbye."}
"""


def test_a_goal_counts_once_its_prompt_has_played_to_the_end(tmp_path):
    result = call(build(tmp_path, GOAL_FLOW), press("1"), hear("dollars"), hangup())
    assert result.record.goals == ["balance_told"]
    assert result.record.outcome == "self_served"


def test_a_goal_counts_when_the_caller_cuts_its_prompt_short_with_a_key(tmp_path):
    result = call(build(tmp_path, GOAL_FLOW), press("1"), hear("your balance"), press("2"))
    assert result.record.goals == ["balance_told"]
    assert result.record.path[:3] == ["menu", "balance", "menu"]


def test_a_caller_who_hangs_up_during_the_goals_prompt_has_not_reached_the_goal(tmp_path):
    result = call(build(tmp_path, GOAL_FLOW), press("1"), hear("your balance"), hangup())
    assert result.record.goals == []
    assert result.record.outcome == "ivr_hangup"
