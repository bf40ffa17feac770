"""A report as tables: the same rows for the terminal, CSV and HTML.

Cells hold raw values (counts, fractions, seconds, text, None for "not applicable"); each column
says what kind of value it holds, and each format writes that kind its own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.report.figures import ENDED, FAILED, INTERVALS, AgentTotals, Report, Totals
from ivr.runtime.record import OUTCOMES

TEXT, COUNT, PERCENT, SECONDS, SCORE = "text", "count", "percent", "seconds", "score"
"""Kinds of cells; a score is a mean answer on a survey's scale (4.25 of 1-5)."""
TENANT_WIDTH = 10
"""Where a terminal wraps the per-tenant table's first column (the id and company name)."""


@dataclass
class Column:
    """A column's heading, the kind of value its cells hold, and where a terminal wraps it."""

    name: str
    kind: str = TEXT
    wrap: int | None = None


@dataclass
class Table:
    """One table of a report.

    Attributes:
        key: a stable identifier (CSV section name, HTML element id).
        title: the heading a person reads.
        columns: the columns.
        rows: one list of cell values per row.
        note: one line under the title saying how to read the table.
    """

    key: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    note: str = ""


def _group_columns(first: str) -> list[Column]:
    return [
        Column(first),
        Column("calls", COUNT),
        Column("containment", PERCENT),
        Column("IVR hang-ups", COUNT),
        Column("queued", COUNT),
        Column("answered", COUNT),
        Column("abandoned", COUNT),
        Column("ASA", SECONDS),
        Column("service level", PERCENT),
    ]


def _group_row(name: str, t: Totals) -> list:
    return [
        name,
        t.calls,
        t.containment,
        t.ivr_hangups,
        t.queued,
        t.answered,
        t.counted_abandons,
        t.asa,
        t.service_level,
    ]


def _grouped(key: str, title: str, first: str, groups: dict, name: Callable) -> Table:
    table = Table(key, title, _group_columns(first))
    for group in sorted(groups):
        table.rows.append(_group_row(name(group), groups[group]))
    return table


def _summary(t: Totals) -> Table:
    table = Table(
        "summary",
        "Summary",
        [
            Column("figure"),
            Column("calls", COUNT),
            Column("share", PERCENT),
            Column("of"),
            Column("time", SECONDS),
        ],
        note="service level: answered within each queue's own target; offered: queued but short "
        "abandons",
    )
    all_calls, queued, offered = "all calls", "queued calls", "calls offered"
    table.rows = [
        ["Calls", t.calls, None, "", None],
        ["Self-served (containment)", t.self_served, t.containment, all_calls, None],
        ["Abandoned in the IVR", t.ivr_hangups, t.ivr_abandonment, all_calls, None],
        ["Queued for an agent", t.queued, t.queued / t.calls if t.calls else None, all_calls, None],
        [
            "Answered by an agent",
            t.answered,
            t.answered / t.queued if t.queued else None,
            queued,
            None,
        ],
        ["Short abandons", t.short_abandons, _share(t.short_abandons, t.queued), queued, None],
        ["Calls offered to a queue", t.offered, None, "", None],
        ["Abandoned in a queue", t.counted_abandons, t.queue_abandonment, offered, None],
        ["Answered within service level", t.answered_in_target, t.service_level, offered, None],
        ["Average speed of answer (ASA)", None, None, "", t.asa],
        ["Average time to abandon", None, None, "", t.average_time_to_abandon],
        ["Average handle time (AHT)", None, None, "", t.aht],
        ["Longest wait in a queue", None, None, "", t.longest_wait],
        [
            "Callbacks scheduled",
            t.callbacks_scheduled,
            t.callbacks_scheduled / t.calls if t.calls else None,
            all_calls,
            None,
        ],
        [
            "Callbacks made",
            t.callbacks_made,
            t.callbacks_made / t.callbacks_scheduled if t.callbacks_scheduled else None,
            "callbacks scheduled",
            None,
        ],
        ["Callbacks reached", t.callbacks_reached, t.callback_reach, "callbacks made", None],
    ]
    return table


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _intervals(report: Report) -> Table:
    minutes = INTERVALS[report.interval]
    daily = minutes >= 24 * 60
    table = Table(
        "intervals",
        "Per day" if daily else f"Per {minutes} minutes",
        [
            Column("interval"),
            Column("calls", COUNT),
            Column("offered", COUNT),
            Column("answered", COUNT),
            Column("abandoned", COUNT),
            Column("short abandons", COUNT),
            Column("service level", PERCENT),
            Column("ASA", SECONDS),
            Column("AHT", SECONDS),
            Column("agents", wrap=8),
            Column("occupancy", PERCENT),
        ],
        note="by when calls started, in the report's time zone; agents: logged in, on average",
    )
    staffed = {start: t for start, t in report.agent_times.intervals.items() if t.logged_in > 0}
    for start in sorted(set(report.by_interval) | set(staffed)):
        t = report.by_interval.get(start) or report.group()
        agents = staffed.get(start)
        table.rows.append(
            [
                start.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M"),
                t.calls,
                t.offered,
                t.answered,
                t.counted_abandons,
                t.short_abandons,
                t.service_level,
                t.asa,
                t.aht,
                f"{agents.logged_in / (minutes * 60):.1f}" if agents else None,
                agents.occupancy if agents else None,
            ]
        )
    return table


