"""The HTML report's charts: each outcome has one colour in every chart, shown in a legend."""

import re
import xml.etree.ElementTree as ET

from reportjournal import report_of
from test_report_figures import menu_call, queued_call

from ivr.report.render import OUTCOME_COLOURS, to_html

SVG = "{http://www.w3.org/2000/svg}"


def legend_colours(figure: ET.Element) -> dict[str, str]:
    """A chart's legend: each series' name and the colour its swatch and its bars are drawn in."""
    svg = figure.find(f"{SVG}svg")
    style = "".join(s.text or "" for s in svg.iter(f"{SVG}style"))
    colours = dict(re.findall(r"\.color-(\d+)[^{}]*\{stroke:(#[0-9A-Fa-f]{6});fill:", style))
    legend = {}
    for group in svg.iter(f"{SVG}g"):
        number = (group.get("id") or "").removeprefix("activate-serie-")
        if number.isdigit():
            name = group.find(f"{SVG}text").text
            assert f"color-{number}" in group.find(f"{SVG}rect").get("class")
            legend[name] = colours[number].upper()
    return legend


def charts(tmp_path) -> dict[str, dict[str, str]]:
    entries = [
        queued_call("answered", 0, 10, talk=60, agent="a"),
        queued_call("abandoned", 60, 30),
        menu_call("voicemail", 120, "voicemail"),
        menu_call("callback", 180, "callback"),
        menu_call("self", 240, "self_served"),
        menu_call("hung up", 300, "ivr_hangup"),
    ]
    page = to_html(report_of(entries, tmp_path), "journal.sqlite")
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>"))
    return {f.get("id"): legend_colours(f) for f in root.iter("figure")}


def test_an_outcome_has_the_same_colour_in_every_chart(tmp_path):
    found = charts(tmp_path)
    per_hour, pie = found["chart-calls-per-hour"], found["chart-outcomes"]
    shown = {"answered", "abandoned", "voicemail", "callback", "self_served", "ivr_hangup"}
    assert set(per_hour) == set(pie) == shown
    for outcome in pie:
        assert per_hour[outcome] == pie[outcome] == OUTCOME_COLOURS[outcome], outcome
    waits = found["chart-wait-times"]
    assert waits["answered"] == pie["answered"] and waits["abandoned"] == pie["abandoned"]


def test_voicemail_and_callback_are_told_apart_and_no_two_outcomes_share_a_colour(tmp_path):
    pie = charts(tmp_path)["chart-outcomes"]
    assert pie["voicemail"] != pie["callback"]
    assert len(set(OUTCOME_COLOURS.values())) == len(OUTCOME_COLOURS)


def test_series_that_are_not_outcomes_take_no_outcomes_colour(tmp_path):
    found = charts(tmp_path)
    others = {**found["chart-funnel-t"], "other exits": found["chart-wait-times"]["other exits"]}
    assert set(others) == {"entries", "hang-ups", "zero-outs", "other exits"}
    assert not set(others.values()) & set(OUTCOME_COLOURS.values())


def test_a_report_without_calls_still_draws_every_chart_without_series(tmp_path):
    page = to_html(report_of([], tmp_path), "journal.sqlite")
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>"))
    found = {f.get("id"): legend_colours(f) for f in root.iter("figure")}
    assert found["chart-outcomes"] == {} and found["chart-calls-per-hour"] == {}
    assert set(found["chart-wait-times"]) == {"answered", "abandoned", "other exits"}
