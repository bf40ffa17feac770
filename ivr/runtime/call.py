"""The per-call interpreter: walks a compiled flow on one Channel and keeps the call's record.

One ``Call`` per phone call. Nodes do their work through the helpers here (rendering prompts,
collecting keys, variables, goals, and the line itself: playing, holding, bridging, hanging
up), so they never use the channel, let alone see how it is implemented. Failures
come in two kinds, as in jambonz: a recoverable node failure (``NodeError``, a template error)
takes the node's error edge; anything else ends the call politely with the outcome ``error``.
A hang-up (``CallerHungUp``) unwinds everything and the record is still closed; one by
FreeSWITCH itself (``SwitchHungUp``, it shut down) is journaled as an error, not as the caller's.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent

from ivr.acd import AgentPool, CallbackService
from ivr.errors import IvrError
from ivr.flow.compiler import CompiledFlow, Project
from ivr.flow.config import Tenant
from ivr.flow.prompts import Prompt, SayPart, SoundPart, TextPart
from ivr.flow.templates import TemplateError, evaluate, render
from ivr.nodes.base import RETURN, Node, NodeError
from ivr.prompts.pieces import spoken_value
from ivr.prompts.sayas import SayAsError
from ivr.prompts.speech import APOLOGY, FILLER, in_language
from ivr.prompts.voices import voice_for
from ivr.runtime.channel import (
    BridgeResult,
    CallEnded,
    CallerHungUp,
    Channel,
    ChannelError,
    Collected,
    RecordResult,
    SwitchHungUp,
    Utterance,
    split_entry,
)
from ivr.runtime.record import CallRecord, Visit
from ivr.runtime.recording import CallRecorder

log = logging.getLogger("ivr.call")

MAX_NODE_VISITS = 5000
"""A flow that visits this many nodes in one call is looping without the caller; stop it."""
MAX_SUBFLOW_DEPTH = 16


class CallLogAdapter(logging.LoggerAdapter):
    """Prefixes log lines with the call id and the current ``node:type`` so one call greps."""

    def process(self, msg: str, kwargs: Any) -> tuple[str, Any]:
        call: Call | None = self.extra["call"]()
        if call is None:
            return msg, kwargs
        where = f" {call.current.name}:{call.current.type_name}" if call.current else ""
        return f"[{call.info.call_id}{where}] {msg}", kwargs


class _Fatal(IvrError):
    """A node failed with no error edge anywhere: the call ends with an apology."""


@dataclass
class CallServices:
    """What calls share: the compiled project, the operator pool and its callbacks."""

    project: Project
    agents: AgentPool = field(default=None)  # type: ignore[assignment]
    recordings_dir: str = "var/recordings"
    callbacks: CallbackService = field(default=None)  # type: ignore[assignment]
    node_state: dict[str, Any] = field(default_factory=dict)
    """What node types keep across the calls of one controller (sign-in failures), by type."""
    on_call_start: Callable[[Call], None] | None = None
    """Called with each call as its flow starts (``ivr serve`` notes it open in the journal, so
    a call cut by the controller's death is still accounted for when it starts again)."""

    def __post_init__(self) -> None:
        if self.agents is None:
            self.agents = AgentPool(self.project.agents, self.project.queues)
        if self.callbacks is None:
            self.callbacks = CallbackService(self.agents)


class Call:
    """One call's interpreter state: variables, language, position in the flow, and record."""

    def __init__(
        self,
        services: CallServices,
        flow: CompiledFlow,
        channel: Channel,
        tenant: Tenant | None = None,
        on_visit: Callable[[Visit], None] | None = None,
    ) -> None:
        self.services = services
        self.on_visit = on_visit
        self.project = services.project
        self.flow = flow
        self.channel = channel
        self.info = channel.info
        if not self.info.call_id:
            self.info.call_id = str(uuid.uuid4())
        self.tenant = tenant
        self.language = (tenant.language if tenant and tenant.language else None) or flow.language
        self.voice = voice_for(self.language, flow, tenant)
        self.vars: dict[str, Any] = {}
        self.pending_digits = ""
        self.answered = False
        self.current: Node | None = None
        self.visit: Visit | None = None
        # A weak reference: the call would otherwise hold itself through its logger, and a
        # finished call must be freed as soon as its last reference goes (see ivr/gc_policy.py).
        self.log = CallLogAdapter(log, {"call": weakref.ref(self)})
        self.record = CallRecord(
            call_id=self.info.call_id,
            caller=self.info.caller,
            dialed=self.info.dialed,
            flow=flow.id,
            tenant=tenant.id if tenant else None,
            started_at=channel.now(),
        )
        self.recorder = CallRecorder(self)
        self._visits = 0
        self._depth = 0
        self._init_vars(flow)

    # ----------------------------------------------------------------- running the flow

    def run(self) -> CallRecord:
        """Run the call to its end, whatever happens, and return its closed record."""
        self.log.info(
            "call from %s to %s starts flow %s",
            self.info.caller or "unknown",
            self.info.dialed or "unknown",
            self.flow.id,
        )
        if self.services.on_call_start is not None:
            try:
                self.services.on_call_start(self)
            except Exception:  # noting the call must never cost the caller the call
                self.log.exception("noting the call's start failed")
        try:
            if self._run_flow(self.flow):
                self.hangup()  # a top-level `return` ends the call like `hangup`
        except SwitchHungUp as exc:
            self.log.warning("%s", exc)
            self.record.error = str(exc)
        except CallerHungUp:
            self.record.hung_up_by_caller = True
            self.log.info("caller hung up")
        except _Fatal as exc:
            self.record.error = str(exc)
            self._apologise()
        except CallEnded:
            pass
        except ChannelError as exc:
            self.log.error("the call's channel failed: %s", exc)
            self.record.error = f"channel: {exc}"
            self._apologise()
        except Exception as exc:  # a bug must cost one call, never the controller
            self.log.exception("unexpected failure")
            self.record.error = f"{type(exc).__name__}: {exc}"
            self._apologise()
        finally:
            self.record.ended_at = self.channel.now()
            self.record.outcome = self.record.decide_outcome()
            self.recorder.finish()
            self.log.info("call ends: %s", self.record.outcome)
        return self.record

    def _run_flow(self, flow: CompiledFlow) -> bool:
        """Walk ``flow`` from its start. True when it reached a ``return`` node."""
        name: str | None = flow.start
        while name is not None:
            self._visits += 1
            if self._visits > MAX_NODE_VISITS:
                raise _Fatal(f"flow {flow.id} visited {MAX_NODE_VISITS} nodes; it is looping")
            node = flow.nodes[name]
            self.current = node
            visit = self.visit = Visit(flow.id, name, node.type_name, self.channel.now())
            self.record.visits.append(visit)
            if self.on_visit is not None:
                self.on_visit(visit)
            if node.needs_answer:
                self.ensure_answered()
            if not node.keeps_typed_ahead:
                self.pending_digits = ""
            self.log.debug("enter")
            label = self._run_node(node, flow, visit)
            visit.result = label
            if label is None:
                return False
            if label == RETURN:
                return True
            name = node.edges[label] if label in node.edges else flow.on_error
        return False

    def _run_node(self, node: Node, flow: CompiledFlow, visit: Visit) -> str | None:
        try:
            label = node.run(self)
        except (NodeError, TemplateError, SayAsError) as exc:
            visit.detail = str(exc)
            # The text, not the exception: a log record kept by a handler must not keep the
            # exception's frames, and with them the call, alive.
            self.log.warning("node failed: %s", visit.detail)
            if "error" in node.edges:
                return "error"
            if flow.on_error and flow.on_error != node.name:
                return "error"  # _run_flow falls back to the flow-wide error node
            raise _Fatal(f"{flow.id}.{node.name}: {exc}") from exc
        if label is not None and label != RETURN and label not in node.edges:
            raise _Fatal(f"{node!r} returned outcome '{label}', which has no edge")
        goal = node.opts.get("goal")
        if goal and label != "error" and goal not in self.record.goals:
            self.record.goals.append(goal)
        return label

    def run_subflow(self, flow_id: str) -> bool:
        """Run another flow inside this call; True when it returned, False when the call ended."""
        flow = self.project.flows[flow_id]
        if self._depth >= MAX_SUBFLOW_DEPTH:
            raise _Fatal(f"subflows nested more than {MAX_SUBFLOW_DEPTH} deep")
        self._init_vars(flow)
        self._depth += 1
        try:
            return self._run_flow(flow)
        finally:
            self._depth -= 1

    def _init_vars(self, flow: CompiledFlow) -> None:
        # Variables a flow may set later exist from the start as None, so a template can test
        # them (`{{ 10 if acct and acct.vip else 0 }}`) before the lookup has run.
        for name in flow.variables:
            self.vars.setdefault(name, None)
        for name, value in flow.vars.items():
            self.vars[name] = value

    def _apologise(self) -> None:
        self.log.error("call ends with an apology: %s", self.record.error)
        text = in_language(APOLOGY, self.language)
        try:
            self.ensure_answered()
            self.channel.play([Utterance(text, self.language, self.voice)], barge_in=False)
            self.channel.hangup("NORMAL_TEMPORARY_FAILURE")
        except (CallEnded, ChannelError):
            pass
        except Exception:
            self.log.exception("could not apologise to the caller")

    # ----------------------------------------------------------------- helpers for nodes

    def context(self) -> dict[str, Any]:
        """The variables templates see: built-ins, then the call's own."""
        tenant = self.tenant
        return {
            "caller": self.info.caller,
            "caller_name": self.info.caller_name,
            "dialed": self.info.dialed,
            "tenant": tenant.id if tenant else "",
            "tenant_name": tenant.name if tenant else "",
            "language": self.language,
            "now": self.channel.now(),
            "call_id": self.info.call_id,
            **self.vars,
        }

    def render(self, template: str) -> str:
        """Render a template; a failure is a NodeError (the node's error edge)."""
        try:
            return render(template, self.context())
        except (CallEnded, NodeError):
            raise
        except Exception as exc:  # a template may raise anything: 1/0, TypeError, OverflowError
            raise NodeError(f"template {template!r} failed: {exc}") from exc

    def evaluate(self, expression: str) -> Any:
        """Evaluate an expression; a failure is a NodeError (the node's error edge)."""
        try:
            return evaluate(expression, self.context())
        except (CallEnded, NodeError):
            raise
        except Exception as exc:  # as in render: any error of the expression is the node's
            raise NodeError(f"expression {expression!r} failed: {exc}") from exc

    def utterances(self, prompt: Prompt | None) -> list[Utterance]:
        """Render a prompt for this call's language into what the channel plays."""
        if prompt is None:
            return []
        out: list[Utterance] = []
        for part in prompt.for_language(self.language):
            if isinstance(part, TextPart):
                language = part.language or self.language
                voice = self.voice if language == self.language else self.voice_for(language)
                out.append(Utterance(self.render(part.template), language, voice))
            elif isinstance(part, SoundPart):
                text = self.render(part.text) if part.text else ""
                out.append(Utterance(text, self.language, self.voice, sound=part.name))
            elif isinstance(part, SayPart):
                out.append(
                    spoken_value(
                        part.kind,
                        self.render(part.value),
                        self.language,
                        self.voice,
                        currency=part.currency,
                        gender=part.gender,
                    )
                )
        return out

    def voice_for(self, language: str) -> str | None:
        """The voice this call speaks ``language`` with when no node names one."""
        return voice_for(language, self.flow, self.tenant)

    def say(self, prompt: Prompt | None, *, barge_in: bool = False) -> str:
        """Play a prompt; returns keys pressed over it when ``barge_in`` is on."""
        utterances = self.utterances(prompt)
        if not utterances:
            return ""
        return self.channel.play(utterances, barge_in=barge_in)

    def wait_for(
        self, work: Callable[[], Any], *, filler_after: float, filler: Prompt | None = None
    ) -> Any:
        """Run slow work (a data source, an API) beside the call, so the line is never silent.

        The work runs in its own greenlet while this one waits; each time it has taken another
        ``filler_after`` seconds without finishing, the caller hears ``filler`` (by default
        "One moment please." in their language). The work bounds itself (its source's timeout
        and retries), so the wait ends. Waiting is on real time, as the work's is: a simulated
        call clock does not move while it waits, only while the filler plays.

        Returns:
            What the work returned.

        Raises:
            Whatever the work raised (a DataSourceError takes the node's error edge), or
            CallerHungUp from the filler, which also stops the work.
        """
        outcome: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                outcome.append((True, work()))
            except Exception as exc:  # handed to the call's greenlet, which raises it
                outcome.append((False, exc))

        job = gevent.spawn(run)
        try:
            job.join(filler_after)
            while not job.ready():
                self.log.info("still waiting after %gs: playing the filler", filler_after)
                self.ensure_answered()
                if filler is not None:
                    self.say(filler)
                else:
                    text = in_language(FILLER, self.language)
                    self.channel.play([Utterance(text, self.language, self.voice)], barge_in=False)
                job.join(filler_after)
        finally:
            if not job.ready():
                job.kill(block=False)
        # Taken out of the list, and dropped once raised: the exception's traceback holds the
        # frames that hold it, a cycle that would keep the call's objects until a full collection.
        done, value = outcome.pop()
        if done:
            return value
        try:
            raise value
        finally:
            del value

    def collect(
        self,
        prompt: Prompt | None,
        *,
        max_digits: int,
        timeout: float,
        digit_timeout: float,
        terminators: str,
        sensitive: bool = False,
    ) -> Collected:
        """Collect keys, starting with any the caller pressed over the previous prompt.

        A ``sensitive`` entry (a card number, a PIN) is masked in the call's recording.
        """
        pending, self.pending_digits = self.pending_digits, ""
        with self.recorder.masked(sensitive):
            if pending:
                entry = split_entry(pending, max_digits, terminators)
                if entry is not None:
                    collected, self.pending_digits = entry
                    return collected
                more = self.channel.collect(
                    [],
                    max_digits=max_digits - len(pending),
                    timeout=digit_timeout,
                    digit_timeout=digit_timeout,
                    terminators=terminators,
                )
                return Collected(pending + more.digits, more.terminator, timed_out=False)
            return self.channel.collect(
                self.utterances(prompt),
                max_digits=max_digits,
                timeout=timeout,
                digit_timeout=digit_timeout,
                terminators=terminators,
            )

    def ensure_answered(self) -> None:
        """Answer the call if it is not answered yet."""
        if not self.answered:
            self.channel.answer()
            self.answered = True
            self.record.answered_at = self.channel.now()
            self.recorder.answered()

    def set_var(self, name: str, value: Any) -> None:
        self.vars[name] = value

    # ----------------------------------------------------------------- the line, for nodes

    def now(self) -> dt.datetime:
        """The call's clock (simulated in tests)."""
        return self.channel.now()

    def play(self, utterances: list[Utterance], *, barge_in: bool = False, keys: str = "") -> str:
        """Play rendered utterances; returns a key that stopped them (see ``Channel.play``)."""
        return self.channel.play(utterances, barge_in=barge_in, keys=keys)

    def ask(
        self, utterances: list[Utterance], *, sensitive: bool = False, **limits: Any
    ) -> Collected:
        """Play a question and collect its answer, whatever keys were typed ahead before it.

        ``limits`` are ``Channel.collect``'s: max_digits, timeout, digit_timeout, terminators.
        A ``sensitive`` answer (a card number, a PIN) is masked in the call's recording.
        """
        with self.recorder.masked(sensitive):
            return self.channel.collect(utterances, **limits)

    def hold(self, seconds: float, *, music: str | None, keys: str = "") -> str:
        """Keep the caller waiting with ``music``; returns a key in ``keys``, or "" (see wake)."""
        return self.channel.wait(seconds, music=music, keys=keys)

    def wake(self) -> None:
        """Cut a running ``hold`` short, from another greenlet (an agent became free)."""
        self.channel.wake()

    def bridge(self, endpoints: list[str], **options: Any) -> BridgeResult:
        """Ring ``endpoints`` and connect the caller to the first that answers.

        ``options`` are ``Channel.bridge``'s: timeout, ringback, whisper, caller_id_name,
        variables, on_answer.
        """
        return self.channel.bridge(endpoints, **options)

    def transfer(self, destination: str, context: str) -> None:
        """Hand the call to ``destination``; it leaves the flow without being hung up."""
        self.channel.transfer(destination, context)

    def record_message(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        """Record the caller to ``path`` (after a beep), until silence, a key or the limit."""
        return self.channel.record(path, max_seconds=max_seconds, beep=beep)

    def set_channel_var(self, name: str, value: str) -> None:
        """Set a variable on the call's line (agents' screens, CDRs), not a template variable."""
        self.channel.set_var(name, value)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """End the call from our side."""
        self.channel.hangup(cause)

    def note_input(self, name: str, value: str, sensitive: bool) -> None:
        """Journal what the caller entered, masked when the node says it is sensitive."""
        shown = "*" * len(value) if sensitive else value
        self.record.inputs.append((self.current.name if self.current else "", name, shown))

    def note(self, name: str, value: object) -> None:
        """Journal something the current node did on this visit (what a plugin adds, say).

        Notes are kept with the visit, as text, and read back with it by ``ivr report``.
        """
        if self.visit is not None:
            self.visit.notes[name] = str(value)

    def set_language(self, language: str, voice: str | None = None) -> None:
        """Speak ``language`` from now on, with ``voice`` or the call's voice for it."""
        self.language = language
        self.voice = voice or self.voice_for(language)
