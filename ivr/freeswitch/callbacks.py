"""Callbacks on a real FreeSWITCH: ring the agent with ``originate`` over the inbound socket.

The agent's phone is rung first; when they answer, FreeSWITCH runs ``socket`` on their call,
which reaches the controller like any call but carries the ``ivr_callback`` variable, so the
controller runs the callback there (``CallbackService.connect``): the agent hears whom the call
is for, then the caller's number is dialed with the company's number shown.
"""

from __future__ import annotations

import datetime as dt
import logging

from ivr.acd import CALLBACK_VARIABLE, AgentRing, CallbackAttempt
from ivr.freeswitch import commands, esl
from ivr.freeswitch.inbound import ESLConnectError, InboundClosed, OriginateError
from ivr.freeswitch.link import FreeSwitchLink

log = logging.getLogger("ivr.freeswitch")

_STATUS = {
    "USER_BUSY": "busy",
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
}
"""Originate failures that are not ``failed`` (unregistered, no route, refused)."""
LINK_WAIT = 5.0
"""Seconds a callback waits for the event socket while FreeSWITCH is being reconnected; after
that the agent's ring counts as failed and the callback is tried again later."""


def agent_variables(attempt: CallbackAttempt) -> dict[str, str]:
    """The variables of the agent's call: the callback's id and what the agent's phone shows."""
    return {
        CALLBACK_VARIABLE: attempt.callback.id,
        "origination_caller_id_name": attempt.caller_id_name,
        "origination_caller_id_number": attempt.callback.number,
        "ignore_early_media": "true",
    }


class InboundDialer:
    """Rings agents for callbacks through FreeSWITCH's inbound event socket.

    Args:
        link: the controller's connection to the event socket (kept up by its owner).
        controller: the controller's outbound-socket address, where answered agents' calls go.
        wait: seconds to wait for the link when it is down (see ``LINK_WAIT``).
    """

    def __init__(
        self, link: FreeSwitchLink, controller: tuple[str, int], *, wait: float = LINK_WAIT
    ) -> None:
        self.link = link
        self.controller = controller
        self.wait = wait

    def ring_agent(self, attempt: CallbackAttempt) -> AgentRing:
        endpoint = attempt.agent.endpoint
        try:
            self.link.client(timeout=self.wait).originate(
                endpoint,
                commands.socket_app(*self.controller),
                variables=agent_variables(attempt),
                timeout=max(int(attempt.ring_timeout), 1),
            )
        except OriginateError as exc:
            log.info("callback %s: %s: %s", attempt.callback.id, endpoint, exc.cause)
            return AgentRing(_STATUS.get(exc.cause, "failed"), _now())
        except (ESLConnectError, InboundClosed, TimeoutError, esl.ESLError) as exc:
            log.error("callback %s: cannot ring %s: %s", attempt.callback.id, endpoint, exc)
            return AgentRing("failed", _now())
        return AgentRing("answered", _now())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
