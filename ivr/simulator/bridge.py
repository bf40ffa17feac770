"""``bridge``: ring agents' phones and connect the caller to the first that answers.

Follows ``switch_ivr_originate`` and ``audio_bridge_function`` as the traces show them: the
result is only in variables (``originate_disposition``, ``DIALSTATUS``, ``originate_causes``,
``bridge_hangup_cause``, ...), Application-Response stays ``_none_``; a successful bridge fires
CHANNEL_BRIDGE and CHANNEL_UNBRIDGE; a failed one hangs the caller up unless
``continue_on_fail`` says otherwise (no answer always continues when it is unset).

Phones behave as the simulator's agent table says: ``available`` answers after
``RING_SECONDS`` of ringing, ``busy`` refuses at once (USER_BUSY), ``no_answer`` rings until a
timeout, ``logged_out`` is not registered (USER_NOT_REGISTERED, no leg is created), and
``no_route`` has no route (NO_ROUTE_DESTINATION).
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass

from ivr.runtime.memory import RING_SECONDS
from ivr.simulator.causes import CAUSES
from ivr.simulator.channel import EPSILON, SimulatedChannel, is_true
from ivr.simulator.events import Profile
from ivr.simulator.parsing import DialLeg, atoi, holds_variable, parse_dial_string
from ivr.simulator.recording import agent_voice, caller_voice, ringback_sound

__all__ = ["AGENT_BEHAVIOURS", "bridge"]

AGENT_BEHAVIOURS = ("available", "busy", "no_answer", "logged_out", "no_route")
"""How a simulated phone can behave when it is rung."""
DEFAULT_ORIGINATE_TIMEOUT = 60
"""Seconds FreeSWITCH rings when neither ``call_timeout`` nor ``originate_timeout`` is set."""
_DIALSTATUS = {
    "ORIGINATOR_CANCEL": "CANCEL",
    "USER_BUSY": "BUSY",
    "NO_ANSWER": "NOANSWER",
    "DESTINATION_OUT_OF_ORDER": "INVALIDARGS",
    "INVALID_PROFILE": "INVALIDARGS",
    "CALL_REJECTED": "DONTCALL",
}
_ALWAYS_CONTINUE = ("NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL")
_IMMEDIATE_FAILURES = {"busy": "USER_BUSY", "no_route": "NO_ROUTE_DESTINATION"}


@dataclass
class _Leg:
    """One phone being rung."""

    endpoint: str
    variables: dict[str, str]
    profile: Profile
    behaviour: str
    answers_at: float | None = None
    fails_at: float | None = None
    failure: str = ""
    cause: str = ""

    @property
    def uuid(self) -> str:
        return self.profile.uuid


def _leg_profile(channel: SimulatedChannel, leg: DialLeg, uuid: str) -> Profile:
    """The profile of the agent's leg as the caller's CHANNEL_BRIDGE shows it (Other-Leg-*)."""
    kind, _, rest = leg.endpoint.partition("/")
    context = "default"
    if kind == "loopback":
        destination, _, context = rest.partition("/")
        context = context or "default"
        name, source, logical, callee = (
            f"loopback/{destination}-a",
            "mod_loopback",
            "inbound",
            context,
        )
    elif kind == "user":
        destination = rest.partition("@")[0]
        domain = rest.partition("@")[2] or channel.settings.host.ipv4
        name, source, logical = f"sofia/internal/{destination}@{domain}", "mod_sofia", "outbound"
        callee = destination
    else:
        destination = rest.rsplit("/", 1)[-1]
        name, source, logical, callee = leg.endpoint, f"mod_{kind}", "outbound", destination
    now = channel.clock.micros()
    return Profile(
        uuid=uuid,
        channel_name=name,
        caller_id_name=leg.variables.get(
            "origination_caller_id_name", channel.profile.caller_id_name
        ),
        caller_id_number=leg.variables.get(
            "origination_caller_id_number", channel.profile.caller_id_number
        ),
        destination_number=destination,
        direction="outbound",
        logical_direction=logical,
        callee_id_number=callee,
        source=source,
        context=context,
        index=None,
        times={"profile_created": now, "created": now},
    )


def _behaviour(channel: SimulatedChannel, endpoint: str) -> str:
    agents = channel.settings.agents
    return (
        agents.get(endpoint)
        or agents.get(endpoint.partition("@")[0])
        or (channel.settings.default_agent)
    )


def _create_legs(channel: SimulatedChannel, group: list[DialLeg]) -> tuple[list[_Leg], str]:
    """Start ringing a group; returns the legs and the reason of legs that could not start."""
    legs: list[_Leg] = []
    reason = ""
    for spec in group:
        behaviour = _behaviour(channel, spec.endpoint)
        if spec.endpoint.startswith("user/"):
            user, _, domain = spec.endpoint[len("user/") :].partition("@")
            channel.variables.set("dialed_user", user)
            channel.variables.set("dialed_domain", domain or channel.settings.host.ipv4)
        if behaviour == "logged_out":
            reason = "USER_NOT_REGISTERED"
            continue
        uuid = spec.variables.get("origination_uuid") or str(uuidlib.uuid4())
        # Caller-ID goes to the new leg's profile as it is; its variables are checked, and one
        # holding ``${`` is not set (FreeSWITCH logs "Invalid data ... contains a variable").
        variables = {k: v for k, v in spec.variables.items() if not holds_variable(v)}
        leg = _Leg(spec.endpoint, variables, _leg_profile(channel, spec, uuid), behaviour)
        leg_timeout = atoi(spec.variables.get("leg_timeout"))
        if behaviour in _IMMEDIATE_FAILURES:
            leg.fails_at, leg.failure = 0.0, _IMMEDIATE_FAILURES[behaviour]
        elif behaviour == "available" and not 0 < leg_timeout <= RING_SECONDS:
            leg.answers_at = RING_SECONDS
        elif leg_timeout > 0:
            leg.fails_at, leg.failure = float(leg_timeout), "ALLOTTED_TIMEOUT"
        channel.variables.set("originate_signal_bond", uuid)
        channel.variables.push(
            "originated_legs", f"{uuid};{leg.profile.callee_id_name};{leg.profile.callee_id_number}"
        )
        legs.append(leg)
    return legs, reason


def _ring(
    channel: SimulatedChannel, group: list[DialLeg], timelimit: float, tried: list[_Leg]
) -> tuple[_Leg | None, str]:
    """Ring one group of legs at once; returns the leg that answered, or None and the cause."""
    legs, reason = _create_legs(channel, group)
    tried += legs
    if not legs:
        reason = reason or "DESTINATION_OUT_OF_ORDER"
        channel.log("ivr", f"not reachable ({reason})")
        return None, reason
    if any(leg.behaviour in ("available", "no_answer") for leg in legs):
        channel.profile.times.setdefault("progress", channel.clock.micros())
    answer = min((leg.answers_at for leg in legs if leg.answers_at is not None), default=None)
    all_failed = None
    if answer is None and all(leg.fails_at is not None for leg in legs):
        all_failed = max(leg.fails_at for leg in legs)
    end = min(t for t in (answer, all_failed, float(timelimit)) if t is not None)
    # Call seconds are sums of floats: a ring of 2 s may come back as 1.9999999999999.
    rang = channel.wait_out(end) + EPSILON
    for leg in legs:
        if leg.fails_at is not None and leg.fails_at <= rang:
            leg.cause = leg.failure
    if not channel.ready:
        _cancel(legs, "ORIGINATOR_CANCEL")
        return None, "ORIGINATOR_CANCEL"
    winner = next(
        (leg for leg in legs if leg.answers_at is not None and leg.answers_at <= rang), None
    )
    if winner is not None:
        winner.profile.times["answered"] = channel.clock.micros()
        if not _confirm(channel, winner):
            _cancel(legs, "ORIGINATOR_CANCEL")
            return None, "ORIGINATOR_CANCEL"
        _cancel([leg for leg in legs if leg is not winner], "LOSE_RACE")
        return winner, "SUCCESS"
    if rang >= timelimit:
        _cancel(legs, "NO_ANSWER")
        channel.log("ivr", f"no answer within {rang:g}s")
        return None, "NO_ANSWER"
    cause = legs[0].cause
    channel.log(
        "ivr",
        {"USER_BUSY": "busy", "ALLOTTED_TIMEOUT": f"no answer within {rang:g}s"}.get(
            cause, f"not reachable ({cause})"
        ),
    )
    return None, cause


def _cancel(legs: list[_Leg], cause: str) -> None:
    for leg in legs:
        leg.cause = leg.cause or cause


def _confirm(channel: SimulatedChannel, leg: _Leg) -> bool:
    """``group_confirm_key``/``group_confirm_file``: the agent hears the whisper first.

    With ``group_confirm_key=exec`` the file is an application the agent's leg runs (``playback
    <file>``); with a key, the agent hears the file and accepts with that key. The caller keeps
    hearing ringback meanwhile and may hang up. Returns False when the caller is gone.
    """
    key = leg.variables.get("group_confirm_key", "")
    confirm = leg.variables.get("group_confirm_file", "")
    if not key or not confirm:
        return True
    target = confirm
    if key == "exec":
        app, _, target = confirm.partition(" ")
        if app != "playback":
            channel.log("agent", f"runs {confirm}")
            return True
    pieces = channel.pieces(target)
    for piece in pieces:
        channel.log("agent", f"hears whisper: {piece.text or piece.describe()}")
    if key != "exec":
        channel.log("agent", f"accepts with {key}")
    channel.wait_out(sum(piece.seconds or 0.0 for piece in pieces))
    return channel.ready


def _connect(channel: SimulatedChannel, winner: _Leg) -> None:
    """CHANNEL_BRIDGE, the conversation, CHANNEL_UNBRIDGE, and hangup_after_bridge."""
    channel.variables.set("originate_signal_bond", None)
    channel.variables.set("signal_bond", winner.uuid)
    bridge_ids = [("Bridge-A-Unique-ID", channel.uuid), ("Bridge-B-Unique-ID", winner.uuid)]
    channel.profile.times["bridged"] = channel.clock.micros()
    channel.set_bridged(winner.profile)
    channel.fire("CHANNEL_BRIDGE", before=bridge_ids)
    channel.log("agent", f"{winner.endpoint} answers; caller connected")
    channel.recorder.hear(channel.now(), agent_voice())
    channel.recorder.say(channel.now(), caller_voice(in_turns=True))
    channel.talk("agent", winner.endpoint)
    channel.recorder.hear(channel.now(), None)
    channel.recorder.say(channel.now(), None)
    for name, value in (
        ("last_bridge_to", winner.uuid),
        ("bridge_channel", winner.profile.channel_name),
        ("bridge_uuid", winner.uuid),
        ("signal_bond", winner.uuid),
        ("last_sent_callee_id_name", winner.profile.callee_id_name),
        ("last_sent_callee_id_number", winner.profile.callee_id_number),
        ("last_bridge_hangup_cause", "NORMAL_CLEARING"),
        ("bridge_hangup_cause", "NORMAL_CLEARING"),
    ):
        channel.variables.set(name, value)
    channel.set_bridged(None)
    channel.fire("CHANNEL_UNBRIDGE", before=bridge_ids)
    if channel.ready and is_true(channel.variables.get("hangup_after_bridge")):
        channel.log("ivr", "hangs up after the bridge")
        channel.hangup("NORMAL_CLEARING")


def _continues_after(channel: SimulatedChannel, cause: str) -> bool:
    """Whether the dialplan goes on after this failure (``switch_channel_handle_cause``)."""
    setting = channel.variables.get("continue_on_fail")
    if setting is None:
        return cause in _ALWAYS_CONTINUE
    if is_true(setting):
        return True
    number = str(CAUSES.get(cause, ""))
    return any(item.strip().upper() in (cause, number) for item in setting.split(","))


def bridge(channel: SimulatedChannel, arg: str) -> None:
    """``bridge <dial string>``: ``{global}[leg]endpoint,[leg]endpoint|fallback``."""
    if not arg:
        return
    groups = parse_dial_string(arg)
    timelimit = atoi(channel.variables.get("call_timeout"))
    tried: list[_Leg] = []
    if groups is None:
        channel.log("system", f"cannot parse the dial string {arg!r}")
        winner, cause = None, "DESTINATION_OUT_OF_ORDER"
    else:
        first = groups[0][0].variables if groups and groups[0] else {}
        timelimit = atoi(first.get("originate_timeout")) or timelimit
        timelimit = timelimit if timelimit > 0 else DEFAULT_ORIGINATE_TIMEOUT
        # An answered caller hears transfer_ringback, when set (switch_ivr_originate).
        ringback = channel.variables.get("transfer_ringback") if channel.answered else None
        ringback = ringback or channel.variables.get("ringback")
        caller_id = first.get("origination_caller_id_name", channel.profile.caller_id_name)
        endpoints = ", ".join(leg.endpoint for group in groups for leg in group)
        channel.log(
            "ivr",
            f"rings {endpoints} as '{caller_id}'"
            + (f" (caller hears {ringback})" if ringback else ""),
        )
        winner, cause = None, "DESTINATION_OUT_OF_ORDER"
        pieces = channel.pieces(ringback) if ringback else []
        channel.recorder.hear(channel.now(), ringback_sound(ringback, pieces))
        for group in groups:
            winner, cause = _ring(channel, group, timelimit, tried)
            if winner is not None or not channel.ready:
                break
        channel.recorder.hear(channel.now(), None)
    if winner is None and tried:
        channel.variables.set("last_bridge_hangup_cause", cause)
    channel.variables.set("originate_disposition", cause)
    channel.variables.set("DIALSTATUS", _DIALSTATUS.get(cause, cause))
    for leg in tried:
        channel.variables.push("originate_causes", f"{leg.uuid};{leg.cause or 'NONE'}")
    if winner is not None:
        _connect(channel, winner)
        return
    channel.variables.set("originate_failed_cause", cause)
    if channel.ready and not _continues_after(channel, cause):
        channel.log("ivr", f"hangs up after the failed bridge ({cause})")
        channel.hangup(cause)
