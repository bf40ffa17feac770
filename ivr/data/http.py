"""Web APIs that answer JSON: ``http:`` sources, asked by ``lookup`` and sent by ``http`` nodes.

The request is declared once in the flow: a URL template whose scheme and host are written out
(values can never change where a request goes), a method, query parameters, headers and a JSON
body. Values from the call reach it only as values: percent-encoded in the URL and query, as JSON
strings or numbers in the body, and refused in headers when they carry line breaks. Credentials
come from environment variables named under ``auth:``, read at each request, never written in
the flow and never put in a message or a log line.

Requests go through geventhttpclient, whose sockets are gevent's own: a slow API holds up only
the call that asked it. Clients are pooled per origin and timeout, with keep-alive connections.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPParseError

from ivr.data.base import (
    COMMON_FIELDS,
    DataSource,
    DataSourceError,
    JsonTemplate,
    Template,
    TemplateText,
    Timing,
    fill,
    names_in,
    parse_template,
    timing_from,
    usable,
)
from ivr.data.mock import MockService, load_mock
from ivr.flow.fields import (
    INVALID,
    CheckContext,
    Field,
    ListOf,
    MapOf,
    Number,
    Obj,
    Text,
    check_options,
    describe,
)
from ivr.flow.source import LDict, Mark
from ivr.flow.templates import render_url

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IDEMPOTENT = {"GET", "PUT", "DELETE"}
"""Methods that may be sent again after a failure once the request may have reached the server."""
POOL_SIZE = 32
"""Connections kept per origin; more calls at once wait for a free one."""
MAX_ANSWER_BYTES = 1 << 20
"""The largest answer read; a bigger one is a failure, not a memory problem."""
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}
_ENV = {"pattern": r"[A-Za-z_][A-Za-z0-9_]*", "pattern_doc": "an environment variable name"}
_HEADER_NAME = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)

_clients: dict[tuple[str, str, int, float], HTTPClient] = {}


def _client(scheme: str, host: str, port: int, timeout: float) -> HTTPClient:
    """The pooled client for one origin and timeout, made on first use."""
    key = (scheme, host, port, timeout)
    client = _clients.get(key)
    if client is None:
        client = HTTPClient(
            host,
            port=port,
            ssl=scheme == "https",
            concurrency=POOL_SIZE,
            connection_timeout=timeout,
            network_timeout=timeout,
            headers={"User-Agent": "ivr"},
        )
        _clients[key] = client
    return client


def pick(answer: Any, path: str) -> Any:
    """The value at a dotted path (``card.last4``, ``items.0.status``); None when absent."""
    value = answer
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


class HttpSource(DataSource):
    """A JSON web API: a lookup asks it for a record; an ``http`` node sends it a request."""

    kind = "http"

    def __init__(
        self,
        url: Template,
        method: str,
        query: dict[str, Template],
        headers: dict[str, Template],
        body: Any,
        auth: dict[str, str] | None,
        fields: dict[str, str] | None,
        not_found: list[int],
        mock: MockService | None,
        timing: Timing,
    ) -> None:
        reads = set(url.names) | names_in(query) | names_in(headers) | names_in(body)
        super().__init__(timing, frozenset(reads))
        self.url = url
        self.method = method
        self.query = query
        self.headers = headers
        self.body = body
        self.auth = auth
        self.fields = fields
        self.not_found = not_found
        self.mock = mock
        split = urlsplit(url.text)
        self.origin = f"{split.scheme}://{split.netloc}"

    @property
    def repeatable(self) -> bool:
        return self.method in IDEMPOTENT

    def describe(self) -> str:
        # The template, not the rendered URL: the values (account numbers, PINs) stay out of it.
        stand_in = " (stand-in service)" if self.mock is not None else ""
        return f"{self.method} {self.url.text}{stand_in}"

    def _credentials(self) -> dict[str, str]:
        """The credential header, from the environment at each request (rotation needs no restart).

        Raises:
            DataSourceError: a named environment variable is not set (the message names it only).
        """
        if not self.auth:
            return {}
        secrets = {}
        for option, variable in self.auth.items():
            if option.endswith("_env"):
                value = os.environ.get(variable)
                if value is None:
                    raise DataSourceError(f"environment variable {variable} is not set")
                secrets[option] = value
        if "bearer_env" in secrets:
            return {"Authorization": f"Bearer {secrets['bearer_env']}"}
        if "user_env" in secrets:
            pair = f"{secrets['user_env']}:{secrets['password_env']}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {self.auth["header"]: secrets["value_env"]}

    def _target(self, values: Mapping[str, Any]) -> tuple[str, str]:
        """The origin to connect to and the request target (path and query)."""
        try:
            url = render_url(self.url.text, dict(values))
        except Exception as exc:  # as any template: an undefined value, a sandbox violation
            raise DataSourceError(f"the URL template failed: {exc}") from exc
        split = urlsplit(url)
        target = split.path or "/"
        query = split.query
        if self.query:
            extra = urlencode({name: t.value(values) for name, t in self.query.items()})
            query = f"{query}&{extra}" if query else extra
        if query:
            target += "?" + query
        origin = self.mock.origin if self.mock is not None else self.origin
        return origin, target

    def _headers(self, values: Mapping[str, Any]) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        for name, template in self.headers.items():
            value = template.render(values)
            if "\r" in value or "\n" in value:
                raise DataSourceError(f"the value of header {name} has a line break; refused")
            headers[name] = value
        headers.update(self._credentials())
        return headers

    def _exchange(self, values: Mapping[str, Any]) -> tuple[int, bytes]:
        origin, target = self._target(values)
        headers = self._headers(values)
        payload = b""
        if self.body is not None:
            payload = json.dumps(fill(self.body, values), default=str).encode("utf-8")
            headers["Content-Type"] = "application/json"
        split = urlsplit(origin)
        port = split.port or (443 if split.scheme == "https" else 80)
        client = _client(split.scheme, split.hostname or "", port, self.timing.timeout)
        try:
            response = client.request(self.method, target, body=payload, headers=headers)
            try:
                status = response.status_code
                data = response.read(MAX_ANSWER_BYTES + 1)
            finally:
                response.release()
        except (ConnectionRefusedError, socket.gaierror) as exc:
            # Nothing reached the server: any method may be tried again.
            raise DataSourceError(f"cannot connect to {origin}: {exc}", retryable=True) from exc
        except TimeoutError as exc:
            raise DataSourceError(
                f"no answer from {origin} within {self.timing.timeout:g}s",
                retryable=self.repeatable,
                timed_out=True,
            ) from exc
        except (OSError, HTTPParseError) as exc:
            raise DataSourceError(
                f"{origin}: the connection failed: {exc}", retryable=self.repeatable
            ) from exc
        except ValueError as exc:
            # The client refuses a header or target it cannot send; its message would quote
            # the value, which may be a credential.
            raise DataSourceError(
                f"{self.describe()}: a header holds characters HTTP cannot carry"
            ) from exc
        if len(data) > MAX_ANSWER_BYTES:
            raise DataSourceError(f"{self.describe()}: the answer is over {MAX_ANSWER_BYTES} bytes")
        return status, data

    def _decode(self, status: int, data: bytes) -> Any:
        if not 200 <= status < 300:
            raise DataSourceError(
                f"{self.describe()} answered {status}",
                retryable=status in RETRY_STATUSES and self.repeatable,
            )
        if not data.strip():
            answer: Any = {}
        else:
            try:
                answer = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise DataSourceError(
                    f"{self.describe()} answered {status} with malformed JSON: {exc}"
                ) from exc
        if self.fields is not None:
            return {name: pick(answer, path) for name, path in self.fields.items()}
        return answer

    def lookup(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        status, data = self._exchange(values)
        if status in self.not_found:
            return None
        answer = self._decode(status, data)
        if not isinstance(answer, dict):
            raise DataSourceError(
                f"{self.describe()} answered {describe(answer)}, not a record; pick its values "
                "with fields:"
            )
        return answer

    def send(self, values: Mapping[str, Any]) -> Any:
        """Send the request (an ``http`` node): any 2xx answer, as JSON; anything else fails.

        Raises:
            DataSourceError: no answer, a status other than 2xx, or malformed JSON.
        """
        return self._decode(*self._exchange(values))


class _Url(Field):
    """An absolute http(s) URL template whose scheme and host are written out."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, str):
            return self._wrong(ctx, "a URL like https://api.example/orders/{{ key }}", value, mark)
        head = value.split("{", 1)[0]
        split = urlsplit(head)
        if split.scheme not in ("http", "https") or not split.netloc:
            ctx.diag.error(
                f"expected a URL starting with http:// or https:// and a host, got {value!r}", mark
            )
            return INVALID
        if "{" in value and "/" not in head[len(split.scheme) + 3 :]:
            ctx.diag.error(
                "the host of a URL is written out, not a template: values go in its path or query",
                mark,
            )
            return INVALID
        template = parse_template(value, mark, ctx)
        if template is None:
            return INVALID
        if any(c.isspace() for c in _TEMPLATE_PART.sub("", value)):
            ctx.diag.error("a URL has no spaces outside {{ }}; encode them as %20", mark)
            return INVALID
        return template

    def type_doc(self) -> str:
        return "URL (http:// or https://, path may use {{ templates }})"

    def schema(self) -> dict:
        return {"type": "string", "pattern": "^https?://"}


