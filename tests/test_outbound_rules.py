"""When a campaign may dial a contact: windows in the contact's zones, retries, limits, DNC.

Every test gives the clock as an argument; nothing waits.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.outbound.rules import DEFAULT_WINDOW, DialRules, decide, is_open, next_open

UTC = dt.UTC
NEW_YORK = (ZoneInfo("America/New_York"),)
SOFIA = (ZoneInfo("Europe/Sofia"),)
EVERY_DAY_9_TO_20 = {day: [(9 * 60, 20 * 60)] for day in range(7)}
RULES = DialRules(window=EVERY_DAY_9_TO_20, max_attempts=4)


def utc(*parts):
    return dt.datetime(*parts, tzinfo=UTC)


def local(zones, *parts):
    return dt.datetime(*parts, tzinfo=zones[0])


# ---------------------------------------------------------------- windows and daylight saving


def test_a_contact_in_new_york_is_called_from_nine_new_york_time():
    # 12:00 UTC on a Wednesday in June is 08:00 in New York (EDT): one hour to go.
    decision = decide(RULES, NEW_YORK, [], utc(2026, 6, 17, 12, 0))
    assert (decision.dial, decision.reason) == (False, "outside_window")
    assert decision.not_before == utc(2026, 6, 17, 13, 0)
    assert decide(RULES, NEW_YORK, [], utc(2026, 6, 17, 13, 0)).dial


def test_the_window_closes_at_its_end_minute():
    assert is_open(EVERY_DAY_9_TO_20, SOFIA, local(SOFIA, 2026, 6, 17, 19, 59, 59))
    assert not is_open(EVERY_DAY_9_TO_20, SOFIA, local(SOFIA, 2026, 6, 17, 20, 0))


def test_new_york_opens_at_nine_est_the_morning_the_clocks_go_back():
    # 2026-11-01: 02:00 EDT becomes 01:00 EST. Saturday evening 20:30 EDT is 00:30 UTC Sunday;
    # Sunday 09:00 is EST by then, 14:00 UTC (a fixed EDT offset would say 13:00).
    opening = next_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 11, 1, 0, 30))
    assert opening == utc(2026, 11, 1, 14, 0)
    assert opening.astimezone(NEW_YORK[0]).hour == 9
    assert not is_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 11, 1, 13, 30))


def test_new_york_closes_at_twenty_est_after_the_clocks_went_back():
    assert is_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 11, 2, 0, 59))
    assert not is_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 11, 2, 1, 0))


def test_sofia_opens_at_nine_eet_the_morning_the_clocks_go_back():
    # 2026-10-25: 04:00 EEST becomes 03:00 EET; 09:00 EET is 07:00 UTC (the day before: 06:00).
    assert next_open(EVERY_DAY_9_TO_20, SOFIA, utc(2026, 10, 24, 18, 0)) == utc(2026, 10, 25, 7)
    assert next_open(EVERY_DAY_9_TO_20, SOFIA, utc(2026, 10, 23, 18, 0)) == utc(2026, 10, 24, 6)


def test_a_window_opening_in_the_skipped_spring_hour_opens_when_the_clock_jumps():
    # 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT; 02:30 never comes, 03:00 does.
    window = {6: [(2 * 60 + 30, 4 * 60)]}
    opening = next_open(window, NEW_YORK, utc(2026, 3, 8, 5, 0))
    assert opening == utc(2026, 3, 8, 7, 0)
    assert opening.astimezone(NEW_YORK[0]).strftime("%H:%M %Z") == "03:00 EDT"


def test_the_day_the_clocks_go_forward_opens_at_nine_edt():
    assert next_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 13)
    assert next_open(EVERY_DAY_9_TO_20, NEW_YORK, utc(2026, 3, 7, 5, 0)) == utc(2026, 3, 7, 14)


def test_a_window_in_the_repeated_autumn_hour_opens_the_first_time_it_comes():
    window = {6: [(1 * 60 + 30, 1 * 60 + 45)]}
    first = next_open(window, NEW_YORK, utc(2026, 11, 1, 4, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    # Once it has closed, 01:30 comes again an hour later, in EST.
    assert next_open(window, NEW_YORK, utc(2026, 11, 1, 5, 50)) == utc(2026, 11, 1, 6, 30)


def test_the_default_window_is_nine_to_twenty_monday_to_saturday():
    sunday_noon = local(SOFIA, 2026, 6, 21, 12, 0)
    assert not is_open(DEFAULT_WINDOW, SOFIA, sunday_noon)
    assert next_open(DEFAULT_WINDOW, SOFIA, sunday_noon) == local(SOFIA, 2026, 6, 22, 9, 0)


def test_the_answer_is_given_in_the_time_zone_the_question_was_asked_in():
    asked = local(SOFIA, 2026, 6, 17, 7, 0)
    assert next_open(EVERY_DAY_9_TO_20, NEW_YORK, asked).tzinfo is SOFIA[0]


# ---------------------------------------------------------------- several zones


def test_a_number_ringing_in_two_zones_is_called_only_when_both_are_in_the_window():
    zones = (ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles"))
    # 09:00 in New York is 06:00 in Los Angeles: wait for 09:00 there, 12:00 in New York.
    decision = decide(RULES, zones, [], utc(2026, 6, 17, 13, 0))
    assert decision.reason == "outside_window"
    assert decision.not_before == utc(2026, 6, 17, 16, 0)
    # 20:00 in New York closes the overlap while Los Angeles is still at 17:00.
    assert is_open(EVERY_DAY_9_TO_20, zones, utc(2026, 6, 17, 23, 59))
    assert not is_open(EVERY_DAY_9_TO_20, zones, utc(2026, 6, 18, 0, 0))


def test_zones_too_far_apart_for_the_window_never_open_together():
    zones = (ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/London"))  # 8 h apart in June
    narrow = {day: [(9 * 60, 12 * 60)] for day in range(5)}
    decision = decide(DialRules(window=narrow), zones, [], utc(2026, 6, 17, 12, 0))
    assert (decision.dial, decision.reason, decision.not_before) == (False, "outside_window", None)


def test_a_contact_with_no_known_zone_is_never_dialled():
    assert next_open(EVERY_DAY_9_TO_20, (), utc(2026, 6, 17, 12, 0)) is None
    assert not decide(RULES, (), [], utc(2026, 6, 17, 12, 0)).dial


# ---------------------------------------------------------------- attempts and retries

NOON_SOFIA = local(SOFIA, 2026, 6, 17, 12, 0)


@pytest.mark.parametrize(
    ("result", "wait"),
    [
        ("busy", dt.timedelta(minutes=10)),
        ("no_answer", dt.timedelta(hours=2)),
        ("machine", dt.timedelta(hours=4)),
        ("failed", dt.timedelta(minutes=30)),
    ],
)
def test_after_each_result_the_contact_waits_its_default_retry_time(result, wait):
    decision = decide(RULES, SOFIA, [(NOON_SOFIA, result)], NOON_SOFIA + wait / 2)
    assert (decision.reason, decision.not_before) == ("retry_wait", NOON_SOFIA + wait)
    assert decide(RULES, SOFIA, [(NOON_SOFIA, result)], NOON_SOFIA + wait).dial


def test_the_campaigns_retry_times_replace_the_defaults():
    rules = DialRules(window=EVERY_DAY_9_TO_20, retry={"busy": 60.0})
    assert decide(rules, SOFIA, [(NOON_SOFIA, "busy")], NOON_SOFIA + dt.timedelta(minutes=1)).dial


def test_a_retry_that_ends_after_the_window_waits_for_the_next_opening():
    evening = local(SOFIA, 2026, 6, 17, 18, 30)
    decision = decide(RULES, SOFIA, [(evening, "no_answer")], evening + dt.timedelta(minutes=5))
    assert decision.reason == "retry_wait"
    assert decision.not_before == local(SOFIA, 2026, 6, 18, 9, 0)


def test_an_abandoned_call_is_not_repeated_within_72_hours_whatever_retry_says():
    rules = DialRules(window=EVERY_DAY_9_TO_20, retry={"abandoned": 60.0})
    history = [(NOON_SOFIA, "abandoned")]
    decision = decide(rules, SOFIA, history, NOON_SOFIA + dt.timedelta(hours=71))
    assert decision.reason == "retry_wait"
    assert decision.not_before == NOON_SOFIA + dt.timedelta(hours=72)


def test_the_72_hours_after_an_abandon_hold_even_when_a_later_call_was_busy():
    history = [
        (NOON_SOFIA, "abandoned"),
        (NOON_SOFIA + dt.timedelta(hours=1), "busy"),  # a dialer that broke the rule once
    ]
    decision = decide(RULES, SOFIA, history, NOON_SOFIA + dt.timedelta(hours=24))
    assert decision.not_before == NOON_SOFIA + dt.timedelta(hours=72)


def test_a_contact_is_not_called_past_max_attempts():
    history = [(NOON_SOFIA - dt.timedelta(days=n), "no_answer") for n in range(1, 5)]
    decision = decide(RULES, SOFIA, history, NOON_SOFIA)
    assert (decision.dial, decision.reason, decision.not_before) == (False, "max_attempts", None)
    assert decide(RULES, SOFIA, history[:3], NOON_SOFIA).dial


def test_skipped_attempts_do_not_count_towards_max_attempts():
    placed = [(NOON_SOFIA - dt.timedelta(days=n), "busy") for n in range(1, 4)]
    skipped = [(NOON_SOFIA - dt.timedelta(hours=n), "window_skipped") for n in range(1, 5)]
    assert decide(RULES, SOFIA, placed + skipped, NOON_SOFIA).dial


def test_a_contact_who_answered_is_done():
    decision = decide(RULES, SOFIA, [(NOON_SOFIA - dt.timedelta(days=1), "answered")], NOON_SOFIA)
    assert (decision.dial, decision.reason, decision.not_before) == (False, "done", None)


def test_a_number_on_a_do_not_call_list_is_never_dialled():
    decision = decide(RULES, SOFIA, [], NOON_SOFIA, on_dnc=True)
    assert (decision.dial, decision.reason, decision.not_before) == (False, "dnc", None)


def test_history_in_any_order_gives_the_same_answer():
    history = [
        (NOON_SOFIA - dt.timedelta(minutes=5), "busy"),
        (NOON_SOFIA - dt.timedelta(days=1), "no_answer"),
    ]
    forwards = decide(RULES, SOFIA, history, NOON_SOFIA)
    assert forwards == decide(RULES, SOFIA, list(reversed(history)), NOON_SOFIA)
    assert forwards.not_before == NOON_SOFIA + dt.timedelta(minutes=5)


def test_a_naive_clock_or_an_unknown_result_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        decide(RULES, SOFIA, [], dt.datetime(2026, 6, 17, 12, 0))
    with pytest.raises(ValueError, match="unknown attempt result"):
        decide(RULES, SOFIA, [(NOON_SOFIA, "hung_up")], NOON_SOFIA)
