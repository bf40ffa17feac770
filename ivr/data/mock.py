"""A stand-in web service for examples and demos, served by ivr itself on 127.0.0.1.

An ``http:`` source that says ``mock: FILE`` sends its requests, unchanged but for the address,
to a small HTTP server started in this process on a free loopback port, which answers from
FILE. The requests really cross a socket through the same pooled client as in production, so a
flow's scenarios exercise its HTTP path end to end, slow and failing answers included, with no
network. The file lists canned responses; the first whose method and path match answers::

    responses:
      - {method: POST, path: /v1/accounts/55501234/cards/block, delay: 1200ms, json: {ok: true}}
      - {method: POST, path: /v1/accounts/55509999/cards/block, status: 503}
      - {path: /v1/accounts/55508888/cards/block, body: "<html>Bad gateway</html>"}
      - {method: POST, path: "/v1/accounts/{account}/cards/block", json: {ref: "R{account}"}}

``{name}`` in a path matches one path segment and is filled into the JSON's texts. A request no
response matches gets 404. Remove ``mock:`` from the source to talk to the real service.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import gevent

from ivr.flow.fields import (
    AnyValue,
    CheckContext,
    Duration,
    ListOf,
    Number,
    Obj,
    Text,
    check_options,
)
from ivr.flow.source import Diagnostics, LDict, Mark, SourceCache, load_yaml
from ivr.wsgi import HttpServer

log = logging.getLogger("ivr.data.mock")

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found"}

RESPONSE_FIELDS = {
    "method": Text(
        "The request method it answers (default: any)",
        choices=["GET", "POST", "PUT", "PATCH", "DELETE"],
    ),
    "path": Text("The request path; {name} matches one segment", required=True),
    "status": Number("The HTTP status", minimum=100, maximum=599, default=200),
    "json": AnyValue("The JSON answer; {name} from the path is filled into its texts"),
    "body": Text("A raw answer instead of JSON (e.g. a broken one)"),
    "delay": Duration("How long the service takes to answer", default=0.0, maximum=600),
}
SPEC_FIELDS = {"responses": ListOf(Obj(fields=RESPONSE_FIELDS), "Canned responses", required=True)}


@dataclass(frozen=True)
class CannedResponse:
    """One response of the stand-in service and the requests it answers."""

    method: str | None
    path: re.Pattern[str]
    status: int
    json: Any
    body: str | None
    delay: float

    def payload(self, found: dict[str, str]) -> bytes:
        if self.body is not None:
            return self.body.encode("utf-8")
        if self.json is None:
            return b""
        return json.dumps(_fill(self.json, found)).encode("utf-8")


def _fill(value: Any, found: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: found.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, found) for v in value]
    return value


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", path)
    regex = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts if p
    )
    return re.compile(regex)


class MockService:
    """The stand-in service of one file; its server starts at the first request."""

    def __init__(self, path: Path, responses: list[CannedResponse]) -> None:
        self.path = path
        self.responses = responses
        self._server: HttpServer | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, starting the server if it is not running yet."""
        if self._server is None:
            server = HttpServer(("127.0.0.1", 0), self._app, log=None, error_log=None)
            server.start()
            self._server = server
            log.warning(
                "the stand-in service %s answers on 127.0.0.1:%d (mock:, not the real service)",
                self.path,
                server.server_port,
            )
        return f"http://127.0.0.1:{self._server.server_port}"

    def _app(self, environ: dict, start_response) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = unquote(environ.get("PATH_INFO") or "/")
        for response in self.responses:
            if response.method not in (None, method):
                continue
            match = response.path.fullmatch(path)
            if match is None:
                continue
            if response.delay:
                gevent.sleep(response.delay)
            body = response.payload(match.groupdict())
            reason = _REASONS.get(response.status, "Status")
            start_response(
                f"{response.status} {reason}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        body = b'{"error": "no such resource"}'
        start_response(
            "404 Not Found",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


_services: dict[Path, MockService] = {}


def load_mock(path: Path, mark: Mark, ctx: CheckContext) -> MockService | None:
    """The stand-in service described by ``path``, checked; None after reporting its mistakes.

    One service per file in a process, so every flow naming the file shares its server; loading
    the file again gives that service the file's current responses.
    """
    if not path.is_file():
        ctx.diag.error(f"cannot read {path}: no such file", mark)
        return None
    problems = Diagnostics()
    doc = load_yaml(path, problems, SourceCache())
    responses: list[CannedResponse] = []
    if isinstance(doc, LDict):
        spec = check_options(doc, SPEC_FIELDS, CheckContext(problems))
        given = spec.get("responses")
        # A wrong response is reported in the file; the service then answers none of them.
        for item in given if isinstance(given, list) else []:
            responses.append(
                CannedResponse(
                    method=item["method"],
                    path=_path_pattern(item["path"]),
                    status=item["status"],
                    json=item["json"],
                    body=item["body"],
                    delay=item["delay"],
                )
            )
    elif doc is not None:
        problems.error("expected a mapping with responses:", None)
    if doc is None and not problems.errors:
        problems.error(f"{path} is empty: expected responses:", None)
    for problem in problems.items:
        (ctx.diag.error if problem.severity == "error" else ctx.diag.warning)(
            problem.message, problem.mark or mark
        )
    if problems.errors:
        return None
    key = path.resolve()
    service = _services.setdefault(key, MockService(key, responses))
    service.responses = responses
    return service
