"""The ``record:`` option of a flow, a tenant and a queue: what is recorded, when, how long.

``record: {from: answer|agent, stereo: true, consent: PROMPT, opt_out_key: "9", retention: 90d,
path: "{tenant}/{date}/{call_id}.wav"}`` (DESIGN.md §10). A tenant's policy wins over its flow's
(the company decides what it records, and the same flow may serve several); a queue's policy
records its calls from the agent's answer when nothing records the call yet. The path is relative
to the controller's recordings folder; its extension says the format FreeSWITCH writes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from ivr.flow.fields import INVALID, CheckContext, Duration, Field, Flag, Obj, PromptField, Text
from ivr.flow.prompts import Prompt
from ivr.flow.source import LDict, Mark

RECORD_FROM = ["answer", "agent"]
FORMATS = ["wav"]
"""File formats the recordings may have: what FreeSWITCH writes without extra modules."""
PATH_FIELDS = {
    "tenant": "the tenant's id (or 'none')",
    "flow": "the flow's id",
    "call_id": "the call's uuid",
    "date": "the day the recording starts, YYYY-MM-DD (UTC)",
    "time": "the time it starts, HHMMSS (UTC)",
}
DEFAULT_PATH = "{tenant}/{date}/{call_id}.wav"
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class RecordPolicy:
    """How one flow, tenant or queue records its calls.

    Attributes:
        start: ``answer`` (from the call's answer) or ``agent`` (from when an agent answers).
        stereo: the caller on the left channel, what they hear (prompts, the agent) on the right.
        consent: played once before the recording starts; None records without telling.
        opt_out_key: a key pressed during ``consent`` turns the recording off for the call.
        retention: seconds a recording is kept (``ivr recordings purge``); None keeps it.
        path: where the file goes, under the recordings folder, with ``PATH_FIELDS``.
        owner: whose policy this is, for the journal and logs (``tenant acme``).
    """

    start: str
    stereo: bool
    consent: Prompt | None
    opt_out_key: str | None
    retention: float | None
    path: str
    owner: str

    def file_path(self, **values: str) -> str:
        """The recording's path for one call; each value made safe for a file name."""
        safe = {name: _SAFE.sub("_", value) or "none" for name, value in values.items()}
        return self.path.format_map(safe)


class PathTemplate(Field):
    """A recording's path under the recordings folder, with ``{tenant}``, ``{date}``..."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, str) or not value.strip():
            return self._wrong(ctx, "a file path such as " + DEFAULT_PATH, value, mark)
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            ctx.diag.error(
                f"bad recording path {value!r}: {exc}; write {{{{ and }}}} for braces", mark
            )
            return INVALID
        unknown = [name for name in names if name not in PATH_FIELDS]
        if unknown:
            ctx.diag.error(
                f"unknown field {{{unknown[0]}}} in the recording path; "
                f"use {', '.join('{' + n + '}' for n in PATH_FIELDS)}",
                mark,
            )
            return INVALID
        if value.startswith("/") or ".." in value.split("/"):
            ctx.diag.error(
                f"the recording path {value!r} must stay inside the recordings folder "
                "(no leading / and no ..)",
                mark,
            )
            return INVALID
        extension = value.rsplit(".", 1)[-1] if "." in value.rsplit("/", 1)[-1] else ""
        if extension not in FORMATS:
            ctx.diag.error(
                f"the recording path {value!r} must end in .{' or .'.join(FORMATS)} "
                "(the file format FreeSWITCH writes)",
                mark,
            )
            return INVALID
        return value

    def type_doc(self) -> str:
        return "file path with " + ", ".join("{" + n + "}" for n in PATH_FIELDS)

    def schema(self) -> dict:
        return {"type": "string", "pattern": r"^[^/].*\.(" + "|".join(FORMATS) + ")$"}


def record_field(default_start: str) -> Obj:
    """The ``record:`` option; ``default_start`` is when recordings start unless ``from:`` says."""
    return Obj(
        "Record calls (see docs/recording.md): from the answer or the agent's, stereo, consent",
        fields={
            "from": Text(
                "When the recording starts: at the answer, or when an agent answers",
                choices=RECORD_FROM,
                default=default_start,
            ),
            "stereo": Flag(
                "The caller on the left channel, what they hear (prompts, the agent) on the right",
                default=True,
            ),
            "consent": PromptField("Played before the recording starts: this call is recorded"),
            "opt_out_key": Text(
                "A key the caller presses during the consent prompt to turn recording off",
                pattern=r"[0-9*#]",
                pattern_doc="one key: 0-9, * or #",
            ),
            "retention": Duration("How long recordings are kept (ivr recordings purge), e.g. 90d"),
            "path": PathTemplate(
                "Where the file goes, under the recordings folder", default=DEFAULT_PATH
            ),
        },
    )


def record_policy(opts: Any, owner: str, where: LDict, ctx: CheckContext) -> RecordPolicy | None:
    """The policy from the checked ``record:`` mapping of ``where``; None when absent or wrong."""
    if opts is None or opts is INVALID:
        return None
    if opts["opt_out_key"] is not None and opts["consent"] is None:
        ctx.diag.error(
            "opt_out_key needs a consent prompt that tells the caller which key to press",
            where.value_mark("record"),
        )
        return None
    return RecordPolicy(
        start=opts["from"],
        stereo=bool(opts["stereo"]),
        consent=opts["consent"],
        opt_out_key=opts["opt_out_key"],
        retention=opts["retention"],
        path=opts["path"],
        owner=owner,
    )
