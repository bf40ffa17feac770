"""The controller's small JSON HTTP API, on loopback only: queue status and agent control.

``GET /status`` (queues and agents, and with ``ivr serve --esl`` the event socket's connection
under ``freeswitch``), ``GET /queues``, ``GET /agents``, ``GET /agents/ID``, and
``POST /agents/ID/login``, ``POST /agents/ID/logout``, ``POST /agents/ID/break`` (optional JSON
body ``{"minutes": 15}`` for a timed break). Every answer is JSON; errors are
``{"error": "..."}`` with 404 (no such agent or path), 405 (wrong method), 409 (not possible in
the agent's state) or 400 (a bad body). Changes take effect at once: a login offers the agent to
the callers waiting.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ivr.acd.center import ContactCenter
from ivr.acd.control import ACTIONS, change
from ivr.acd.model import StateError, UnknownAgent
from ivr.wsgi import HttpServer

log = logging.getLogger("ivr.acd")

_REASONS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
}


class AgentApi:
    """The WSGI application of the API.

    Args:
        center: the controller's contact center.
    """

    def __init__(
        self, center: ContactCenter, links: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self.center = center
        self.links = links

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
        try:
            code, body = self._route(method, parts, environ)
        except UnknownAgent as exc:
            code, body = 404, {"error": str(exc)}
        except StateError as exc:
            code, body = 409, {"error": str(exc)}
        data = json.dumps(body, ensure_ascii=False, indent=1).encode()
        start_response(
            _REASONS[code],
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _route(self, method: str, parts: list[str], environ: dict) -> tuple[int, Any]:
        pool = self.center.pool
        now = self.center.clock()
        if method == "GET" and not (len(parts) == 3 and parts[2] in ACTIONS):
            status = pool.status(now)
            if self.links is not None:
                status["freeswitch"] = self.links()
            if parts == ["status"]:
                return 200, status
            if parts == ["queues"]:
                return 200, status["queues"]
            if parts == ["agents"]:
                return 200, status["agents"]
            if len(parts) == 2 and parts[0] == "agents":
                return 200, pool.agent(parts[1]).summary(now)
            return 404, {"error": "no such resource; try /status, /queues or /agents"}
        if len(parts) == 3 and parts[0] == "agents" and parts[2] in ACTIONS:
            if method != "POST":
                return 405, {"error": f"use POST for /agents/ID/{parts[2]}"}
            until = None
            if parts[2] == "break":
                try:
                    minutes = _body(environ).get("minutes")
                except ValueError:
                    return 400, {"error": 'the body must be JSON like {"minutes": 15}'}
                if minutes is not None:
                    if not isinstance(minutes, int | float) or minutes <= 0:
                        return 400, {"error": "minutes must be a positive number"}
                    until = now + dt.timedelta(minutes=minutes)
            agent = change(pool, parts[2], parts[1], now, until=until)
            log.info("API: agent %s %s -> %s", agent.id, parts[2], agent.state)
            return 200, agent.summary(now)
        return 404, {"error": "no such resource; try /status, /queues or /agents"}


def _body(environ: dict) -> dict:
    """The request's JSON object (empty without a body).

    Raises:
        ValueError: the body is not a JSON object.
    """
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return {}
    body = json.loads(environ["wsgi.input"].read(length))
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def serve_api(
    center: ContactCenter,
    address: tuple[str, int],
    links: Callable[[], dict[str, Any]] | None = None,
) -> HttpServer:
    """Start the API on ``address``, which must be a loopback address; returns the server.

    Args:
        center: the controller's contact center.
        address: where to listen.
        links: what ``/status`` shows under ``freeswitch`` (the event socket's connection).

    Raises:
        ValueError: the address is not loopback.
    """
    host = "127.0.0.1" if address[0] == "localhost" else address[0]
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the API listens on loopback only, not {address[0]}")
    server = HttpServer((host, address[1]), AgentApi(center, links), log=None, error_log=log)
    server.start()
    return server
