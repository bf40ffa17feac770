"""``authenticate``: an account number and a PIN, checked against a data source, with lockout.

The caller keys in the account, then the PIN. The source checks them: either its question reads
``pin`` (``WHERE account = :key AND pin = :pin``; a record means they match, and the PIN never
leaves the back end), or the node compares the record's ``pin_field`` itself. Wrong pairs are
tried again up to ``attempts`` times, then ``on_fail``. Failures are also counted per caller ID
and per account number over a sliding window, across calls: after ``lockout.after`` of them
within ``lockout.within`` that caller or account is locked out (``locked``) until the window has
passed, whichever call they come from. The PIN is always sensitive: masked in the journal and in the
call's recording, never logged, never cached, and dropped from the saved record.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections import deque

from ivr.data import DataSourceError
from ivr.flow.fields import Duration, Edge, Number, Obj, PromptField, Text, Variable
from ivr.nodes.base import Node, NodeError
from ivr.nodes.lookup import ask, failure, source_of

MAX_TRACKED = 100_000
"""Callers and accounts whose failures are remembered at once; stale ones are dropped first."""


class FailureLedger:
    """Failed sign-ins per caller and per account, by call time, over a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], deque[dt.datetime]] = {}

    def count(self, who: tuple[str, str], now: dt.datetime, window: float) -> int:
        """Failures of ``who`` within ``window`` seconds before ``now``."""
        times = self._failures.get(who)
        if not times:
            return 0
        since = now - dt.timedelta(seconds=window)
        while times and times[0] <= since:
            times.popleft()
        if not times:
            del self._failures[who]
        return len(times)

    def fail(self, who: tuple[str, str], now: dt.datetime) -> None:
        """Count one failure of ``who`` at ``now``."""
        if who not in self._failures and len(self._failures) >= MAX_TRACKED:
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
        self._failures.setdefault(who, deque()).append(now)

    def clear(self, who: tuple[str, str]) -> None:
        """Forget the failures of ``who`` (after a successful sign-in)."""
        self._failures.pop(who, None)


def _digits(doc: str, low: int, high: int) -> Obj:
    return Obj(
        doc,
        fields={
            "min": Number("Fewest digits", minimum=1, maximum=64, default=low),
            "max": Number("Most digits", minimum=1, maximum=64, default=high),
        },
    )


