"""Callbacks on simulated time: agents' and callers' phones as a scenario case says.

``ivr test`` has no FreeSWITCH to ring anyone: this dialer plays the phones on the in-memory
channel, so a case's callback is rung, answered or missed as its ``agents:`` and
``caller_phone`` say, with its lines in the case's transcript.
"""

from __future__ import annotations

import datetime as dt

from ivr.acd.callbacks import AgentRing, CallbackAttempt, CallbackService
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import RING_SECONDS, MemoryChannel
from ivr.runtime.memory import Event as TranscriptLine


class MemoryDialer:
    """Callbacks on simulated time for ``ivr test``: phones as the case says, no FreeSWITCH.

    Args:
        service: the callback service whose ``connect`` runs the agent's side.
        phones: how agents' endpoints behave when rung (``available``, ``busy``,
            ``no_answer``, ``logged_out``); others answer.
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
        self.service = service
        self.phones = phones
        self.caller_phone = caller_phone
        self.start = start
        self.transcript = transcript

    def _log(self, at: dt.datetime, who: str, text: str) -> None:
        self.transcript.append(TranscriptLine((at - self.start).total_seconds(), who, text))

    def ring_agent(self, attempt: CallbackAttempt) -> AgentRing:
        agent = attempt.agent
        phone = self.phones.get(agent.endpoint, "available")
        self._log(
            attempt.at,
            "system",
            f"callback {attempt.callback.number}: rings {agent.endpoint} as "
            f"'{attempt.caller_id_name}'",
        )
        if phone == "busy":
            self._log(attempt.at, "system", "busy")
            return AgentRing("busy", attempt.at)
        if phone == "logged_out":
            self._log(attempt.at, "system", "not reachable")
            return AgentRing("failed", attempt.at)
        if phone == "no_answer":
            rang = attempt.at + dt.timedelta(seconds=attempt.ring_timeout)
            self._log(rang, "system", f"no answer within {attempt.ring_timeout:g}s")
            return AgentRing("no_answer", rang)
        answered = attempt.at + dt.timedelta(seconds=RING_SECONDS)
        self._log(answered, "agent", f"{agent.endpoint} answers the callback")
        leg = MemoryChannel(
            CallInfo(f"callback-{attempt.callback.id}", attempt.callback.number),
            start=answered,
            steps=[],
            phones={attempt.callback.endpoint: self.caller_phone},
        )
        self.service.connect(attempt.callback.id, leg)
        offset = (answered - self.start).total_seconds()
        for line in leg.transcript:
            who = {"ivr": "system", "agent": "caller"}.get(line.who, line.who)
            text = line.text.replace("says: ", "agent hears: ", 1)
            self.transcript.append(TranscriptLine(offset + line.at, who, text))
        return AgentRing("answered", answered)