def _group_intervals(report: Report, key: str, first: str, groups: dict, note: str) -> Table:
    """Calls per interval of each tenant or queue (``groups``: (name, interval start) to totals)."""
    minutes = INTERVALS[report.interval]
    daily = minutes >= 24 * 60
    length = "day" if daily else f"{minutes} minutes"
    table = Table(
        key,
        f"Per {first} and {length}",
        [
            Column(first),
            Column("interval"),
            Column("calls", COUNT),
            Column("offered", COUNT),
            Column("answered", COUNT),
            Column("abandoned", COUNT),
            Column("service level", PERCENT),
            Column("ASA", SECONDS),
            Column("AHT", SECONDS),
        ],
        note=note,
    )
    for name, start in sorted(groups):
        t = groups[name, start]
        table.rows.append(
            [
                name or "(none)",
                start.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M %Z"),
                t.calls,
                t.offered,
                t.answered,
                t.counted_abandons,
                t.service_level,
                t.asa,
                t.aht,
            ]
        )
    return table


def _per_group_intervals(report: Report) -> list[Table]:
    """The interval tables of each tenant and each queue, when there are several of them."""
    tables = []
    if len(report.by_tenant) > 1:
        tables.append(
            _group_intervals(
                report,
                "intervals-tenants",
                "tenant",
                report.by_tenant_interval,
                "each tenant's intervals in its own time zone (tenants.yaml), else the report's",
            )
        )
    if len(report.by_queue) > 1:
        tables.append(
            _group_intervals(
                report,
                "intervals-queues",
                "queue",
                report.by_queue_interval,
                "calls that waited in each queue, by when they started, in the report's zone",
            )
        )
    return tables


def _surveys(report: Report) -> list[Table]:
    """Survey results per question, then per question and the call's tenant, queue and agent."""
    if not report.surveys:
        return []
    questions = Table(
        "surveys",
        "Survey answers",
        [
            Column("question"),
            Column("scale"),
            Column("asked", COUNT),
            Column("answered", COUNT),
            Column("response", PERCENT),
            Column("mean", SCORE),
            Column("yes", PERCENT),
            Column("answers", wrap=30),
        ],
        note="mean: of the answers on a number scale; yes: share of yes on a yes/no question",
    )
    for question in sorted(report.surveys):
        t = report.surveys[question]
        questions.rows.append(
            [
                question,
                t.scale,
                t.asked,
                t.answered,
                t.response_rate,
                t.mean,
                t.yes_share,
                t.answers_text(),
            ]
        )
    groups = Table(
        "surveys-groups",
        "Survey answers per tenant, queue and agent",
        [
            Column("question"),
            Column("by"),
            Column("of"),
            Column("answered", COUNT),
            Column("mean", SCORE),
            Column("yes", PERCENT),
        ],
        note="queue and agent: the queue the caller waited in and the agent who answered",
    )
    for question, by, name in sorted(report.survey_groups):
        t = report.survey_groups[question, by, name]
        groups.rows.append([question, by, name, t.answered, t.mean, t.yes_share])
    return [questions, groups]


def _outcomes(t: Totals) -> Table:
    table = Table(
        "outcomes",
        "Outcomes",
        [Column("outcome"), Column("calls", COUNT), Column("share", PERCENT)],
    )
    table.rows = [
        [outcome, t.outcomes[outcome], t.outcomes[outcome] / t.calls if t.calls else None]
        for outcome in OUTCOMES
    ]
    return table


def _goals(t: Totals) -> Table:
    table = Table(
        "goals",
        "Goals reached",
        [Column("goal"), Column("calls", COUNT), Column("share of calls", PERCENT)],
    )
    table.rows = [[goal, n, n / t.calls] for goal, n in sorted(t.goals.items())]
    return table


def _seconds_text(seconds: float) -> str:
    return f"{seconds:g}s"


def _queues(report: Report) -> Table:
    table = Table(
        "queues",
        "Per queue",
        [
            Column("queue"),
            Column("target"),
            Column("queued", COUNT),
            Column("answered", COUNT),
            Column("abandoned", COUNT),
            Column("other exits", COUNT),
            Column("ASA", SECONDS),
            Column("service level", PERCENT),
            Column("AHT", SECONDS),
            Column("longest wait", SECONDS),
        ],
        note="abandoned: short abandons out; other exits: max_wait, a key out (voicemail, menu), "
        "a callback",
    )
    for name in sorted(report.by_queue):
        t = report.by_queue[name]
        table.rows.append(
            [
                name,
                " / ".join(_seconds_text(s) for s in sorted(t.targets)),
                t.queued,
                t.answered,
                t.counted_abandons,
                t.left_queue_otherwise,
                t.asa,
                t.service_level,
                t.aht,
                t.longest_wait,
            ]
        )
    return table


