"""The controller's small JSON HTTP API, on loopback only: queue status and agent control.

``GET /status`` (queues and agents, and with ``ivr serve --esl`` the event socket's connection
under ``freeswitch``), ``GET /queues``, ``GET /agents``, ``GET /agents/ID``, and
``POST /agents/ID/login``, ``POST /agents/ID/logout``, ``POST /agents/ID/break`` (optional JSON
body ``{"minutes": 15}`` for a timed break, above 0 and at most 1440). Changes take effect at
once: a login offers the agent to the callers waiting.

Listening on loopback keeps other machines out, not other programs of this one, nor the web
pages open in its browsers. So every request is checked, in this order:

- ``Host`` must name this server by a loopback name and its port (``127.0.0.1:PORT``,
  ``localhost:PORT``, ``[::1]:PORT``), else 421: a page whose own domain was re-pointed at
  127.0.0.1 (DNS rebinding) sends its own domain there;
- with a token (``ivr serve --api-token-file``), ``Authorization: Bearer TOKEN``, else 401;
- a ``POST`` with an ``Origin`` other than this server's loopback origin gets 403 (a page
  elsewhere cannot drive agents), and a ``POST`` body must be ``Content-Type: application/json``,
  else 415 (an HTML form cannot send that without the browser asking first);
- the body: at most 64 KiB (413, refused before it is read; chunked bodies 411), UTF-8, one JSON
  object, no fields but ``minutes`` (for a break), no ``NaN``/``Infinity``, else 400.

Every answer is JSON; errors are ``{"error": "..."}``, saying what was wrong and what is
allowed: also 404 (no such agent or path), 405 (wrong method), 408 (a request too slow to
arrive) and 409 (not possible in the agent's state). A client's mistake is never a 500 nor a
traceback in the log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import stat
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ivr.acd.center import ContactCenter
from ivr.acd.control import ACTIONS, break_minutes, change, json_kind
from ivr.acd.model import StateError, UnknownAgent
from ivr.errors import IvrError
from ivr.wsgi import READ_TIMEOUT, HttpServer

log = logging.getLogger("ivr.acd")

MAX_BODY = 64 * 1024
"""The longest request body the API reads, in bytes: ``{"minutes": 15}`` is 15."""
_RESOURCES = "try /status, /queues, /agents or /agents/ID"
_BREAK_BODY = 'the body must be a JSON object like {"minutes": 15}'


class TokenFileError(IvrError):
    """The API token file is missing, empty, or readable by others than its owner."""


def read_token_file(path: Path) -> str:
    """The token in ``path``: its one line, from a file only its owner may read.

    Raises:
        TokenFileError: no such file, an empty one, or one its group or others may read.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"API token file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(
            f"API token file {path} is open to its group or others (mode "
            f"{stat.filemode(mode)}): run chmod 600 {path}"
        )
    token = text.strip()
    if not token or any(c.isspace() for c in token):
        raise TokenFileError(f"API token file {path} must hold one token on one line")
    return token


