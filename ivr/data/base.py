"""What every data source shares: the interface, how it is asked, and its questions as templates.

A source answers one question, asked with values from the call: the lookup's ``key``, the PIN an
``authenticate`` node checks (``pin``), and any call variable its question names. ``DataSource.ask``
is the one way a source is asked: it applies the source's ``timeout`` to every attempt, retries
failures that may pass (a timeout, a refused connection, a busy server) up to ``retries`` times,
and keeps answers for ``cache: {ttl: ...}``. Blocking drivers (SQLite, SQLAlchemy) run in a small
thread pool so one slow database never stalls the other calls of the process.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gevent
from gevent.threadpool import ThreadPool

from ivr.errors import IvrError
from ivr.flow.fields import (
    INVALID,
    CheckContext,
    Duration,
    Field,
    Number,
    Obj,
    PromptField,
    TemplateRef,
    Text,
    describe,
)
from ivr.flow.prompts import Prompt
from ivr.flow.source import LDict, LList, Mark
from ivr.flow.templates import TemplateError, evaluate, render, variables_of

log = logging.getLogger("ivr.data")

SPECIAL_NAMES = {
    "key": "the key a lookup node asks for",
    "pin": "the PIN an authenticate node checks",
}
"""Names a source's question may use besides call variables; nodes supply their values."""

RETRY_PAUSE = 0.2
"""Seconds before the first retry; each later retry waits one more such step."""
BLOCKING_THREADS = 8
"""Threads for blocking database drivers, shared by every call of the process."""

_SINGLE_EXPRESSION = re.compile(r"\s*\{\{(.*)\}\}\s*", re.S)