AUTH_FIELDS = {
    "bearer_env": Text("Send 'Authorization: Bearer' with this environment variable", **_ENV),
    "user_env": Text("Basic auth: the environment variable holding the user name", **_ENV),
    "password_env": Text("Basic auth: the environment variable holding the password", **_ENV),
    "header": Text(
        "Send the secret in this header (e.g. X-Api-Key)",
        pattern=_HEADER_NAME,
        pattern_doc="a header name",
    ),
    "value_env": Text("The environment variable holding that header's value", **_ENV),
}
REQUEST_FIELDS = {
    "url": _Url("The address; values in {{ }} are percent-encoded", required=True),
    "method": Text("The request method", choices=METHODS, default="GET"),
    "query": MapOf(
        TemplateText(), "Query parameters", key_pattern=r"[^\s&=#]+", key_doc="a parameter name"
    ),
    "headers": MapOf(
        TemplateText(),
        "Extra headers (no credentials)",
        key_pattern=_HEADER_NAME,
        key_doc="a header",
    ),
    "json": JsonTemplate("The JSON body; texts may be templates, which stay values"),
    "auth": Obj("Credentials from environment variables", fields=AUTH_FIELDS),
    "fields": MapOf(
        Text(pattern=r"[^\s.]+(\.[^\s.]+)*", pattern_doc="a dotted path like card.last4"),
        "Values to keep from the answer, by dotted path (default: the whole answer)",
    ),
    "not_found": ListOf(
        Number(minimum=400, maximum=599), "Statuses meaning 'no such record' (default [404])"
    ),
    "mock": Text("Answer from a stand-in service file served on 127.0.0.1 (examples, demos)"),
}
HTTP_FIELDS = {"http": Obj("The request", fields=REQUEST_FIELDS, required=True), **COMMON_FIELDS}


