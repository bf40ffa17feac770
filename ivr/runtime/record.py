"""The record a call leaves behind: node path, inputs, goals, queue times, and one outcome.

Every call gets exactly one outcome (DESIGN.md §6), decided from what happened, whichever way the
call ended: the flow finished, the caller hung up, or something failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

OUTCOMES = (
    "self_served",
    "completed",
    "answered",
    "abandoned",
    "ivr_hangup",
    "transferred",
    "voicemail",
    "callback",
    "error",
)


@dataclass
class Visit:
    """One node visit: when, which node, and the outcome label it took.

    Attributes:
        detail: why the node failed, when it did.
        notes: what the node wrote down about this visit (``Call.note``), name -> value.
    """

    flow: str
    node: str
    type: str
    at: dt.datetime
    result: str | None = None
    detail: str = ""
    notes: dict[str, str] = field(default_factory=dict)


RECORDING_STATUSES = ("recorded", "declined", "failed", "discarded", "stopped", "deleted")
"""What became of a call's recording: ``recorded`` (a file), ``declined`` (the caller opted
out at the consent prompt), ``failed`` (the switch could not record), ``discarded`` (nothing
was said: FreeSWITCH removes an empty file, e.g. no agent ever answered), ``stopped`` (cut
short because a sensitive entry could not be masked: the file holds what came before),
``deleted`` (its retention ran out and ``ivr recordings purge`` removed the file)."""


@dataclass
class Recording:
    """One recording of a call, as the journal links it.

    Attributes:
        path: the file, as the switch wrote it.
        owner: whose ``record:`` policy made it (``tenant acme``, ``queue help``).
        status: one of ``RECORDING_STATUSES``.
        started_at: when it started (for ``from: agent``, when it was armed).
        stereo: two channels asked for (the caller left, what they hear right).
        masked: the spans written as silence, in seconds from the start of the file.
        seconds: the file's length, read from it once the switch closed it.
        channels: the file's channels, read from it.
        sha256: the file's hash, once closed; ``ivr recordings verify`` compares it.
        keep_until: when ``ivr recordings purge`` may delete it (retention); None: kept.
        detail: why it failed, was stopped or could not be sealed.
    """

    path: str
    owner: str
    status: str
    started_at: dt.datetime
    stereo: bool = True
    masked: list[tuple[float, float]] = field(default_factory=list)
    seconds: float | None = None
    channels: int | None = None
    sha256: str | None = None
    keep_until: dt.datetime | None = None
    detail: str = ""


@dataclass
class CallRecord:
    """Everything the journal keeps about one call."""

    call_id: str
    caller: str
    dialed: str
    flow: str
    tenant: str | None
    started_at: dt.datetime
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    visits: list[Visit] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    inputs: list[tuple[str, str, str]] = field(default_factory=list)
    lookups: list[tuple[str, str, str]] = field(default_factory=list)
    queue: str | None = None
    queued_at: dt.datetime | None = None
    queue_let_go_at: dt.datetime | None = None
    """When the queue let the caller go on without an agent (``max_wait``, a key to leave)."""
    agent: str | None = None
    agent_answered_at: dt.datetime | None = None
    talk_seconds: float = 0.0
    transferred_to: str | None = None
    voicemail: str | None = None
    callback: str | None = None
    """The number to call back, when the caller chose a callback in a queue."""
    recordings: list[Recording] = field(default_factory=list)
    hung_up_by_caller: bool = False
    in_queue_at_end: bool = False
    error: str | None = None
    outcome: str | None = None

    @property
    def path(self) -> list[str]:
        """The names of the nodes visited, in order."""
        return [v.node for v in self.visits]

    @property
    def left_queue_at(self) -> dt.datetime | None:
        """When the caller stopped waiting in the queue.

        That is when an agent answered, when the queue let them go on (``max_wait``, a key to
        leave), or else when the call ended (the caller hung up in the queue, a callback).
        """
        if self.queued_at is None:
            return None
        if self.agent_answered_at is not None:
            return self.agent_answered_at
        if self.queue_let_go_at is not None:
            return self.queue_let_go_at
        return self.ended_at

    @property
    def wait_seconds(self) -> float | None:
        """Time from entering the queue to leaving it (see ``left_queue_at``)."""
        left = self.left_queue_at
        if self.queued_at is None or left is None:
            return None
        return (left - self.queued_at).total_seconds()

    def decide_outcome(self) -> str:
        """Choose the call's one outcome from what happened, most significant first."""
        if self.agent_answered_at is not None:
            return "answered"
        if self.callback is not None:
            return "callback"
        if self.voicemail is not None:
            return "voicemail"
        if self.transferred_to is not None:
            return "transferred"
        if self.hung_up_by_caller and self.in_queue_at_end:
            return "abandoned"
        if self.error is not None:
            return "error"
        if self.goals and self.queued_at is None:
            return "self_served"
        if self.hung_up_by_caller:
            return "ivr_hangup"
        return "completed"
