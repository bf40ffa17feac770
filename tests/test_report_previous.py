"""The key figures next to the same figures of the period just before, in every format."""

import json

import pytest

from ivr.cli import main


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = tmp_path_factory.mktemp("previous") / "journal.sqlite"
    assert main(["test", "--journal", str(path), "flows/"]) == 0
    return path


def figures(capsys, journal, *period) -> dict:
    capsys.readouterr()
    options = ["--timezone", "UTC", "--format", "json", *period]
    assert main(["report", "--journal", str(journal), *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_each_key_figure_is_shown_with_its_value_in_the_period_just_before(journal, capsys):
    # the example cases run on 2026-11-23 and 2026-11-25: two days, then the two before them
    now = figures(capsys, journal, "--from", "2026-11-25", "--to", "2026-11-26")
    before = figures(capsys, journal, "--from", "2026-11-23", "--to", "2026-11-24")
    assert now["previous_period"] == {
        "start": "2026-11-23T00:00:00+00:00",
        "end": "2026-11-25T00:00:00+00:00",
    }
    assert {k["key"]: k["previous"] for k in now["kpis"]} == {
        k["key"]: k["value"] for k in before["kpis"]
    }
    assert now["kpis"][0]["value"] != now["kpis"][0]["previous"]


def test_without_calls_in_the_period_before_there_is_nothing_to_compare(journal, capsys):
    first = figures(capsys, journal, "--from", "2026-11-22", "--to", "2026-11-22")
    assert first["previous_period"] is None
    assert all(k["previous"] is None for k in first["kpis"])


def test_the_terminal_and_the_page_say_what_the_comparison_is(journal, capsys, tmp_path):
    period = ["--from", "2026-11-25", "--to", "2026-11-26", "--timezone", "UTC"]
    assert main(["report", "--journal", str(journal), *period]) == 0
    out = capsys.readouterr().out
    assert "(last line: the period of equal length just before, 2026-11-23 00:00 to " in out
    page = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                "--journal",
                str(journal),
                *period,
                "--format",
                "html",
                "--output",
                str(page),
            ]
        )
        == 0
    )
    text = page.read_text()
    assert text.count('class="kpi-previous"') == 8
    before = figures(capsys, journal, "--from", "2026-11-23", "--to", "2026-11-24")
    assert f"before: {before['kpis'][0]['value']}<" in text  # the calls of the two days before
