"""Agent control for supervisors: ``ivr agents status|login|logout|break`` and the HTTP API.

The same three changes (``login``, ``logout``, ``break``) are made by the controller's JSON HTTP
API on a running controller (``api.py``) and, when no controller answers, directly in the store,
where the controller finds them when it starts. ``status_lines`` renders the status both give.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr.acd.model import STATES, AcdError, AgentState
from ivr.acd.pool import AgentPool
from ivr.acd.store import SqliteAcdStore
from ivr.errors import IvrError

if TYPE_CHECKING:
    from ivr.flow.config import AgentConfig, QueueConfig

ACTIONS = ("login", "logout", "break")
API_TIMEOUT = 5.0
"""Seconds ``ivr agents`` waits for the controller's API."""
MAX_BREAK_MINUTES = 1440
"""The longest timed break: a day; longer is a typo, and a logout says it better."""


class ControllerUnreachable(IvrError):
    """No controller answers on the API address."""


class ApiError(IvrError):
    """The controller's API refused the request; the message is its explanation."""


def change(
    pool: AgentPool,
    action: str,
    agent_id: str,
    now: dt.datetime,
    *,
    until: dt.datetime | None = None,
) -> AgentState:
    """Apply ``login``, ``logout`` or ``break`` (until ``until``) to an agent.

    Raises:
        UnknownAgent: no such agent.
        StateError: the change is impossible now (a break while logged out).
        ValueError: an unknown action.
    """
    if action == "login":
        return pool.login(agent_id, now)
    if action == "logout":
        return pool.logout(agent_id, now)
    if action == "break":
        return pool.take_break(agent_id, now, until=until)
    raise ValueError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")


def json_kind(value: object) -> str:
    """What a decoded JSON value is, in JSON's words: ``a string``, ``an array``, ``true``..."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def break_minutes(value: object) -> float:
    """A break's length in minutes, checked: a finite number above 0 and at most a day.

    Raises:
        ValueError: anything else (``true``, a string, ``NaN``, ``1e300``, ``0``), saying what
            is allowed.
    """
    allowed = f"minutes must be a number above 0 and at most {MAX_BREAK_MINUTES} (24 hours)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{allowed}, not {json_kind(value)}")
    # NaN compares false to everything, so it fails here too; ints are compared before any
    # float() or str(), which an int of 5000 digits has not.
    if not 0 < value <= MAX_BREAK_MINUTES:
        shown = repr(value) if isinstance(value, float) or abs(value) < 10**9 else "more"
        raise ValueError(f"{allowed}, not {shown}")
    return float(value)


def call_api(
    address: tuple[str, int],
    method: str,
    path: str,
    body: dict | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """One request to the controller's API; the decoded JSON answer.

    Args:
        address: the API's host and port.
        method: ``GET`` or ``POST``.
        path: e.g. ``/status``.
        body: the JSON object to send, if any.
        token: sent as ``Authorization: Bearer TOKEN`` when given.

    Raises:
        ControllerUnreachable: nothing answers there.
        ApiError: the API answered with an error.
    """
    url = f"http://{address[0]}:{address[1]}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise ApiError(str(message)) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ControllerUnreachable(f"no controller answers on {address[0]}:{address[1]}") from exc


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def status_lines(status: dict[str, Any]) -> list[str]:
    """The pool's status (``AgentPool.status``) as a table for a terminal."""
    lines = []
    columns = ["waiting", "callbacks", "longest"] + list(STATES)
    lines.append(f"{'queue':<14}" + "".join(f"{c:>11}" for c in columns))
    for name, queue in status["queues"].items():
        cells = [str(queue["waiting"]), str(queue["callbacks"]), _duration(queue["longest_wait"])]
        cells += [str(queue["agents"][state]) for state in STATES]
        lines.append(f"{name:<14}" + "".join(f"{c:>11}" for c in cells))
    lines.append("")
    lines.append(f"{'agent':<10}{'name':<12}{'state':<12}{'for':>8}  {'queues':<20}calls missed")
    for agent in status["agents"].values():
        notes = []
        if agent["pending"]:
            notes.append(f"then {agent['pending']}")
        if agent["reason"]:
            notes.append(agent["reason"])
        if agent["until"]:
            notes.append(f"until {agent['until']}")
        lines.append(
            f"{agent['id']:<10}{agent['name']:<12}{agent['state']:<12}"
            f"{_duration(agent['seconds_in_state']):>8}  {','.join(agent['queues']):<20}"
            f"{agent['calls']:>5} {agent['missed']:>6}"
            + (f"  ({'; '.join(notes)})" if notes else "")
        )
    return lines


def describe(agent: dict[str, Any]) -> str:
    """One line about an agent's state, from its summary."""
    text = f"agent {agent['id']} ({agent['name']}): {agent['state']}"
    if agent["pending"]:
        text += f", {agent['pending']} after the current call"
    if agent["until"]:
        text += f" until {agent['until']}"
    return text


def agents_command(
    action: str,
    agent_id: str | None,
    *,
    api: tuple[str, int],
    store: Path,
    staff: Callable[[], tuple[dict[str, AgentConfig], dict[str, QueueConfig]]],
    minutes: float | None,
    out: Callable[[str], None],
    token: str | None = None,
) -> int:
    """``ivr agents ACTION [ID]``: through the running controller, else in the store.

    Args:
        action: ``status`` or one of ``ACTIONS``.
        agent_id: the agent, for the actions.
        api: the controller's API address.
        store: the store the controller keeps its state in, used when it does not answer.
        staff: loads the agents and queues (agents.yaml, queues.yaml) when they are needed.
        minutes: the length of a break.
        out: prints a line.
        token: the API's bearer token (``ivr serve --api-token-file``), if it needs one.

    Returns:
        The exit code: 0, or 1 when the change was refused.
    """
    try:
        if action == "status":
            for line in status_lines(call_api(api, "GET", "/status", token=token)):
                out(line)
        else:
            body = {"minutes": minutes} if minutes else None
            out(describe(call_api(api, "POST", f"/agents/{agent_id}/{action}", body, token)))
        return 0
    except ApiError as exc:
        out(f"ivr: {exc}")
        return 1
    except ControllerUnreachable as exc:
        unreachable = exc
    agents, queues = staff()
    kept = SqliteAcdStore(store)
    try:
        now = dt.datetime.now(dt.UTC)
        pool = AgentPool(agents, queues, store=kept)
        pool.restore(kept.load(), now)
        if action == "status":
            out(f"({unreachable}; as kept in {store})")
            for line in status_lines(pool.status(now)):
                out(line)
            return 0
        until = now + dt.timedelta(minutes=minutes) if minutes else None
        try:
            agent = change(pool, action, str(agent_id), now, until=until)
        except AcdError as exc:
            out(f"ivr: {exc}")
            return 1
        out(f"{describe(agent.summary(now))} ({unreachable}: kept in {store} for its start)")
        return 0
    finally:
        kept.close()
