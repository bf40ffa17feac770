"""The public face of the simulator: place calls to a controller and watch what happens.

``SimulatedFreeSWITCH`` plays FreeSWITCH's side of the outbound event socket: each
``place_call`` opens a TCP connection to the controller (our ``ivr serve``) as a channel running
``socket <controller> async full`` would, and runs the call in its own greenlets (the socket's
listener and the channel's session, as FreeSWITCH has two threads), independent of every other
call. The returned ``SimulatedCall`` collects the transcript, the commands the controller sent,
the channel variables and how the call ended.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import gevent
from gevent import socket as gsocket
from gevent.event import Event as Flag

from ivr.runtime.memory import Event, Step
from ivr.simulator.apps import APPLICATIONS
from ivr.simulator.bridge import AGENT_BEHAVIOURS
from ivr.simulator.caller import Caller, InteractiveCaller, ScriptedCaller
from ivr.simulator.channel import LineSettings, SimulatedChannel
from ivr.simulator.clock import CallClock
from ivr.simulator.commands import ESLCommand
from ivr.simulator.connection import CommandTimings, OutboundConnection
from ivr.simulator.events import Host, Profile
from ivr.simulator.faults import CallFaults, FaultPlan

__all__ = ["SimulatedCall", "SimulatedFreeSWITCH"]

log = logging.getLogger("ivr.simulator")

CONNECT_TIMEOUT = 5.0
"""Real seconds to wait for the controller to accept a call's connection."""