class Authenticate(Node):
    """Signs a caller in with an account number and a PIN, with attempts and a lockout."""

    type_name = "authenticate"
    summary = "Check an account number and PIN against a data source, with lockout"
    options = {
        "source": Text("A source that finds the account (and checks the PIN)", required=True),
        "account_prompt": PromptField("Asks for the account number", required=True),
        "pin_prompt": PromptField("Asks for the PIN", required=True),
        "invalid_prompt": PromptField("Played after a wrong account number or PIN"),
        "locked_prompt": PromptField("Played when the caller or the account is locked out"),
        "account_digits": _digits("How many digits an account number has", 1, 32),
        "pin_digits": _digits("How many digits a PIN has", 4, 8),
        "terminator": Text(
            "Key that ends each entry", pattern=r"[#*]?", default="#", pattern_doc="# or *"
        ),
        "timeout": Duration("Wait for the first key of an entry", default=5.0, maximum=120),
        "digit_timeout": Duration("Wait between keys", default=3.0, maximum=60),
        "attempts": Number("Tries in this call before on_fail", minimum=1, maximum=10, default=3),
        "pin_field": Text("The record's field holding the PIN, when the source does not check it"),
        "lockout": Obj(
            "Lock a caller or an account out after repeated failures",
            fields={
                "after": Number("Failures that lock out", minimum=1, maximum=100, default=5),
                "within": Duration("The window they are counted in", default=900.0),
            },
        ),
        "save_as": Variable("The variable that receives the account record", required=True),
        "next": Edge("Where a signed-in caller goes", label="next", required=True),
        "on_fail": Edge("Where to go after the last wrong attempt", label="fail", required=True),
        "locked": Edge("Where a locked-out caller goes", label="locked", required=True),
        "on_error": Edge(
            "Where to go when the source fails or is too slow", label="error", required=True
        ),
    }

    example = """\
flow: example_authenticate
start: sign_in
data:
  sign_in:                       # a record only when the account number and PIN match
    sqlite:
      file: data/acme_bank.sqlite
      query: "SELECT account, name FROM accounts WHERE account = :key AND pin = :pin"
nodes:
  sign_in:
    type: authenticate
    source: sign_in
    account_prompt: "Enter your eight digit account number, then press hash."
    pin_prompt: "Enter your four digit PIN, then press hash."
    invalid_prompt: "That account number and PIN do not match."
    account_digits: {min: 8, max: 8}
    pin_digits: {min: 4, max: 4}
    lockout: {after: 5, within: 15m}
    save_as: customer
    next: welcome
    on_fail: operator
    locked: operator
    on_error: operator
  welcome:
    type: hangup
    prompt: "Hello {{ customer.name }}."
  operator:
    type: queue
    queue: retail
"""

    def diagram_lines(self) -> list[str]:
        return [f"source {self.opts['source']}"]

    def check(self, project) -> dict:
        opts = dict(self.opts)
        for name, low, high in (("account_digits", 1, 32), ("pin_digits", 4, 8)):
            digits = opts[name] = opts[name] or {"min": low, "max": high}
            if digits["min"] > digits["max"]:
                project.error(
                    f"{name} min {digits['min']} is more than max {digits['max']}",
                    self.marks[name],
                )
        opts["lockout"] = opts["lockout"] or {"after": 5, "within": 900.0}
        self._check_source(project)
        return opts

    def _check_source(self, project) -> None:
        source = source_of(self, project)
        if source is None:
            return
        name = self.opts["source"]
        if "key" not in source.reads:
            project.error(
                f"source '{name}' does not look accounts up by {{{{ key }}}} (or :key), so it "
                "cannot find the account entered",
                self.marks["source"],
            )
        if ("pin" in source.reads) == (self.opts["pin_field"] is not None):
            project.error(
                f"say who checks the PIN: either source '{name}' reads pin (e.g. WHERE pin = "
                ":pin), or this node names the record's pin_field (not both)",
                self.marks.get("pin_field", self.marks["source"]),
            )
        if source.timing.cache_ttl:
            project.warning(
                f"source '{name}' has a cache, which sign-ins never use (answers about PINs are "
                "not kept)",
                self.marks["source"],
            )

    def _entry(self, call, prompt, digits: dict, *, sensitive: bool) -> str:
        got = call.collect(
            prompt,
            max_digits=digits["max"],
            timeout=self.opts["timeout"],
            digit_timeout=self.opts["digit_timeout"],
            terminators=self.opts["terminator"],
            sensitive=sensitive,
        )
        entry = got.digits
        return entry if digits["min"] <= len(entry) <= digits["max"] else ""

    def _locked(self, call, ledger: FailureLedger, who: list[tuple[str, str]]) -> bool:
        lockout, now = self.opts["lockout"], call.now()
        return any(ledger.count(w, now, lockout["within"]) >= lockout["after"] for w in who)

    def _lock_out(self, call, reason: str) -> str:
        call.log.warning("sign-in locked out: %s", reason)
        call.record.lookups.append((self.name, self.opts["source"], "locked"))
        call.say(self.opts["locked_prompt"])
        return "locked"

    def _matches(self, call, account: str, pin: str):
        """The account's record when the pair is right, else None."""
        name = self.opts["source"]
        source = call.project.flows[self.flow_id].data[name]
        values = {**call.context(), "key": account, "pin": pin}
        try:
            record = ask(call, source, values, cached=False)
        except DataSourceError as exc:
            call.record.lookups.append((self.name, name, failure(exc)))
            raise NodeError(f"sign-in with {name} failed: {exc}") from exc
        field = self.opts["pin_field"]
        if record is not None and field is not None:
            stored = record.pop(field, None)
            if stored is None or not hmac.compare_digest(str(stored).encode(), pin.encode()):
                record = None
        call.record.lookups.append(
            (self.name, name, "accepted" if record is not None else "refused")
        )
        return record

    def run(self, call) -> str:
        ledger = call.services.node_state.setdefault(self.type_name, FailureLedger())
        caller = [("caller", call.info.caller)] if call.info.caller else []
        if self._locked(call, ledger, caller):
            return self._lock_out(call, "too many failures from this caller")
        for attempt in range(1, self.opts["attempts"] + 1):
            account = self._entry(
                call, self.opts["account_prompt"], self.opts["account_digits"], sensitive=False
            )
            if not account:
                call.log.info("no valid account number (attempt %d)", attempt)
                call.say(self.opts["invalid_prompt"])
                continue
            call.note_input("account", account, sensitive=False)
            who = [*caller, ("account", account)]
            if self._locked(call, ledger, who):
                return self._lock_out(call, "too many failures for this account")
            pin = self._entry(
                call, self.opts["pin_prompt"], self.opts["pin_digits"], sensitive=True
            )
            if not pin:
                call.log.info("no valid PIN (attempt %d)", attempt)
                call.say(self.opts["invalid_prompt"])
                continue
            call.note_input("pin", pin, sensitive=True)
            record = self._matches(call, account, pin)
            if record is not None:
                for w in who:
                    ledger.clear(w)
                call.set_var(self.opts["save_as"], record)
                return "next"
            call.log.info("sign-in refused (attempt %d)", attempt)
            for w in who:
                ledger.fail(w, call.now())
            if self._locked(call, ledger, who):
                return self._lock_out(call, "too many failures")
            call.say(self.opts["invalid_prompt"])
        return "fail"


NODE = Authenticate
