"""The one small base class every node type derives from, built-in or plugin.

A node type is a class with a ``type_name`` (what analysts write after ``type:``), a one-line
``summary`` for logs, its options declared as data (``options``: name -> Field), an ``example``
flow for the reference (``ivr docs``), and ``run``, which does the node's work on a call and
returns the label of the edge to follow. Read one node type and you know them all.

Everything else the framework needs to know about a node type it asks the class, through hooks
with defaults here, so a new node type is one file and a simple one needs none of them: how it
is drawn (``diagram_lines``, ``diagram_links``), what it says besides its prompts
(``fixed_speech``) and in which languages (``language_switches``), whether keys typed ahead
reach it (``keeps_typed_ahead``, ``collects_keys``), the flows it runs (``flows_called``), what
it needs from the controller (``needs``), and its cross-file checks (``check``). What it adds to
the journal it writes while it runs (``call.note``, and the record's fields for outcomes).

``run`` gets the call as ``NodeCall`` describes it: everything a node may see and do on a call.
The interpreter's ``ivr.runtime.call.Call`` is one; nodes never reach the channel beneath it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ivr.errors import IvrError
from ivr.flow.config import Tenant
from ivr.flow.diagram import DiagramLink
from ivr.flow.fields import Field
from ivr.flow.prompts import Prompt
from ivr.flow.source import Mark
from ivr.prompts.speech import FixedSpeech
from ivr.runtime.channel import BridgeResult, CallInfo, Collected, RecordResult, Utterance
from ivr.runtime.record import CallRecord

if TYPE_CHECKING:
    # The compiler imports this module: these two are named in annotations only.
    from ivr.flow.compiler import Project, ProjectCheck


RETURN = "\x00return"
"""The label a ``return`` node gives: the subflow is done, go back to the calling flow."""


class NodeError(IvrError):
    """A recoverable failure of one node (bad template, failed lookup): take its error edge."""


@runtime_checkable
class NodeCall(Protocol):
    """The call a node runs on: what it may read, and the helpers it does its work with.

    Attributes:
        project: the compiled project (flows, queues, schedules, tenants).
        services: what calls share in one controller: ``agents`` (the agent pool),
            ``callbacks``, ``recordings_dir``, ``node_state`` (per node type, across calls).
        info: who called which number, and the call's id.
        tenant: the company the call is for, if any.
        language: the language spoken now; ``voice``: its TTS voice.
        vars: the call's variables, as templates see them.
        record: the journal record being written (outcome fields: queue, agent, voicemail...).
        log: a logger whose lines carry the call id and the node.
        pending_digits: keys pressed ahead, for the next node that collects keys.
    """

    project: Project
    services: Any
    info: CallInfo
    tenant: Tenant | None
    language: str
    voice: str | None
    vars: dict[str, Any]
    record: CallRecord
    log: logging.LoggerAdapter
    pending_digits: str

    def context(self) -> dict[str, Any]:
        """The variables templates see: built-ins, then the call's own."""

    def render(self, template: str) -> str:
        """Render a template; a failure is a NodeError."""

    def evaluate(self, expression: str) -> Any:
        """Evaluate an expression; a failure is a NodeError."""

    def utterances(self, prompt: Prompt | None) -> list[Utterance]:
        """A prompt rendered for the call's language."""

    def say(self, prompt: Prompt | None, *, barge_in: bool = False) -> str:
        """Play a prompt; returns keys pressed over it when ``barge_in`` is on."""

    def collect(
        self,
        prompt: Prompt | None,
        *,
        max_digits: int,
        timeout: float,
        digit_timeout: float,
        terminators: str,
    ) -> Collected:
        """Collect keys after a prompt, starting with keys typed ahead."""

    def ask(self, utterances: list[Utterance], **limits: Any) -> Collected:
        """Play a question and collect its answer, whatever keys were typed ahead.

        ``limits`` are ``Channel.collect``'s: max_digits, timeout, digit_timeout, terminators.
        """

    def play(self, utterances: list[Utterance], *, barge_in: bool = False, keys: str = "") -> str:
        """Play rendered utterances; returns a key that stopped them."""

    def hold(self, seconds: float, *, music: str | None, keys: str = "") -> str:
        """Keep the caller waiting with music; returns a key in ``keys``, or ""."""

    def wake(self) -> None:
        """Cut a running ``hold`` short, from another greenlet."""

    def bridge(self, endpoints: list[str], **options: Any) -> BridgeResult:
        """Ring endpoints and connect the caller to the first that answers.

        ``options`` are ``Channel.bridge``'s: timeout, ringback, whisper, caller_id_name,
        variables, on_answer.
        """

    def transfer(self, destination: str, context: str) -> None:
        """Hand the call to another destination; it leaves the flow."""

    def record_message(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        """Record the caller to ``path``."""

    def set_channel_var(self, name: str, value: str) -> None:
        """Set a variable on the call's line (agents' screens, CDRs)."""

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """End the call from our side."""

    def now(self) -> dt.datetime:
        """The call's clock."""

    def ensure_answered(self) -> None:
        """Answer the call if it is not answered yet."""

    def wait_for(
        self, work: Callable[[], Any], *, filler_after: float, filler: Prompt | None = None
    ) -> Any:
        """Run slow work beside the call, the filler playing while it takes long."""

    def set_var(self, name: str, value: Any) -> None:
        """Set a call variable."""

    def note_input(self, name: str, value: str, sensitive: bool) -> None:
        """Journal what the caller entered, masked when sensitive."""

    def note(self, name: str, value: object) -> None:
        """Journal something the node did on this visit."""

    def set_language(self, language: str, voice: str | None = None) -> None:
        """Speak ``language`` from now on."""

    def voice_for(self, language: str) -> str | None:
        """The voice the call speaks ``language`` with."""

    def run_subflow(self, flow_id: str) -> bool:
        """Run another flow inside this call; True when it returned."""


class Node:
    """Base class of all node types.

    Attributes:
        type_name: the ``type:`` analysts write.
        summary: one line describing the node type, for logs and ``ivr schema``.
        options: the node's options schema, as data.
        example: a complete flow using the node type, for its reference page (YAML; further
            ``---`` documents are flows it calls, each its own file).
        needs_answer: the call must be answered before this node runs (it plays media).
        ends_call: the node ends the call itself, so it needs no way out.
        collects_keys: the node starts by asking for keys, so a prompt just before it lets a
            key stop it (a ``play`` node's ``barge_in`` default) and the key is its first.
        keeps_typed_ahead: keys pressed over an earlier prompt are kept for this node (or,
            for a node that does not listen, for the next one); other nodes drop them.
    """

    type_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options: ClassVar[dict[str, Field]] = {}
    example: ClassVar[str] = ""
    needs_answer: ClassVar[bool] = True
    ends_call: ClassVar[bool] = False
    collects_keys: ClassVar[bool] = False
    keeps_typed_ahead: ClassVar[bool] = False

    def __init__(
        self, name: str, opts: dict[str, Any], flow_id: str, mark: Mark, marks: dict[str, Mark]
    ) -> None:
        self.name = name
        self.opts = opts
        self.flow_id = flow_id
        self.mark = mark
        self.marks = marks
        self.edges: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<{self.type_name} node {self.flow_id}.{self.name}>"

    def diagram_lines(self) -> list[str]:
        """What diagrams (``ivr graph``) show under the node's name: its prompt's text by default.

        A node type whose routing depends on something else (a queue, a schedule) says so first.
        """
        prompt = self.opts.get("prompt")
        return [prompt.plain_text()] if isinstance(prompt, Prompt) else []

    def diagram_links(self) -> list[DiagramLink]:
        """Ways on that are not edges to nodes (a queue's overflow, a callback), for diagrams."""
        return []

    def fixed_speech(self, language: str, tenant_name: str | None) -> FixedSpeech:
        """What the node says on calls in ``language`` besides its options' prompts.

        ``ivr prompts build`` pre-renders it; the options' own prompts are found without help.

        Args:
            language: the language spoken on the call.
            tenant_name: the tenant's name on its calls (e.g. in an agent's whisper), None on
                calls without a tenant.
        """
        return FixedSpeech()

    def language_switches(self) -> list[tuple[str, str | None]]:
        """The languages (with the voice, None: the call's for it) the node switches calls to.

        Prompts are pre-rendered in each of them.
        """
        return []

    def flows_called(self) -> list[str]:
        """The flows the node runs inside the call, which share its variables (a subflow)."""
        return []

    def needs(self) -> set[str]:
        """What the node, as configured, needs from the controller beyond a call.

        ``callback_dialer``: it offers callbacks, which need a way to ring agents and callers.
        """
        return set()

    def check(self, project: ProjectCheck) -> dict[str, Any] | None:
        """Cross-file checks (a queue that exists, a schedule that exists); report via project.

        ``self.opts`` is left as it is: options normalised here (a default that depends on the
        node after this one, a pattern compiled) go into a new dict the compiler puts in place.

        Returns:
            A new dict of the node's options, normalised, or None when nothing changes.
        """
        return None

    def run(self, call: NodeCall) -> str | None:
        """Do the node's work on ``call`` and return the label of the edge to follow.

        Returns:
            An edge label present in ``self.edges``, or None when the call has ended.

        Raises:
            NodeError: a recoverable failure; the interpreter takes the node's ``error`` edge.
            CallerHungUp: the caller hung up; it unwinds the whole call.
        """
        raise NotImplementedError