class SimulatedCall:
    """One call placed by ``SimulatedFreeSWITCH``.

    Attributes:
        uuid: the channel's Unique-ID.
        transcript: what happened, as ``Event(at, who, text)`` lines (``at``: call seconds):
            what was played (text and file), keys pressed, ringing, the whisper the agent
            heard, hang-ups, and the simulator's own remarks (``system``).
        commands: every command the controller sent, as FreeSWITCH parsed it.
        timings: how quickly the controller sent its commands (``CommandTimings``).
        faults: the faults striking this call (None: no fault plan); ``faults.struck`` says
            what struck.
    """

    def __init__(
        self,
        uuid: str,
        caller: Caller,
        clock: CallClock,
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.uuid = uuid
        self.transcript: list[Event] = []
        self.commands: list[ESLCommand] = []
        self.timings = CommandTimings()
        self.faults: CallFaults | None = None
        self._caller = caller
        self._clock = clock
        self._on_event = on_event
        self._channel: SimulatedChannel | None = None
        self._finished = Flag()

    def _attach(self, channel: SimulatedChannel) -> None:
        self._channel = channel

    @property
    def remaining_steps(self) -> list[Step]:
        """The caller's script steps not done yet (empty for an interactive caller)."""
        return self._caller.remaining_steps

    @property
    def hangup_cause(self) -> str | None:
        """How the channel ended (``NORMAL_CLEARING``, ...); None while it is up."""
        return self._channel.hangup_cause if self._channel else None

    @property
    def variables(self) -> dict[str, str]:
        """The channel variables now, in FreeSWITCH's order."""
        return self._channel.variables.as_dict() if self._channel else {}

    @property
    def done(self) -> bool:
        """True once the call is over and the controller's connection closed."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait (``timeout`` real seconds at most) for the call to finish; True if it did."""
        return self._finished.wait(timeout)

    def press(self, keys: str) -> None:
        """An interactive caller presses ``keys``."""
        self._interactive().press(keys)

    def hangup(self) -> None:
        """An interactive caller hangs up."""
        self._interactive().hangup()

    def _interactive(self) -> InteractiveCaller:
        if not isinstance(self._caller, InteractiveCaller):
            raise TypeError("this call follows a script; place it without steps to drive it live")
        return self._caller

    def _log(self, who: str, text: str) -> None:
        event = Event(round(self._clock.elapsed(), 3), who, text)
        self.transcript.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("[%s] transcript callback failed", self.uuid)


class SimulatedFreeSWITCH:
    """A simulated FreeSWITCH that sends calls to a controller over the outbound event socket.

    Args:
        controller: (host, port) the controller listens on; it must be a loopback address.
        virtual_time: jump over waits (prompts, timeouts, music, ringing, talk) instead of
            sleeping, so a ten-minute hold takes milliseconds; event timestamps follow the
            call's own clock either way.
        agents: how each endpoint's phone behaves when rung: ``available`` (answers after 2 s),
            ``busy``, ``no_answer``, ``logged_out`` or ``no_route``; keys are endpoints as
            dialed (``user/1001``, ``loopback/agent_1001/default``).
        default_agent: the behaviour of endpoints not in ``agents``.
        sounds_dir: where relative sound file names are found (FreeSWITCH's sounds folder).
        settle: in virtual time, real seconds the controller gets to act before a wait is
            skipped over.
        time_limit: simulated seconds after which the caller of a call still going hangs up.
        hostname: the box's name in ``FreeSWITCH-Hostname``.
        faults: what goes wrong with the calls placed (``FaultPlan``), the same for one seed.
    """

    def __init__(
        self,
        controller: tuple[str, int],
        *,
        virtual_time: bool = True,
        agents: Mapping[str, str] | None = None,
        default_agent: str = "no_route",
        sounds_dir: Path | str | None = None,
        settle: float = 0.02,
        time_limit: float = 4 * 3600.0,
        hostname: str = "simulator",
        faults: FaultPlan | None = None,
    ) -> None:
        host, port = controller
        address = "127.0.0.1" if host == "localhost" else host
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError(f"the controller must be on a loopback address, not {host!r}")
        self.controller = (address, int(port))
        self.virtual_time = virtual_time
        self.settle = settle
        self.host = Host(hostname=hostname)
        self._settings = LineSettings(
            host=self.host,
            agents=_checked_agents(agents or {}),
            default_agent=_checked_agents({"default": default_agent})["default"],
            sounds_dir=Path(sounds_dir) if sounds_dir is not None else Path.cwd(),
            time_limit=time_limit,
        )
        self.faults = faults
        self.calls: list[SimulatedCall] = []
        self._greenlets: list[gevent.Greenlet] = []

    def place_call(
        self,
        steps: Iterable[Step] | None = None,
        *,
        caller: str = "+15550001111",
        caller_name: str = "Test Caller",
        dialed: str = "18005550100",
        start: dt.datetime | None = None,
        agents: Mapping[str, str] | None = None,
        on_event: Callable[[Event], None] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> SimulatedCall:
        """Place a call to the controller and return at once; the call runs in greenlets.

        Args:
            steps: the caller's script (``hear``, ``press``, ``wait``, ``hangup``); None for an
                interactive caller driven with ``SimulatedCall.press`` and ``hangup``.
            caller: the caller's number.
            caller_name: the caller's name.
            dialed: the number they dialed.
            start: when the call starts (naive: local time); default now.
            agents: phone behaviours for this call, over the simulator's.
            on_event: called with each transcript line as it happens.
            variables: channel variables the call starts with, as an originate's ``{...}``
                sets them (an agent's call for a callback carries ``ivr_callback``).
        """
        start = (start or dt.datetime.now()).astimezone()
        person: Caller = InteractiveCaller() if steps is None else ScriptedCaller(steps)
        uuid = str(uuidlib.uuid4())
        faults = self.faults.for_call() if self.faults is not None else None
        clock = CallClock(
            start,
            virtual=self.virtual_time,
            settle=self.settle,
            jumps=faults.clock_jumps if faults is not None else None,
        )
        call = SimulatedCall(uuid, person, clock, on_event)
        call.faults = faults
        settings = self._settings
        if agents:
            settings = LineSettings(
                host=settings.host,
                agents={**settings.agents, **_checked_agents(agents)},
                default_agent=settings.default_agent,
                sounds_dir=settings.sounds_dir,
                time_limit=settings.time_limit,
            )
        profile = Profile(
            uuid=uuid,
            channel_name=f"loopback/{dialed}-b",
            caller_id_name=caller_name,
            caller_id_number=caller,
            destination_number=dialed,
        )
        host, port = self.controller
        channel = SimulatedChannel(
            profile,
            clock,
            person,
            settings,
            f"{host}:{port} async full",
            call._log,
            APPLICATIONS,
        )
        for name, value in (variables or {}).items():
            channel.variables.set(name, value)
        call._attach(channel)
        person.attach(clock.poke)
        self.calls.append(call)
        self._greenlets.append(gevent.spawn(self._run, call, channel))
        return call

    def shutdown(self, cause: str = "SYSTEM_SHUTDOWN") -> None:
        """Hang up every call still up with ``cause``, as ``fsctl shutdown`` does.

        FreeSWITCH's shutdown hangs up all channels (``switch_core_session_hupall`` with its
        ``shutdown_cause``, ``SYSTEM_SHUTDOWN`` unless set otherwise) before it stops.
        """
        for call in self.calls:
            channel = call._channel
            if channel is not None and channel.hangup_cause is None:
                channel.log("freeswitch", f"shuts down: {cause}")
                channel.hangup(cause)

    def _run(self, call: SimulatedCall, channel: SimulatedChannel) -> None:
        connection = None
        reader = None
        try:
            try:
                call.timings.connected()
                sock = _connect(self.controller, CONNECT_TIMEOUT)
            except OSError as error:
                call._log("system", f"could not connect to the controller: {error}")
                channel.hangup("NORMAL_CLEARING")
                return
            sock.settimeout(None)
            # As FreeSWITCH does: small frames must not wait for the controller's ACKs.
            sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
            connection = OutboundConnection(
                sock, channel, call.commands.append, call._log, call.timings, call.faults
            )
            reader = gevent.spawn(connection.run)
            channel.run(lambda: connection.connected, connection.wait_until_quiet)
            connection.channel_down()
            connection.linger()
        except Exception:
            log.exception("[%s] the simulated call failed", call.uuid)
            call._log("system", "the simulated call failed (see the log)")
        finally:
            if connection is not None:
                connection.close()
            if reader is not None:
                reader.join(timeout=1.0)
                reader.kill(block=False)
            call._finished.set()

    def close(self) -> None:
        """Stop every call still running."""
        gevent.killall(self._greenlets, block=True, timeout=5.0)


def _checked_agents(agents: Mapping[str, str]) -> dict[str, str]:
    bad = {endpoint: state for endpoint, state in agents.items() if state not in AGENT_BEHAVIOURS}
    if bad:
        raise ValueError(
            f"unknown phone behaviour(s) {bad}; expected one of {', '.join(AGENT_BEHAVIOURS)}"
        )
    return dict(agents)


def _connect(address: tuple[str, int], timeout: float) -> gsocket.socket:
    """Connect to the controller; a numeric address skips the resolver's thread pool."""
    host = address[0]
    for family in (gsocket.AF_INET, gsocket.AF_INET6):
        try:
            gsocket.inet_pton(family, host)
        except OSError:
            continue
        sock = gsocket.socket(family, gsocket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock
    return gsocket.create_connection(address, timeout=timeout)