def _agents(report: Report) -> Table:
    times = report.agent_times
    table = Table(
        "agents",
        "Per agent",
        [
            Column("agent"),
            Column("name"),
            Column("calls", COUNT),
            Column("missed", COUNT),
            Column("talk", SECONDS),
            Column("wrap-up", SECONDS),
            Column("AHT", SECONDS),
            Column("logged in", SECONDS),
            Column("ready", SECONDS),
            Column("occupancy", PERCENT),
        ],
        note="missed: rang, not answered; occupancy: talk + wrap-up over ready + ringing + talk + "
        "wrap-up"
        if times.kept
        else "no agent state log in this journal for the period: no agent time or occupancy",
    )
    for agent in sorted(set(report.by_agent) | set(times.agents)):
        a = report.by_agent.get(agent, AgentTotals())
        t = times.agents.get(agent)
        table.rows.append(
            [
                agent,
                times.names.get(agent, ""),
                a.calls,
                t.missed if t else None,
                a.talk_seconds,
                a.wrap_up_seconds,
                a.aht,
                t.logged_in if t else None,
                t.ready if t else None,
                t.occupancy if t else None,
            ]
        )
    return table


def _breaks(report: Report) -> Table:
    times = report.agent_times
    table = Table(
        "breaks",
        "Breaks per agent and reason",
        [Column("agent"), Column("reason"), Column("time", SECONDS)],
        note="from the agent state log; a break after missed calls says how many",
    )
    for agent in sorted(times.agents):
        breaks = times.agents[agent].breaks
        for reason in sorted(breaks):
            table.rows.append([agent, reason, breaks[reason]])
    return table


def _waits(report: Report) -> Table:
    table = Table(
        "waits",
        "Wait-time distribution (queued calls)",
        [
            Column("wait"),
            Column("answered", COUNT),
            Column("abandoned", COUNT),
            Column("other exits", COUNT),
        ],
    )
    for bucket in report.waits:
        table.rows.append(
            [wait_label(bucket.low, bucket.high), bucket.answered, bucket.abandoned, bucket.other]
        )
    return table


def wait_label(low: float, high: float | None) -> str:
    """A wait bin as a person reads it: ``10-20s``, ``1-2m``, ``10m+``."""

    def short(seconds: float) -> str:
        return f"{seconds / 60:g}m" if seconds >= 60 else f"{seconds:g}s"

    if high is None:
        return f"{short(low)}+"
    if low >= 60 or high < 60:
        return f"{short(low)[:-1]}-{short(high)}"
    return f"{short(low)}-{short(high)}"


def _results_text(results) -> str:
    def order(label: str) -> tuple:
        return (label in (ENDED, FAILED), not label.isdigit(), label)

    return ", ".join(f"{label}:{results[label]}" for label in sorted(results, key=order))


def _funnel(report: Report, flow: str) -> Table:
    table = Table(
        f"funnel-{flow}",
        f"Node funnel: {flow}",
        [
            Column("node"),
            Column("type"),
            Column("entries", COUNT),
            Column("calls", COUNT),
            Column("hang-ups", COUNT),
            Column("zero-outs", COUNT),
            Column("results", wrap=30),
        ],
        note=f"results: label:count; {ENDED} the call ended there, {FAILED} it failed there",
    )
    for node in report.flow_nodes(flow):
        table.rows.append(
            [
                node.node,
                node.type,
                node.entries,
                node.calls,
                node.hangups,
                node.zero_outs,
                _results_text(node.results),
            ]
        )
    return table


def _hour(hour: int) -> str:
    return f"{hour:02d}:00"


def _day(day: dt.date) -> str:
    return day.isoformat()


def _tenants(report: Report) -> Table:
    def named(tenant: str) -> str:
        name = report.tenant_names.get(tenant)
        return f"{tenant} ({name})" if name else tenant or "(none)"

    table = _grouped("tenants", "Per tenant", "tenant", report.by_tenant, named)
    table.columns[0].wrap = TENANT_WIDTH  # long company names take two lines in a terminal
    return table


def report_tables(report: Report) -> list[Table]:
    """Every table of the report, in reading order."""
    return [
        _summary(report.totals),
        _outcomes(report.totals),
        _goals(report.totals),
        _grouped("hours", "Per hour of day", "hour", report.by_hour, _hour),
        _grouped("days", "Per day", "day", report.by_day, _day),
        *([_intervals(report), *_per_group_intervals(report)] if report.interval else []),
        _tenants(report),
        _queues(report),
        _agents(report),
        *([_breaks(report)] if any(t.breaks for t in report.agent_times.agents.values()) else []),
        _waits(report),
        *_surveys(report),
        *(_funnel(report, flow) for flow in sorted(report.funnels)),
    ]
