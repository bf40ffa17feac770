"""``hours``: route by opening hours from schedules.yaml, on the call's clock."""

from __future__ import annotations

from ivr.flow.fields import Edge, Text
from ivr.nodes.base import Node


class Hours(Node):
    """Goes to ``open`` or ``closed`` (or ``holiday`` when given) by a named schedule.

    The call's clock is read in the schedule's own time zone. A date in the schedule's
    ``holidays`` is closed all day, whatever ``weekly`` says: the call goes to ``holiday`` when
    the node has that edge, else to ``closed``. Between two ranges of one day (a lunch break,
    ``mon-fri: ["09:00-12:00", "13:00-18:00"]``) the schedule is closed; a range is open from its
    first minute and closed from its end minute on.
    """

    type_name = "hours"
    summary = "Route by opening hours (schedules.yaml)"
    needs_answer = False
    options = {
        "schedule": Text("A schedule from schedules.yaml", required=True),
        "open": Edge("Where to go during opening hours", label="open", required=True),
        "closed": Edge("Where to go outside opening hours", label="closed", required=True),
        "holiday": Edge("Where to go on a holiday (default: closed)", label="holiday"),
    }

    example = """\
flow: example_hours
start: open_check
nodes:
  open_check:
    type: hours
    schedule: weekdays_9_18      # from schedules.yaml
    open: operator
    closed: after_hours
    holiday: holiday             # without it a holiday goes to closed
  operator:
    type: queue
    queue: retail
  after_hours:
    type: hangup
    prompt: "We are open weekdays from 9 to 6. Please call again then."
  holiday:
    type: hangup
    prompt: "We are closed for the holiday."
"""

    def diagram_lines(self) -> list[str]:
        return [f"schedule {self.opts['schedule']}"]

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
        now = call.now()
        if self.opts["holiday"] is not None and schedule.is_holiday(now):
            return "holiday"
        return "open" if schedule.is_open(now) else "closed"


NODE = Hours