def _check_auth(auth: dict[str, Any], mark: Mark, ctx: CheckContext) -> bool:
    given = {k for k, v in auth.items() if v is not None}
    schemes = [{"bearer_env"}, {"user_env", "password_env"}, {"header", "value_env"}]
    if given not in schemes:
        ctx.diag.error(
            "auth: give {bearer_env: NAME}, {user_env: NAME, password_env: NAME} or "
            "{header: X-Api-Key, value_env: NAME}",
            mark,
        )
        return False
    return True


def _long_form(spec: LDict) -> LDict:
    """``http: URL`` is short for ``http: {url: URL}``, a GET of that URL."""
    mark = spec.value_mark("http")
    request = LDict(url=spec["http"])
    request.mark, request.key_marks, request.value_marks = mark, {"url": mark}, {"url": mark}
    out = LDict(spec)
    out["http"] = request
    out.mark, out.key_marks, out.value_marks = spec.mark, spec.key_marks, spec.value_marks
    return out


def make_http(spec: LDict, base: Path, ctx: CheckContext) -> DataSource | None:
    """An ``http:`` source from its declaration, or None after reporting its mistakes."""
    if isinstance(spec.get("http"), str):
        spec = _long_form(spec)
    opts = check_options(spec, HTTP_FIELDS, ctx)
    if not usable(opts, HTTP_FIELDS) or not usable(opts["http"], REQUEST_FIELDS):
        return None
    request = opts["http"]
    where: LDict = spec["http"]
    ok = True
    for name in request["headers"] or {}:
        if name.lower() in CREDENTIAL_HEADERS:
            ctx.diag.error(
                f"credentials do not belong in the flow: send {name} with auth: and an "
                "environment variable",
                where["headers"].key_mark(name),
            )
            ok = False
    auth = {k: v for k, v in (request["auth"] or {}).items() if v is not None} or None
    if auth is not None and not _check_auth(auth, where.value_mark("auth"), ctx):
        ok = False
    if request["method"] == "GET" and request["json"] is not None:
        ctx.diag.error(
            "a GET request has no body: use query: or method: POST", where.key_mark("json")
        )
        ok = False
    mock = None
    if request["mock"] is not None:
        mock = load_mock(base / request["mock"], where.value_mark("mock"), ctx)
        ok = ok and mock is not None
    if not ok:
        return None
    return HttpSource(
        url=request["url"],
        method=request["method"],
        query=request["query"] or {},
        headers=request["headers"] or {},
        body=request["json"],
        auth=auth,
        fields=request["fields"],
        not_found=request["not_found"] if request["not_found"] is not None else [404],
        mock=mock,
        timing=timing_from(opts),
    )
