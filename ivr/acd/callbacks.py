"""Callbacks: a caller hangs up and keeps the place in line; an agent calls them back.

When a callback reaches the head of its line and an agent is free, the pool offers the agent to
it like to a caller. The ``CallbackService`` then has a ``CallbackDialer`` ring the agent first;
once the agent answers, the agent's call reaches ``CallbackService.connect`` (on FreeSWITCH as an
outbound-socket call to the controller, marked with the ``ivr_callback`` variable), where the
agent hears whom the callback is for and the caller's number is dialed. A caller who does not
answer is tried again ``retry_after`` later, keeping the place, until the attempts are used up.

Dialers: ``ivr.freeswitch.callbacks.InboundDialer`` rings agents with ``originate`` over the
inbound event socket; ``ivr.testing.dialer.MemoryDialer`` plays agents' and callers' phones on
simulated time for ``ivr test``; the ESL runner rings through the simulated FreeSWITCH.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import gevent
from gevent.event import Event

from ivr.acd.model import Callback, Waiting
from ivr.acd.pool import AgentPool
from ivr.flow.config import AgentConfig
from ivr.prompts.speech import in_language
from ivr.runtime.channel import CallEnded, Channel, ChannelError, Utterance

log = logging.getLogger("ivr.acd")

CALLBACK_VARIABLE = "ivr_callback"
"""The channel variable that marks an agent's call as the callback with this id."""
CALLER_RING_SECONDS = 30.0
"""How long the caller's phone rings when called back."""
LEG_ARRIVAL_SECONDS = 15.0
"""Real seconds an answered agent's call may take to reach the controller before it is given up."""

_WHISPER = {
    "en": "Callback for {tenant}. Calling the customer now.",
    "ru": "Обратный звонок для {tenant}. Набираем клиента.",
    "bg": "Обратно обаждане за {tenant}. Набираме клиента.",
}
_NOT_REACHED = {
    "en": "The customer did not answer. The callback will be tried again later.",
    "ru": "Клиент не ответил. Мы перезвоним ему позже.",
    "bg": "Клиентът не отговори. Ще опитаме отново по-късно.",
}
_GIVEN_UP = {
    "en": "The customer did not answer. This was the last attempt.",
    "ru": "Клиент не ответил. Это была последняя попытка.",
    "bg": "Клиентът не отговори. Това беше последният опит.",
}


def agent_texts(language: str, tenant_name: str | None) -> list[str]:
    """What agents can hear on callbacks in ``language``, for ``ivr prompts build``."""
    whisper = in_language(_WHISPER, language).format(tenant=tenant_name or "a customer")
    return [whisper, in_language(_NOT_REACHED, language), in_language(_GIVEN_UP, language)]


@dataclass(frozen=True)
class CallbackAttempt:
    """One try at a callback: the agent to ring first and how.

    Attributes:
        callback: the callback.
        agent: the agent offered to it.
        ring_timeout: how long the agent's phone may ring.
        caller_id_name: what the agent's phone shows (``TENANT: callback NUMBER``).
        at: when the agent was offered.
    """

    callback: Callback
    agent: AgentConfig
    ring_timeout: float
    caller_id_name: str
    at: dt.datetime


@dataclass(frozen=True)
class AgentRing:
    """How ringing the agent for a callback went, and when it was known.

    ``status`` is ``answered``, ``busy``, ``no_answer`` or ``failed``.
    """

    status: str
    at: dt.datetime


@dataclass
class CallbackResult:
    """What became of a caller's callback, for ``ivr test`` and the status API.

    Attributes:
        number: the number called back.
        status: how the callback stands: ``scheduled`` (waiting in line), ``dialing``,
            ``answered`` (the caller reached) or ``failed`` (given up).
        agent: the agent who took it, once answered.
        attempts: times the caller's phone was rung.
        first_dialed_at: when the caller's phone was first dialed (None: not yet).
        last_ended_at: when the last dial of the caller's phone ended (answered: the
            conversation ended).
    """

    number: str
    status: str = "scheduled"
    agent: str = ""
    attempts: int = 0
    first_dialed_at: dt.datetime | None = None
    last_ended_at: dt.datetime | None = None


class CallbackDialer(Protocol):
    """Rings an agent for a callback."""

    def ring_agent(self, attempt: CallbackAttempt) -> AgentRing:
        """Ring the agent; once they answer, their call must reach ``CallbackService.connect``.

        Returns when the agent answered (the call may go on elsewhere) or did not.
        """


