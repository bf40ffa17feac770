"""The key figures a supervisor looks at first, each with its definition.

One list feeds the big numbers at the top of the HTML page, the first lines of the terminal
report and the ``kpis`` of the JSON report, and it reads the same ``Totals`` as the summary
table, so no two of them can disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ivr.report.figures import Totals
from ivr.report.tables import COUNT, PERCENT, SECONDS


@dataclass(frozen=True)
class Kpi:
    """One key figure.

    Attributes:
        key: a stable identifier (JSON key, HTML element id ``kpi-KEY``).
        label: the name a supervisor reads.
        value: a count, a fraction (0..1) or seconds, as ``kind`` says; None when it does not
            apply (no call to take a share of).
        kind: ``count``, ``percent`` (a fraction) or ``seconds``, as the tables' columns.
        definition: how it is counted, in a sentence (the page's tooltip).
        previous: the same figure over the period of equal length just before (None: no call
            then, or no comparison asked for).
    """

    key: str
    label: str
    value: float | int | None
    kind: str
    definition: str
    previous: float | int | None = None


def kpis(totals: Totals, previous: Totals | None = None) -> list[Kpi]:
    """The key figures of ``totals`` (a report's ``totals``), in the order they are shown.

    Args:
        totals: the report's totals.
        previous: the totals of the period just before (``Report.previous``), to compare with.
    """
    figures = _figures(totals)
    if previous is None:
        return figures
    return [
        replace(now, previous=before.value)
        for now, before in zip(figures, _figures(previous), strict=True)
    ]


def _figures(totals: Totals) -> list[Kpi]:
    short = (
        f"callers who hung up in under {totals.short_abandon:g}s left out"
        if totals.short_abandon
        else "every hang-up in a queue counted"
    )
    return [
        Kpi("calls", "Calls", totals.calls, COUNT, "Every call of the period, whatever ended it."),
        Kpi(
            "containment",
            "Containment",
            totals.containment,
            PERCENT,
            "Self-served calls (reached a goal, never queued or transferred) ÷ all calls.",
        ),
        Kpi(
            "abandon_rate",
            "Abandon rate",
            totals.queue_abandonment,
            PERCENT,
            f"Callers who hung up while waiting in a queue ({short}) ÷ calls offered.",
        ),
        Kpi(
            "service_level",
            "Service level",
            totals.service_level,
            PERCENT,
            "Calls answered within their queue's own answer-time target ÷ calls offered.",
        ),
        Kpi(
            "asa",
            "ASA",
            totals.asa,
            SECONDS,
            "Average speed of answer: mean wait of answered calls, from entering the queue to "
            "an agent answering, ringing included.",
        ),
        Kpi(
            "aht",
            "AHT",
            totals.aht,
            SECONDS,
            "Average handle time: mean talk and wrap-up time of answered calls.",
        ),
        Kpi(
            "longest_wait",
            "Longest wait",
            totals.longest_wait,
            SECONDS,
            "The longest time any caller spent in a queue.",
        ),
        Kpi(
            "callbacks_reached",
            "Callbacks reached",
            totals.callback_reach,
            PERCENT,
            "Callbacks made whose caller answered and was connected to an agent ÷ callbacks made.",
        ),
    ]
