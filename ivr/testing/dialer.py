"""Callbacks rung on simulated time: agents' and callers' phones as a scenario case says.

``ivr test`` has no FreeSWITCH to ring anyone: ``ScriptedDialer`` plays the agent's phone as
the case's ``agents:`` say (busy, unreachable, not answering, or answering after
``RING_SECONDS``) and writes what happens into the case's transcript. Who answers is connected
by the subclass: ``MemoryDialer`` on the in-memory channel, ``ivr.testing.via_esl``'s
``SimulatorDialer`` through the simulated FreeSWITCH.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod

from ivr.acd.callbacks import AgentRing, CallbackAttempt, CallbackService
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import RING_SECONDS, MemoryChannel
from ivr.runtime.memory import Event as TranscriptLine

UNREACHABLE = ("logged_out", "no_route")
"""Phone behaviours by which the agent cannot be reached at all."""


class ScriptedDialer(ABC):
    """Rings agents for callbacks as the case says; a subclass connects the one who answers.

    Args:
        phones: how agents' endpoints behave when rung (``available``, ``busy``,
            ``no_answer``, ``logged_out``); others answer.
        start: the case's start, for transcript times.
        transcript: where the callback's lines go.
    """

    ROLES: dict[str, str] = {"ivr": "system", "agent": "caller"}
    """Who says what on the agent's leg, as the case's transcript names them."""

    def __init__(
        self, phones: dict[str, str], start: dt.datetime, transcript: list[TranscriptLine]
    ) -> None:
        self.phones = phones
        self.start = start
        self.transcript = transcript

    def _log(self, at: dt.datetime, who: str, text: str) -> None:
        self.transcript.append(TranscriptLine((at - self.start).total_seconds(), who, text))

    def ring_agent(self, attempt: CallbackAttempt) -> AgentRing:
        endpoint = attempt.agent.endpoint
        phone = self.phones.get(endpoint, "available")
        self._log(
            attempt.at,
            "system",
            f"callback {attempt.callback.number}: rings {endpoint} as '{attempt.caller_id_name}'",
        )
        if phone == "busy":
            self._log(attempt.at, "system", "busy")
            return AgentRing("busy", attempt.at)
        if phone in UNREACHABLE:
            self._log(attempt.at, "system", "not reachable")
            return AgentRing("failed", attempt.at)
        if phone == "no_answer":
            rang = attempt.at + dt.timedelta(seconds=attempt.ring_timeout)
            self._log(rang, "system", f"no answer within {attempt.ring_timeout:g}s")
            return AgentRing("no_answer", rang)
        answered = attempt.at + dt.timedelta(seconds=RING_SECONDS)
        self._log(answered, "agent", f"{endpoint} answers the callback")
        offset = (answered - self.start).total_seconds()
        for line in self.connect_agent(attempt, answered):
            who = self.ROLES.get(line.who, line.who)
            text = line.text.replace("says: ", "agent hears: ", 1)
            self.transcript.append(TranscriptLine(offset + line.at, who, text))
        return AgentRing("answered", answered)

    @abstractmethod
    def connect_agent(self, attempt: CallbackAttempt, answered: dt.datetime) -> list:
        """Run the agent's answered call; its transcript, timed from ``answered``."""


class MemoryDialer(ScriptedDialer):
    """Callbacks on the in-memory channel for ``ivr test``: no FreeSWITCH.

    Args:
        service: the callback service whose ``connect`` runs the agent's side.
        phones: how agents' endpoints behave when rung.
        caller_phone: how the phone of the number called back behaves.
        start: the case's start, for transcript times.
        transcript: where the callback's lines go.
    """

    def __init__(
        self,
        service: CallbackService,
        phones: dict[str, str],
        caller_phone: str,
        start: dt.datetime,
        transcript: list[TranscriptLine],
    ) -> None:
        super().__init__(phones, start, transcript)
        self.service = service
        self.caller_phone = caller_phone

    def connect_agent(self, attempt: CallbackAttempt, answered: dt.datetime) -> list:
        leg = MemoryChannel(
            CallInfo(f"callback-{attempt.callback.id}", attempt.callback.number),
            start=answered,
            steps=[],
            phones={attempt.callback.endpoint: self.caller_phone},
        )
        self.service.connect(attempt.callback.id, leg)
        return leg.transcript
