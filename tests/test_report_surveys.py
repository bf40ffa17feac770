"""Survey results in ``ivr report``: per question, and per the call's tenant, queue and agent.

Hand-built calls, each with one survey visit as the survey node journals it:

| call | tenant | queue | agent | csat (1-5) | recommend (yes/no) |
|------|--------|-------|-------|------------|--------------------|
| s1   | acme   | sales | a     | 5          | yes                |
| s2   | acme   | sales | a     | 4          |                    |
| s3   | acme   | sales | b     | 2          | no                 |
| s4   | beta   |       |       | no answer  | yes                |

csat: asked 4, answered 3, mean 11/3; agent a 4.5, agent b 2. recommend: 3 answers, 2 yes.
"""

import datetime as dt

import pytest
from reportjournal import report_of

from ivr.runtime.record import CallRecord, Visit
from ivr.store import JournalEntry

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def surveyed(call_id: str, n: int, tenant: str, answers: dict, agent: str | None) -> JournalEntry:
    at = START + dt.timedelta(minutes=n)
    visits = []
    for question, (scale, answer) in answers.items():
        notes = {"question": question, "scale": scale}
        if answer is not None:
            notes["answer"] = answer
        result = "answered" if answer is not None else "fail"
        visits.append(Visit("t", question, "survey", at, result, "", notes))
    record = CallRecord(
        call_id=call_id,
        caller="+15550001111",
        dialed="100",
        flow="t",
        tenant=tenant,
        started_at=at,
        answered_at=at,
        ended_at=at + dt.timedelta(minutes=5),
        visits=visits,
        queue="sales" if agent else None,
        queued_at=at if agent else None,
        agent=agent,
        agent_answered_at=at + dt.timedelta(seconds=10) if agent else None,
        talk_seconds=60.0 if agent else 0.0,
        outcome="answered" if agent else "completed",
    )
    return JournalEntry(record, 20.0 if agent else None)


def calls() -> list[JournalEntry]:
    csat, yes_no = "1-5", "yes/no"
    return [
        surveyed("s1", 0, "acme", {"csat": (csat, "5"), "recommend": (yes_no, "yes")}, "a"),
        surveyed("s2", 1, "acme", {"csat": (csat, "4")}, "a"),
        surveyed("s3", 2, "acme", {"csat": (csat, "2"), "recommend": (yes_no, "no")}, "b"),
        surveyed("s4", 3, "beta", {"csat": (csat, None), "recommend": (yes_no, "yes")}, None),
    ]


def test_a_number_question_gives_its_response_rate_mean_and_answers(tmp_path):
    csat = report_of(calls(), tmp_path).surveys["csat"]
    assert (csat.asked, csat.answered) == (4, 3)
    assert csat.response_rate == pytest.approx(3 / 4)
    assert csat.mean == pytest.approx(11 / 3)
    assert csat.answers_text() == "2:1, 4:1, 5:1"
    assert csat.yes_share is None


def test_a_yes_no_question_gives_the_share_of_yes(tmp_path):
    recommend = report_of(calls(), tmp_path).surveys["recommend"]
    assert recommend.yes_share == pytest.approx(2 / 3)
    assert recommend.mean is None


def test_answers_are_counted_per_agent_queue_and_tenant_of_the_call(tmp_path):
    groups = report_of(calls(), tmp_path).survey_groups
    assert groups["csat", "agent", "a"].mean == pytest.approx(4.5)
    assert groups["csat", "agent", "b"].mean == pytest.approx(2)
    assert groups["csat", "queue", "sales"].answered == 3
    assert groups["csat", "tenant", "beta"].answered == 0
    assert groups["csat", "tenant", "beta"].asked == 1
    assert groups["recommend", "tenant", "beta"].yes_share == pytest.approx(1.0)
    assert ("recommend", "agent", "a") in groups and ("csat", "agent", None) not in groups


def test_the_example_banks_post_call_survey_is_in_the_report(tmp_path, capsys):
    from ivr.cli import main

    journal = tmp_path / "journal.sqlite"
    assert main(["test", "--journal", str(journal), "flows/"]) == 0
    capsys.readouterr()
    assert main(["report", "--journal", str(journal), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    block = out.split("\n\nsurveys\n")[1].split("\n\n")[0].splitlines()
    assert block[0].startswith("question,scale,asked,answered,response (%),mean")
    assert block[1].startswith("satisfaction,1-5,")