class DataSourceError(IvrError):
    """A source could not answer (unreadable, failed, too slow): the node takes ``on_error``.

    Attributes:
        retryable: another attempt may succeed (a timeout, a refused connection, a busy server).
        timed_out: the source gave no answer within its ``timeout``.
    """

    def __init__(self, message: str, *, retryable: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.timed_out = timed_out


@dataclass(frozen=True)
class Timing:
    """How a source is asked, from its declaration's common options.

    Attributes:
        timeout: the longest wait for one attempt, in seconds.
        retries: further attempts after a failure that may pass.
        cache_ttl: seconds an answer is kept (None: answers are not kept).
        cache_size: the most answers kept at once.
        filler_after: seconds of waiting after which the caller hears the filler prompt.
        filler: what the caller hears meanwhile (None: "One moment please." in their language).
    """

    timeout: float = 3.0
    retries: int = 0
    cache_ttl: float | None = None
    cache_size: int = 10_000
    filler_after: float = 0.8
    filler: Prompt | None = None


COMMON_FIELDS: dict[str, Field] = {
    "timeout": Duration("The longest wait for one answer", default=3.0, maximum=60),
    "retries": Number(
        "Further tries after a timeout or a failure that may pass", minimum=0, maximum=5, default=0
    ),
    "cache": Obj(
        "Keep answers for a while, e.g. {ttl: 30s}",
        fields={
            "ttl": Duration("How long an answer is kept", required=True, maximum=86400),
            "size": Number("The most answers kept at once", minimum=1, maximum=1_000_000),
        },
    ),
    "filler_after": Duration(
        "Play the filler prompt when an answer takes longer than this", default=0.8, maximum=60
    ),
    "filler": PromptField("What the caller hears while waiting (default: 'One moment please.')"),
    "description": Text("What this source is for"),
}


def timing_from(opts: dict[str, Any]) -> Timing:
    """The Timing of a source from its checked common options."""
    cache = opts.get("cache") or {}
    return Timing(
        timeout=opts["timeout"],
        retries=opts["retries"],
        cache_ttl=cache.get("ttl"),
        cache_size=cache.get("size") or Timing.cache_size,
        filler_after=opts["filler_after"],
        filler=opts.get("filler"),
    )


class _AnswerCache:
    """Answers by question for ``ttl`` seconds, the oldest dropped first beyond ``size``."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, question: Hashable) -> tuple[bool, Any]:
        item = self._items.get(question)
        if item is None:
            return False, None
        expires, answer = item
        if expires <= time.monotonic():
            del self._items[question]
            return False, None
        self._items.move_to_end(question)
        return True, answer

    def put(self, question: Hashable, answer: Any) -> None:
        self._items[question] = (time.monotonic() + self.ttl, answer)
        self._items.move_to_end(question)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class DataSource:
    """A back end that answers questions; safe to ask from many calls at once.

    Attributes:
        kind: the key that declares it under ``data:`` (``csv``, ``sqlite``, ``http``...).
        timing: timeout, retries, cache and filler.
        reads: the names its question uses (``key``, ``pin``, call variables).
    """

    kind: ClassVar[str] = ""

    def __init__(self, timing: Timing, reads: frozenset[str]) -> None:
        self.timing = timing
        self.reads = reads
        self._cache = (
            _AnswerCache(timing.cache_ttl, timing.cache_size) if timing.cache_ttl else None
        )

    @property
    def repeatable(self) -> bool:
        """Whether a request that may have reached the back end can be sent again.

        True for questions; False for requests that change something (a POST, a writing query),
        which are retried only when they surely never arrived.
        """
        return True

    def describe(self) -> str:
        """What the source is, for messages: a file, a database, a web address."""
        return self.kind

    def lookup(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """One attempt at the record the values ask for; None when there is none.

        Raises:
            DataSourceError: the source failed.
        """
        raise NotImplementedError

    def question(self, values: Mapping[str, Any]) -> Hashable:
        """What identifies one question, for the cache: the values the source reads."""
        return json.dumps({n: values.get(n) for n in sorted(self.reads)}, default=str)

    def ask(
        self,
        values: Mapping[str, Any],
        *,
        fetch: Callable[[Mapping[str, Any]], Any] | None = None,
        cached: bool = True,
    ) -> Any:
        """Ask the source with its timeout, retries and cache.

        Args:
            values: the call's values plus ``key`` (and ``pin``) as the asking node gives them.
            fetch: the attempt to make (default: ``lookup``).
            cached: whether the cache may answer and keep the answer (never for PIN checks).

        Raises:
            DataSourceError: every attempt failed, or the last one timed out.
        """
        fetch = fetch or self.lookup
        question = None
        if cached and self._cache is not None:
            question = self.question(values)
            hit, answer = self._cache.get(question)
            if hit:
                return copy.deepcopy(answer)
        attempts = self.timing.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                answer = self._attempt(fetch, values)
                break
            except DataSourceError as exc:
                if attempt == attempts or not exc.retryable:
                    raise
                log.info("%s: attempt %d failed (%s); trying again", self.describe(), attempt, exc)
                gevent.sleep(RETRY_PAUSE * attempt)
        if question is not None:
            self._cache.put(question, copy.deepcopy(answer))
        return answer

    def _attempt(self, fetch: Callable[[Mapping[str, Any]], Any], values: Mapping[str, Any]):
        timer = gevent.Timeout(self.timing.timeout)
        timer.start()
        try:
            return fetch(values)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise DataSourceError(
                f"no answer within {self.timing.timeout:g}s",
                retryable=self.repeatable,
                timed_out=True,
            ) from None
        except DataSourceError:
            raise
        except Exception as exc:
            # A driver's or a source's own bug (a value it cannot bind, an error of a kind it
            # does not wrap) costs this lookup, never the call: the node takes its error edge.
            log.exception("%s failed unexpectedly", self.describe())
            raise DataSourceError(f"{self.describe()}: {type(exc).__name__}: {exc}") from exc
        finally:
            timer.close()
            # The timer is the exception raised through this frame; keeping it in a local would
            # make a cycle (timer -> traceback -> frame -> timer) that only a full collection frees.
            del timer


_threads: ThreadPool | None = None


def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking function (a database driver) in a worker thread; the greenlet waits.

    The wait can be cut short by the attempt's timeout; the function then runs to its end in
    its thread (sources make their drivers stop early where they can).
    """
    global _threads
    if _threads is None:
        _threads = ThreadPool(BLOCKING_THREADS)
    return _threads.spawn(function, *args).get()


# ----------------------------------------------------------------- questions as templates


@dataclass(frozen=True)
class Template:
    """A jinja2 template in a source's question, with the names it reads."""

    text: str
    names: frozenset[str]
    mark: Mark | None = None

    def render(self, values: Mapping[str, Any]) -> str:
        """The text with the values filled in.

        Raises:
            DataSourceError: the template failed (an undefined value, a sandbox violation).
        """
        try:
            return render(self.text, dict(values))
        except Exception as exc:  # a template may raise anything: 1/0, TypeError, UndefinedError
            raise DataSourceError(f"template {self.text!r} failed: {exc}") from exc

    def value(self, values: Mapping[str, Any]) -> Any:
        """Like ``render``, but a template that is one ``{{ expression }}`` keeps its type."""
        single = _SINGLE_EXPRESSION.fullmatch(self.text)
        if single and "{{" not in single.group(1) and "}}" not in single.group(1):
            try:
                return evaluate(single.group(1), dict(values))
            except Exception as exc:  # as in render
                raise DataSourceError(f"template {self.text!r} failed: {exc}") from exc
        return self.render(values)


def note_names(names: set[str] | frozenset[str], mark: Mark, ctx: CheckContext) -> None:
    """Have the compiler check the call variables a question uses, as it checks templates."""
    for name in sorted(set(names) - set(SPECIAL_NAMES)):
        ctx.templates.append(TemplateRef(name, mark, expression=True))


def parse_template(text: str, mark: Mark, ctx: CheckContext) -> Template | None:
    """Check one template of a source's question; None when it does not parse."""
    try:
        names = frozenset(variables_of(text))
    except TemplateError as exc:
        ctx.diag.error(f"template error: {exc.message or exc}", mark)
        return None
    note_names(names, mark, ctx)
    return Template(text, names, mark)


class TemplateText(Field):
    """Text of a source's question that may use ``{{ key }}``, ``{{ pin }}`` and call variables."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            return self._wrong(ctx, "text or a {{ template }}", value, mark)
        template = parse_template(str(value), mark, ctx)
        return INVALID if template is None else template

    def type_doc(self) -> str:
        return "text or {{ template }} (may use {{ key }}, {{ pin }})"

    def schema(self) -> dict:
        return {"type": ["string", "number"]}


class JsonTemplate(Field):
    """A JSON value (a request body) whose texts may be templates; values stay values."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, LDict):
            out = {k: self.check(v, value.value_mark(k), ctx) for k, v in value.items()}
            return INVALID if INVALID in out.values() else out
        if isinstance(value, LList):
            items = [self.check(v, value.item_mark(i), ctx) for i, v in enumerate(value)]
            return INVALID if INVALID in items else items
        if isinstance(value, str):
            template = parse_template(value, mark, ctx)
            return INVALID if template is None else template
        if value is None or isinstance(value, bool | int | float):
            return value
        return self._wrong(ctx, "a JSON value", value, mark)

    def type_doc(self) -> str:
        return "JSON value (its texts may be {{ templates }})"

    def schema(self) -> dict:
        return {}


def names_in(value: Any) -> set[str]:
    """Every name the templates inside a checked value read."""
    if isinstance(value, Template):
        return set(value.names)
    if isinstance(value, dict):
        return set().union(*(names_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value)) if value else set()
    return set()


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    """A checked JSON value with its templates filled in, as data (never re-read as text)."""
    if isinstance(value, Template):
        return value.value(values)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def usable(opts: dict[str, Any], fields: dict[str, Field]) -> bool:
    """Whether checked options can be used: no wrong value, every required one given."""
    return INVALID not in opts.values() and all(
        name in opts for name, spec in fields.items() if spec.required
    )


def expect_mapping(value: Any, mark: Mark, ctx: CheckContext, example: str) -> bool:
    """Report a source declaration that is not a mapping; True when it is one."""
    if isinstance(value, LDict):
        return True
    ctx.diag.error(f"expected a mapping like {example}, got {describe(value)}", mark)
    return False