class _Refusal(IvrError):
    """A request the API answers with an error status, before or instead of acting on it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AgentApi:
    """The WSGI application of the API.

    Args:
        center: the controller's contact center.
        links: what ``/status`` shows under ``freeswitch``.
        token: the bearer token every request must carry (``None``: none needed).
    """

    def __init__(
        self,
        center: ContactCenter,
        links: Callable[[], dict[str, Any]] | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.center = center
        self.links = links
        self.token = token

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json")]
        try:
            code, body = self._answer(environ)
        except _Refusal as exc:
            code, body = exc.code, {"error": exc.message}
            log.info("API: %d to %s: %s", code, environ.get("REMOTE_ADDR"), exc.message)
            if code == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="ivr agents API"'))
        except UnknownAgent as exc:
            code, body = 404, {"error": str(exc)}
        except StateError as exc:
            code, body = 409, {"error": str(exc)}
        except Exception:
            log.exception("API: %s %s failed", environ.get("REQUEST_METHOD"), _path(environ))
            code, body = 500, {"error": "the controller failed on this request; see its log"}
        data = json.dumps(body, ensure_ascii=False, indent=1).encode()
        headers.append(("Content-Length", str(len(data))))
        status = HTTPStatus(code)
        start_response(f"{code} {status.phrase}", headers)
        return [data]

    def _answer(self, environ: dict) -> tuple[int, Any]:
        port = int(environ["SERVER_PORT"])
        host = environ.get("HTTP_HOST")
        if host is None:
            raise _Refusal(400, f"a Host header is needed: Host: 127.0.0.1:{port}")
        if not _is_this_server(host, port):
            raise _Refusal(
                421,
                f"Host {host!r} is not this API, which answers only to a loopback name and its "
                f"port (127.0.0.1:{port}, localhost:{port}, [::1]:{port})",
            )
        if self.token is not None and not _bearer_matches(environ, self.token):
            raise _Refusal(
                401, "this API needs Authorization: Bearer TOKEN, the token in its token file"
            )
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and not (
                origin.startswith("http://") and _is_this_server(origin[7:], port)
            ):
                raise _Refusal(
                    403,
                    f"Origin {origin!r} may not change agents: only http://127.0.0.1:{port} "
                    "and the other loopback names of this API may",
                )
            media = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
            if _content_length(environ) and media != "application/json":
                raise _Refusal(
                    415, f"a body must be Content-Type: application/json, not {media or 'none'!r}"
                )
        parts = [p for p in _path(environ).split("/") if p]
        return self._route(method, parts, environ)

    def _route(self, method: str, parts: list[str], environ: dict) -> tuple[int, Any]:
        pool = self.center.pool
        now = self.center.clock()
        if len(parts) == 3 and parts[0] == "agents" and parts[2] in ACTIONS:
            if method != "POST":
                raise _Refusal(405, f"use POST for /agents/ID/{parts[2]}")
            action = parts[2]
            body = _body(environ)
            allowed = {"minutes"} if action == "break" else set()
            unknown = sorted(set(body) - allowed)
            if unknown:
                takes = "only minutes" if allowed else "no fields"
                raise _Refusal(400, f"unknown field {unknown[0]!r}: {action} takes {takes}")
            until = None
            if body.get("minutes") is not None:
                try:
                    until = now + dt.timedelta(minutes=break_minutes(body["minutes"]))
                except ValueError as exc:
                    raise _Refusal(400, str(exc)) from exc
            agent = change(pool, action, parts[1], now, until=until)
            log.info("API: agent %s %s -> %s", agent.id, action, agent.state)
            return 200, agent.summary(now)
        if not (parts in (["status"], ["queues"], ["agents"]) or _is_agent(parts)):
            raise _Refusal(404, f"no such resource; {_RESOURCES}")
        if method != "GET":
            raise _Refusal(405, f"use GET for /{'/'.join(parts)}")
        if _is_agent(parts):
            return 200, pool.agent(parts[1]).summary(now)
        status = pool.status(now)
        if self.links is not None:
            status["freeswitch"] = self.links()
        return 200, status if parts == ["status"] else status[parts[0]]


def _path(environ: dict) -> str:
    return environ.get("PATH_INFO", "")


def _is_agent(parts: list[str]) -> bool:
    return len(parts) == 2 and parts[0] == "agents"


def _is_this_server(authority: str, port: int) -> bool:
    """Whether ``authority`` (``HOST:PORT``, ``[IPV6]:PORT``) is a loopback name with ``port``."""
    name, colon, given = authority.rpartition(":")
    if not colon or given != str(port):
        return False
    if name.lower() == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    elif ":" in name:
        return False  # an IPv6 address must be in brackets to carry a port
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _bearer_matches(environ: dict, token: str) -> bool:
    scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    # Header values arrive decoded as Latin-1; compare bytes, as compare_digest takes no
    # non-ASCII text, in constant time so the token cannot be guessed byte by byte.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("latin-1", "replace"), token.encode()
    )


def _content_length(environ: dict) -> int:
    # The server refused a malformed, negative or too large Content-Length before this, and
    # read the body within its deadline.
    return int(environ.get("CONTENT_LENGTH") or 0)


def _body(environ: dict) -> dict:
    """The request's JSON object (empty without a body).

    Raises:
        _Refusal: the body is not UTF-8, not JSON, not an object, or holds NaN.
    """
    length = _content_length(environ)
    if not length:
        return {}
    raw = environ["wsgi.input"].read(length)  # from memory: the server has read it already
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refusal(400, f"the body is not UTF-8 (byte {exc.start + 1})") from exc
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except _Refusal:
        raise
    except json.JSONDecodeError as exc:
        raise _Refusal(
            400, f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:  # a number of more than 4300 digits
        raise _Refusal(400, f"the body is not usable JSON: {exc}") from exc
    except RecursionError as exc:
        raise _Refusal(400, "the body is nested too deeply to be the JSON of a request") from exc
    if not isinstance(body, dict):
        raise _Refusal(400, f"{_BREAK_BODY}, not {json_kind(body)}")
    return body


def _no_constant(name: str) -> None:
    # Python's json reads NaN and Infinity, which no JSON encoder writes and no duration is.
    raise _Refusal(
        400, f"{name} is not a JSON number: minutes must be a number above 0 and at most 1440"
    )


def serve_api(
    center: ContactCenter,
    address: tuple[str, int],
    links: Callable[[], dict[str, Any]] | None = None,
    *,
    token: str | None = None,
    read_timeout: float = READ_TIMEOUT,
) -> HttpServer:
    """Start the API on ``address``, which must be a loopback address; returns the server.

    Args:
        center: the controller's contact center.
        address: where to listen.
        links: what ``/status`` shows under ``freeswitch`` (the event socket's connection).
        token: the bearer token every request must carry (``None``: none needed).
        read_timeout: seconds a client has to send its request headers.

    Raises:
        ValueError: the address is not loopback.
        OSError: the address cannot be listened on.
    """
    host = "127.0.0.1" if address[0] == "localhost" else address[0]
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the API listens on loopback only, not {address[0]}")
    server = HttpServer(
        (host, address[1]),
        AgentApi(center, links, token=token),
        read_timeout=read_timeout,
        max_body=MAX_BODY,
        log=None,
        error_log=log,
    )
    server.start()
    return server
