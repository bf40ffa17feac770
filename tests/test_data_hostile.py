"""Lookups under attack or failing: the caller always hears an answer, the data stays as it was.

Each case is a call through a ``lookup`` node with ``found``, ``not_found`` and ``on_error``
edges, against a real SQLite file or a real HTTP server on 127.0.0.1: caller-controlled text
(the caller-ID name) written as SQL, a query or an answer slower than the source's timeout, an
answer too big to hold, a redirect, a value the driver cannot bind, and a source whose code
raises. Injection finds nothing (values are bound as parameters, never written into the SQL),
and every failure takes the error edge: the caller hears the apology, the journal says why.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flowkit import build, said
from test_http_sources import BackEnd, Reply

from ivr.data import sql
from ivr.data.http import MAX_ANSWER_BYTES
from ivr.testing.runner import run_case
from ivr.testing.scenario import Case, Scenario

BANK_SQL = """
CREATE TABLE accounts (account TEXT PRIMARY KEY, name TEXT);
CREATE TABLE secrets (pin TEXT);
INSERT INTO accounts VALUES ('0042', 'Bob');
INSERT INTO secrets VALUES ('9999');
"""
ENDLESS = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
    "SELECT max(i) AS name FROM n WHERE :key = :key"
)
FLOW = """
flow: t
start: find
vars: {{big: 123456789012345678901234567890}}
data:
  accounts: {source}
nodes:
  find: {{type: lookup, source: accounts, key: "{{{{ caller_name }}}}", save_as: acct,
         found: tell, not_found: unknown, on_error: sorry}}
  tell: {{type: hangup, prompt: "Hello {{{{ acct.name }}}}."}}
  unknown: {{type: hangup, prompt: "No such account."}}
  sorry: {{type: hangup, prompt: "Sorry, we cannot look that up now."}}
"""
SORRY = "Sorry, we cannot look that up now."


def bank(folder: Path) -> Path:
    path = folder / "bank.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(BANK_SQL)
    conn.close()
    return path


def sqlite_flow(tmp_path: Path, query: str, timeout: str = "2s"):
    bank(tmp_path)
    declaration = f'{{sqlite: {{file: bank.sqlite, query: "{query}"}}, timeout: {timeout}}}'
    return build(tmp_path, FLOW.format(source=declaration))


def calling(project, caller_name: str):
    """A call whose caller-ID name (text the caller's network sends) is the lookup key."""
    scenario = Scenario(project.folder / "t.test.yaml", "t", [])
    return run_case(project, scenario, Case(name="case", steps=[], caller_name=caller_name))


INJECTIONS = [
    "0042' OR '1'='1",
    "x'; DROP TABLE accounts; --",
    "' UNION SELECT pin FROM secrets --",
    "0042\x00",
    "%",
    "0042 --",
    "'" * 10_000,
    "\\'; SELECT 1; --",
]


@pytest.mark.parametrize("key", INJECTIONS, ids=range(len(INJECTIONS)))
def test_sql_written_into_a_lookup_key_is_only_a_key_that_matches_nothing(tmp_path, key):
    project = sqlite_flow(tmp_path, "SELECT name FROM accounts WHERE account = :key")
    result = calling(project, key)
    assert said(result) == ["No such account."]
    assert result.record.lookups == [("find", "accounts", "not_found")]
    with sqlite3.connect(tmp_path / "bank.sqlite") as conn:
        assert conn.execute("SELECT account, name FROM accounts").fetchall() == [("0042", "Bob")]
    conn.close()


def test_the_real_key_still_finds_its_record(tmp_path):
    project = sqlite_flow(tmp_path, "SELECT name FROM accounts WHERE account = :key")
    assert said(calling(project, "0042")) == ["Hello Bob."]


def test_a_query_slower_than_its_timeout_takes_the_error_edge(tmp_path):
    project = sqlite_flow(tmp_path, ENDLESS, timeout="200ms")
    result = calling(project, "0042")
    assert said(result) == [SORRY]
    assert result.record.lookups == [("find", "accounts", "timeout")]


def test_a_value_too_big_for_the_database_takes_the_error_edge_with_the_reason(tmp_path):
    # A 30-digit number: SQLite binds integers of 64 bits at most.
    project = sqlite_flow(tmp_path, "SELECT name FROM accounts WHERE account = :big AND :key")
    result = calling(project, "0042")
    assert said(result) == [SORRY]
    assert result.record.lookups == [("find", "accounts", "error")]
    assert "OverflowError" in result.record.visits[0].detail


def test_a_source_whose_code_raises_takes_the_error_edge_and_the_call_goes_on(
    tmp_path, monkeypatch, caplog
):
    def broken(self, params, deadline):
        raise RuntimeError("driver bug")

    monkeypatch.setattr(sql.SqliteSource, "_run", broken)
    project = sqlite_flow(tmp_path, "SELECT name FROM accounts WHERE account = :key")
    result = calling(project, "0042")
    assert said(result) == [SORRY]
    assert result.record.outcome != "error"
    assert "RuntimeError: driver bug" in result.record.visits[0].detail
    # A bug, not a passing failure: its traceback is logged for whoever fixes it.
    assert any(r.exc_info for r in caplog.records if "failed unexpectedly" in r.getMessage())


@pytest.fixture
def backend():
    server = BackEnd()
    yield server
    server.close()


def http_flow(tmp_path: Path, backend: BackEnd, path: str, timeout: str = "2s"):
    declaration = f'{{http: "{backend.url}{path}", timeout: {timeout}}}'
    return build(tmp_path, FLOW.format(source=declaration))


@pytest.mark.parametrize(
    ("reply", "journaled", "why"),
    [
        (Reply(json={"name": "Bob"}, delay=2), "timeout", "within 0.3s"),
        (Reply(body=b"[" * (MAX_ANSWER_BYTES + 1)), "error", f"over {MAX_ANSWER_BYTES} bytes"),
        (Reply(body=b'{"name": "' + b"x" * (8 << 20) + b'"}'), "error", "over"),
        (Reply(body=b"\xff\xfe{not json"), "error", "malformed JSON"),
    ],
    ids=["slow", "just-over-the-cap", "8-MiB", "garbage"],
)
def test_a_slow_huge_or_broken_http_answer_takes_the_error_edge(
    tmp_path, backend, reply, journaled, why
):
    backend.answer("/accounts", reply)
    result = calling(http_flow(tmp_path, backend, "/accounts", timeout="300ms"), "0042")
    assert said(result) == [SORRY]
    assert result.record.lookups == [("find", "accounts", journaled)]
    assert why in result.record.visits[0].detail


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_refused_not_followed_even_to_loopback(tmp_path, backend, status):
    backend.answer("/accounts", Reply(status, {}, headers=[("Location", "/elsewhere")]))
    backend.answer("/elsewhere", Reply(json={"name": "Mallory"}))
    result = calling(http_flow(tmp_path, backend, "/accounts"), "0042")
    assert said(result) == [SORRY]
    assert f"answered {status}" in result.record.visits[0].detail
    assert [r.path for r in backend.requests] == ["/accounts"]