class CallbackService:
    """Schedules callbacks in the pool's lines and dials them when agents are offered.

    Args:
        pool: the agent pool.
        dialer: how agents are rung; None keeps callbacks in line and offers none.
    """

    def __init__(self, pool: AgentPool, dialer: CallbackDialer | None = None) -> None:
        self.pool = pool
        self.results: dict[str, CallbackResult] = {}
        """By the id of the call that asked for the callback."""
        self.on_dialed: Callable[[str, CallbackResult], None] | None = None
        """Called with the asking call's id and the result after each dial of the caller's
        phone: reached, to be tried again, or given up (``ivr serve`` journals it here); and
        with a copy already ``answered`` as soon as the caller answers, so a controller killed
        during the talk leaves the callback journaled as made."""
        self._legs: dict[str, Event] = {}
        self._busy = 0
        self._quiet = Event()
        self._quiet.set()
        self.dialer = dialer
        for entry in pool.callbacks.values():
            entry.notify = self._notifier(entry)
            self.results[entry.call_id] = CallbackResult(entry.callback.number)

    @property
    def dialer(self) -> CallbackDialer | None:
        return self._dialer

    @dialer.setter
    def dialer(self, dialer: CallbackDialer | None) -> None:
        self._dialer = dialer
        self.pool.dial_callbacks = dialer is not None
        if dialer is not None:
            self.pool.dispatch(self.pool.latest)

    @property
    def can_dial(self) -> bool:
        return self._dialer is not None

    def schedule(self, entry: Waiting, callback: Callback, now: dt.datetime) -> None:
        """The waiting caller ``entry`` becomes a callback, in the same place in line."""
        self.results[entry.call_id] = CallbackResult(callback.number)
        self.pool.to_callback(entry, callback, self._notifier(entry), now)

    def is_live(self, leg: str) -> bool:
        """Whether ``callback:<id>`` is being dialed or talked on (for the pool's sweep)."""
        return leg.removeprefix("callback:") in self._legs

    def wait_quiet(self, timeout: float | None = None) -> bool:
        """Wait until no callback is being dialed or talked on; False on timeout."""
        return self._quiet.wait(timeout)

    def _notifier(self, entry: Waiting) -> Callable[[], None]:
        # The entry keeps its notifier: a strong reference back would be a cycle that outlives
        # the callback until a full collection (see ivr/gc_policy.py).
        ref = weakref.ref(entry)

        def notify() -> None:
            waiting = ref()
            if waiting is not None:
                self._offered(waiting)

        return notify

    def _offered(self, entry: Waiting) -> None:
        assert entry.callback is not None
        self._legs[entry.callback.id] = Event()
        self._busy += 1
        self._quiet.clear()
        self.results[entry.call_id].status = "dialing"
        gevent.spawn(self._dial, entry, entry.callback, list(entry.offer))

    def _dial(self, entry: Waiting, callback: Callback, offer: list[str]) -> None:
        leg = self._legs[callback.id]
        try:
            agent = self.pool.agents[offer[0]]
            queue = self.pool.queues[entry.queue]
            shown = f"callback {callback.number}"
            if callback.tenant_name:
                shown = f"{callback.tenant_name}: {shown}"
            attempt = CallbackAttempt(
                callback, agent.config, queue.ring_timeout, shown, self.pool.latest
            )
            try:
                ring = self._dialer.ring_agent(attempt)
            except Exception:
                log.exception("callback %s: ringing agent %s failed", callback.id, agent.id)
                ring = AgentRing("failed", self.pool.latest)
            if ring.status != "answered":
                log.info("callback %s: agent %s %s", callback.id, agent.id, ring.status)
                self.pool.not_answered(entry, ring.status, ring.at)
                self.results[entry.call_id].status = "scheduled"
            elif not leg.wait(LEG_ARRIVAL_SECONDS):
                log.error(
                    "callback %s: agent %s answered but never connected", callback.id, agent.id
                )
                self.pool.not_answered(entry, "failed", self.pool.latest)
                self.results[entry.call_id].status = "scheduled"
        finally:
            self._legs.pop(callback.id, None)
            self._busy -= 1
            if self._busy == 0:
                self._quiet.set()

    def connect(self, callback_id: str, channel: Channel) -> None:
        """Run the agent's side of a callback: whom it is for, then the caller's phone."""
        entry = self.pool.callbacks.get(callback_id)
        if entry is None or not entry.offer or callback_id not in self._legs:
            log.error("an agent's call for callback %s, which is not being dialed", callback_id)
            channel.hangup()
            return
        callback = entry.callback
        assert callback is not None
        agent_id = entry.offer[0]
        result = self.results[entry.call_id]
        try:
            self.pool.answered(entry, agent_id, channel.now())
            self._talk(entry, callback, agent_id, channel, result)
        finally:
            self._legs[callback_id].set()

    def _talk(
        self,
        entry: Waiting,
        callback: Callback,
        agent_id: str,
        channel: Channel,
        result: CallbackResult,
    ) -> None:
        lang, voice = callback.language, callback.voice
        result.attempts += 1
        if result.first_dialed_at is None:
            result.first_dialed_at = channel.now()
        outcome = None
        try:
            channel.answer()
            whisper = in_language(_WHISPER, lang).format(
                tenant=callback.tenant_name or "a customer"
            )
            channel.play([Utterance(whisper, lang, voice)], barge_in=False)
            caller_id = {"origination_caller_id_number": callback.tenant_number or "anonymous"}
            outcome = channel.bridge(
                [callback.endpoint],
                timeout=CALLER_RING_SECONDS,
                ringback=callback.hold_music,
                whisper=[],
                caller_id_name=callback.tenant_name or "Callback",
                variables={**callback.variables, CALLBACK_VARIABLE: callback.id, **caller_id},
                on_answer=lambda _endpoint: self._reached(entry, agent_id, result),
            )
        except (CallEnded, ChannelError) as exc:
            log.info("callback %s: the agent's call ended early (%s)", callback.id, exc)
        now = result.last_ended_at = channel.now()
        if outcome is not None and outcome.status == "answered":
            self.pool.finish(agent_id, now, talk_seconds=outcome.talk_seconds, queue=entry.queue)
            self.pool.leave(entry, now)
            result.status, result.agent = "answered", agent_id
            log.info("callback %s: agent %s reached %s", callback.id, agent_id, callback.number)
            self._dialed(entry.call_id, result)
            channel.hangup()
            return
        self.pool.finish(agent_id, now, queue=entry.queue)
        again = self.pool.retry_callback(entry, now)
        result.status = "scheduled" if again else "failed"
        self._dialed(entry.call_id, result)
        log.info(
            "callback %s: %s did not answer; %s",
            callback.id,
            callback.number,
            "tried again later" if again else "given up",
        )
        try:
            text = in_language(_NOT_REACHED if again else _GIVEN_UP, lang)
            channel.play([Utterance(text, lang, voice)], barge_in=False)
            channel.hangup()
        except (CallEnded, ChannelError):
            pass

    def _reached(self, entry: Waiting, agent_id: str, result: CallbackResult) -> None:
        # The caller is called back from this moment: a controller killed during the talk must
        # neither call them again after its restart nor leave the callback journaled as not made.
        self.pool.reached(entry)
        self._dialed(entry.call_id, replace(result, status="answered", agent=agent_id))

    def _dialed(self, call_id: str, result: CallbackResult) -> None:
        if self.on_dialed is None:
            return
        try:
            self.on_dialed(call_id, result)
        except Exception:  # journaling a callback must not break the agent's call
            log.exception("callback of call %s: recording the dial failed", call_id)

    def run_until_quiet(
        self, start: dt.datetime, *, limit: float, timeout: float = 120.0
    ) -> dt.datetime:
        """On simulated time: let timed changes happen and callbacks be made until none is due.

        Used by ``ivr test`` after the caller's call ended. Each step jumps to the next timed
        change (an agent's wrap-up ending, a retry due) and waits for the callbacks it sets off.

        Args:
            start: the simulated time to start from.
            limit: simulated seconds after ``start`` beyond which nothing more happens.
            timeout: real seconds to wait for one step's callbacks.

        Returns:
            The simulated time reached.

        Raises:
            TimeoutError: callbacks were still being made after ``timeout`` real seconds.
        """
        now = max(start, self.pool.latest)
        end = start + dt.timedelta(seconds=limit)
        while True:
            self.pool.advance(now)
            if not self.wait_quiet(timeout):
                raise TimeoutError(f"callbacks still being made after {timeout:g}s")
            now = max(now, self.pool.latest)
            due = self.pool.next_due()
            if due is None or due > end:
                return now
            now = max(now, due)
