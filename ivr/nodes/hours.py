"""``hours``: route by opening hours from schedules.yaml, on the call's clock."""

from __future__ import annotations

from ivr.flow.fields import Edge, Text
from ivr.nodes.base import Node


class Hours(Node):
    """Goes to ``open`` or ``closed`` (or ``holiday`` when given) by a named schedule."""

    type_name = "hours"
    summary = "Route by opening hours (schedules.yaml)"
    needs_answer = False
    options = {
        "schedule": Text("A schedule from schedules.yaml", required=True),
        "open": Edge("Where to go during opening hours", label="open", required=True),
        "closed": Edge("Where to go outside opening hours", label="closed", required=True),
        "holiday": Edge("Where to go on a holiday (default: closed)", label="holiday"),
    }

    def check(self, project) -> None:
        if self.opts["schedule"] not in project.project.schedules:
            project.unknown(
                "schedule",
                self.opts["schedule"],
                list(project.project.schedules),
                self.marks["schedule"],
                "schedules.yaml",
            )

    def run(self, call) -> str:
        schedule = call.project.schedules[self.opts["schedule"]]
        now = call.channel.now()
        if self.opts["holiday"] is not None and schedule.is_holiday(now):
            return "holiday"
        return "open" if schedule.is_open(now) else "closed"


NODE = Hours
