"""Tables, databases and what every source shares: timeouts, retries, the cache, data.yaml.

SQLite tests run on a real database file each test builds.
"""

import sqlite3
import time
from pathlib import Path

import gevent
import pytest
from flowkit import build, call, press, said
from gevent.threadpool import ThreadPool

from ivr.data import DataSource, DataSourceError, Timing, sql
from ivr.project import load_project

BANK_SQL = """
CREATE TABLE accounts (account TEXT PRIMARY KEY, name TEXT, balance NUMERIC, pin TEXT);
INSERT INTO accounts VALUES ('0042', 'Bob', 7, '1111');
INSERT INTO accounts VALUES ('1234', 'Ann', 10.5, '2222');
"""


def bank(folder: Path) -> Path:
    """A real SQLite file with two accounts."""
    path = folder / "bank.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(BANK_SQL)
    conn.commit()
    conn.close()
    return path


def compiled(tmp_path: Path, declaration: str, variables: str = "{}"):
    """Compile a flow declaring source ``s``; returns the project."""
    (tmp_path / "flow.yaml").write_text(
        f"flow: t\nstart: bye\nvars: {variables}\ndata:\n  s: {declaration}\n"
        "nodes:\n  bye: {type: hangup}\n"
    )
    return load_project(tmp_path)


def source(tmp_path: Path, declaration: str, variables: str = "{}"):
    project = compiled(tmp_path, declaration, variables)
    assert project.ok, [d.message for d in project.diag.errors]
    return project.flows["t"].data["s"]


def errors(tmp_path: Path, declaration: str) -> list[str]:
    """The compile errors of a source, as ``LINE:COL: message``."""
    project = compiled(tmp_path, declaration)
    return [f"{d.mark.line}:{d.mark.col}: {d.message}" for d in project.diag.errors]


# ----------------------------------------------------------------- yaml tables


def test_a_yaml_list_of_records_is_looked_up_by_its_key_field(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shops.yaml").write_text(
        "- {id: 7, city: Sofia, opens: '09:00'}\n- {id: 0042, city: Varna, opens: '10:00'}\n"
    )
    shops = source(tmp_path, "{yaml: data/shops.yaml, key: id}")
    assert shops.ask({"key": "7"}) == {"id": 7, "city": "Sofia", "opens": "09:00"}
    assert shops.ask({"key": "0042"})["city"] == "Varna"
    assert shops.ask({"key": "8"}) is None


def test_a_yaml_mapping_is_looked_up_by_its_keys_and_reloaded_when_it_changes(tmp_path):
    path = tmp_path / "hours.yaml"
    path.write_text("main: {opens: 9, closes: 18}\n")
    (tmp_path / "sub").mkdir()
    hours = source(tmp_path / "sub", "{yaml: ../hours.yaml}")
    assert hours.ask({"key": "main"}) == {"opens": 9, "closes": 18}
    path.write_text("main: {opens: 8, closes: 20}\nairport: {opens: 0, closes: 24}\n")
    assert hours.ask({"key": "main"}) == {"opens": 8, "closes": 20}
    assert hours.ask({"key": "airport"})["closes"] == 24


def test_a_yaml_table_broken_after_compiling_is_a_source_failure(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "t.yml"
    path.write_text("a: {x: 1}\n")
    table = source(tmp_path, "{yaml: data/t.yml}")
    path.write_text("a: [1, 2\n")
    with pytest.raises(DataSourceError, match=r"t\.yml:1:4: YAML syntax error"):
        table.ask({"key": "a"})


def test_yaml_table_mistakes_are_reported_with_positions(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.yml").write_text("- {id: 1}\n- {name: no id}\n- plain\n")
    assert errors(tmp_path, "{yaml: data/rows.yml, key: id}") == [
        "2:3: expected a record (a mapping) with the field 'id'",
        "3:3: expected a record (a mapping) with the field 'id'",
    ]
    assert errors(tmp_path, "{yaml: data/rows.yml}")[0].startswith(
        "1:1: a yaml source whose file is a list of records needs 'key:'"
    )


# ----------------------------------------------------------------- sqlite


def test_sqlite_answers_the_first_row_with_values_bound_to_named_parameters(tmp_path):
    bank(tmp_path)
    accounts = source(
        tmp_path,
        "{sqlite: {file: bank.sqlite, query: 'SELECT name, balance FROM accounts "
        "WHERE account = :key'}}",
    )
    assert accounts.ask({"key": "1234"}) == {"name": "Ann", "balance": 10.5}
    assert accounts.ask({"key": "0042"}) == {"name": "Bob", "balance": 7}
    assert accounts.ask({"key": "9999"}) is None
    assert accounts.reads == {"key"}


def test_sqlite_parameters_may_name_call_variables(tmp_path):
    bank(tmp_path)
    accounts = source(
        tmp_path,
        "{sqlite: {file: bank.sqlite, query: 'SELECT name FROM accounts WHERE account = "
        ":account AND name <> :caller'}}",
        variables="{account: ''}",
    )
    assert accounts.ask({"account": "1234", "caller": "+1555"}) == {"name": "Ann"}
    assert accounts.reads == {"account", "caller"}


def test_a_lookup_node_answers_from_a_sqlite_file(tmp_path):
    bank(tmp_path)
    flow = """
    flow: t
    start: ask
    data:
      accounts:
        sqlite: {file: bank.sqlite, query: "SELECT * FROM accounts WHERE account = :key"}
    nodes:
      ask: {type: input, prompt: "Account?", digits: {min: 4, max: 4}, save_as: account,
            next: find, on_fail: bye}
      find: {type: lookup, source: accounts, key: "{{ account }}", save_as: acct,
             found: tell, not_found: unknown, on_error: bye}
      tell: {type: hangup, prompt: ["{{ acct.name }} has", {say: money, value: "{{ acct.balance }}",
             currency: USD}]}
      unknown: {type: hangup, prompt: "No account {{ account }}."}
      bye: {type: hangup}
    """
    project = build(tmp_path, flow)
    assert said(call(project, press("0042")))[1:] == ["Bob has", "seven dollars"]
    result = call(project, press("5555"))
    assert said(result)[-1] == "No account 5555."
    assert result.record.lookups == [("find", "accounts", "not_found")]


def test_a_read_only_sqlite_source_cannot_change_the_database(tmp_path):
    path = bank(tmp_path)
    sneaky = source(
        tmp_path,
        '{sqlite: {file: bank.sqlite, query: "WITH x AS (SELECT 1) SELECT * FROM accounts '
        'WHERE account = :key"}}',
    )
    assert sneaky.ask({"key": "1234"})["name"] == "Ann"
    conn = sneaky.connect()
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        conn.execute("DELETE FROM accounts")
    conn.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM accounts").fetchone() == (2,)


def test_a_writing_query_needs_read_only_false_and_then_commits(tmp_path):
    path = bank(tmp_path)
    write = "UPDATE accounts SET name = 'Anna' WHERE account = :key RETURNING name"
    assert errors(tmp_path, f'{{sqlite: {{file: bank.sqlite, query: "{write}"}}}}') == [
        "5:42: a read-only source runs a SELECT; add 'read_only: false' beside the query to "
        "let it change the database"
    ]
    renamer = source(
        tmp_path, f'{{sqlite: {{file: bank.sqlite, query: "{write}", read_only: false}}}}'
    )
    assert renamer.ask({"key": "1234"}) == {"name": "Anna"}
    assert not renamer.repeatable
    assert sqlite3.connect(path).execute(
        "SELECT name FROM accounts WHERE account = '1234'"
    ).fetchone() == ("Anna",)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "SELECT * FROM accounts WHERE account = ?",
            "write parameters by name, like WHERE account = :key",
        ),
        (
            "SELECT * FROM accounts WHERE account = :key; DROP TABLE accounts",
            "a query is one SQL statement",
        ),
        ("SELECT nme FROM accounts WHERE account = :key", "no such column: nme"),
        ("SELECT * FROM acounts WHERE account = :key", "no such table: acounts"),
        ("SELECT * FROM accounts WHERE account = :acount", "unknown variable 'acount'"),
    ],
)
def test_sqlite_query_mistakes_are_found_before_any_call(tmp_path, query, message):
    bank(tmp_path)
    found = errors(tmp_path, f'{{sqlite: {{file: bank.sqlite, query: "{query}"}}}}')
    assert len(found) == 1 and message in found[0], found
    assert found[0].startswith("5:42: ")


def test_a_missing_sqlite_file_is_reported_where_it_is_named(tmp_path):
    assert errors(tmp_path, "{sqlite: {file: nope.sqlite, query: 'SELECT 1 WHERE :key'}}") == [
        f"5:22: cannot open {tmp_path / 'nope.sqlite'}: no such file"
    ]


def test_a_sqlite_query_past_its_timeout_is_interrupted(tmp_path, monkeypatch):
    bank(tmp_path)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
        "SELECT max(i) AS i FROM n WHERE :key = :key"
    )
    slow = source(
        tmp_path, f'{{sqlite: {{file: bank.sqlite, query: "{endless}"}}, timeout: 200ms}}'
    )
    workers = ThreadPool(1)
    queries = []

    def in_thread(function, *args):
        queries.append(workers.spawn(function, *args))
        return queries[-1].get()

    monkeypatch.setattr(sql, "in_thread", in_thread)
    with pytest.raises(DataSourceError, match="within 0.2s") as caught:
        slow.ask({"key": "x"})
    assert caught.value.timed_out
    # The query itself stopped in its thread, not only the call's wait for it.
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        queries[0].get(timeout=60)


def test_other_calls_go_on_while_a_database_query_runs(tmp_path):
    bank(tmp_path)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
        "SELECT max(i) AS i FROM n WHERE :key = :key"
    )
    slow = source(tmp_path, f'{{sqlite: {{file: bank.sqlite, query: "{endless}"}}, timeout: 1s}}')
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.05)) for _ in range(10)])
    with pytest.raises(DataSourceError):
        slow.ask({"key": "x"})
    ticker.join()
    assert len(ticks) == 10


# ----------------------------------------------------------------- SQLAlchemy URLs


def test_a_sqlalchemy_url_source_answers_with_bound_parameters(tmp_path):
    bank(tmp_path)
    accounts = source(
        tmp_path,
        "{sql: {url: 'sqlite:///bank.sqlite', query: 'SELECT name FROM accounts "
        "WHERE account = :key'}}",
    )
    assert accounts.ask({"key": "1234"}) == {"name": "Ann"}
    assert accounts.ask({"key": "' OR '1'='1"}) is None
    assert accounts.describe().endswith("bank.sqlite")


def test_a_sqlalchemy_source_is_read_only_by_default(tmp_path):
    path = bank(tmp_path)
    accounts = source(
        tmp_path,
        "{sql: {url: 'sqlite:///bank.sqlite', query: 'SELECT name FROM accounts "
        "WHERE account = :key'}}",
    )
    accounts.ask({"key": "1234"})
    with (
        accounts._engine_now().connect() as conn,
        pytest.raises(Exception, match="readonly|query_only"),
    ):
        conn.exec_driver_sql("DELETE FROM accounts")
    assert sqlite3.connect(path).execute("SELECT count(*) FROM accounts").fetchone() == (2,)


def test_database_passwords_come_from_the_environment_not_the_flow(tmp_path):
    url = "postgresql://ivr:secret@db.example/bank"
    found = errors(tmp_path, f"{{sql: {{url: '{url}', query: 'SELECT 1 WHERE :key'}}}}")
    assert found[0] == (
        "5:18: a password does not belong in the flow: remove it from the URL and name the "
        "environment variable that holds it with password_env:"
    )


def test_a_database_url_without_its_driver_is_reported(tmp_path):
    found = errors(tmp_path, "{sql: {url: 'nosuchdb://x/y', query: 'SELECT 1 WHERE :key'}}")
    assert found == [
        "5:18: no driver for nosuchdb is installed (Can't load plugin: "
        "sqlalchemy.dialects:nosuchdb); install it in the venv"
    ]


# ----------------------------------------------------------------- timeouts, retries, cache


class Flaky(DataSource):
    """A source that fails the first ``failures`` times, then answers with a counter."""

    kind = "flaky"

    def __init__(self, failures: int, timing: Timing, retryable: bool = True) -> None:
        super().__init__(timing, frozenset({"key"}))
        self.failures = failures
        self.retryable = retryable
        self.asked = 0

    def lookup(self, values):
        self.asked += 1
        if self.asked <= self.failures:
            raise DataSourceError("busy", retryable=self.retryable)
        return {"n": self.asked}


def test_retries_try_again_after_failures_that_may_pass():
    flaky = Flaky(2, Timing(retries=2))
    assert flaky.ask({"key": "1"}) == {"n": 3}


def test_retries_give_up_after_the_last_attempt_and_on_lasting_failures():
    with pytest.raises(DataSourceError, match="busy"):
        Flaky(3, Timing(retries=2)).ask({"key": "1"})
    lasting = Flaky(1, Timing(retries=3), retryable=False)
    with pytest.raises(DataSourceError):
        lasting.ask({"key": "1"})
    assert lasting.asked == 1


def test_each_attempt_has_the_timeout_and_a_timeout_may_be_retried():
    class Stuck(Flaky):
        def lookup(self, values):
            self.asked += 1
            if self.asked == 1:
                gevent.sleep(10)
            return {"n": self.asked}

    stuck = Stuck(0, Timing(timeout=0.1, retries=1))
    assert stuck.ask({"key": "1"}) == {"n": 2}


def test_the_cache_keeps_answers_per_question_until_they_expire(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    counted = Flaky(0, Timing(cache_ttl=30, cache_size=2))
    assert counted.ask({"key": "a"}) == {"n": 1}
    assert counted.ask({"key": "a"}) == {"n": 1}
    assert counted.ask({"key": "b"}) == {"n": 2}
    clock[0] += 31
    assert counted.ask({"key": "a"}) == {"n": 3}


def test_the_cache_forgets_the_oldest_answers_beyond_its_size():
    counted = Flaky(0, Timing(cache_ttl=30, cache_size=2))
    for key in ("a", "b", "c"):
        counted.ask({"key": key})
    assert counted.ask({"key": "c"}) == {"n": 3}
    assert counted.ask({"key": "a"}) == {"n": 4}


def test_a_cached_answer_cannot_be_changed_by_the_call_that_got_it():
    counted = Flaky(0, Timing(cache_ttl=30))
    counted.ask({"key": "a"})["n"] = 99
    assert counted.ask({"key": "a"}) == {"n": 1}


# ----------------------------------------------------------------- declarations


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("{csv: x.csv, key: id, timeout: 5 parsecs}", "5:37: bad duration '5 parsecs'"),
        ("{csv: x.csv, key: id, retries: 9}", "5:37: 9 is too large: the most allowed is 5"),
        (
            "{csv: x.csv, key: id, cache: {tll: 30s}}",
            "5:36: unknown key 'tll'; did you mean 'ttl'?",
        ),
        ("{csv: x.csv, key: id, filler_after: soon}", "5:42: bad duration 'soon'"),
        ("{csv: x.csv, key: id, filler: {say: money}}", "'say:' needs a 'value:'"),
        (
            "{csv: x.csv, key: id, timout: 2s}",
            "5:28: unknown key 'timout'; did you mean 'timeout'?",
        ),
        ("{sqlte: {file: x}}", "5:6: a data source names exactly one kind; did you mean 'sqlite'?"),
        ("{csv: x.csv, yaml: y.yaml}", "5:6: a data source names exactly one kind"),
        ("{sqlite: bank.sqlite}", "5:15: expected a mapping like {file: data/bank.sqlite"),
    ],
)
def test_every_source_option_is_checked_with_its_position(tmp_path, declaration, message):
    (tmp_path / "x.csv").write_text("id,v\n1,a\n")
    found = errors(tmp_path, declaration)
    assert any(message in e for e in found), found


def test_sources_shared_in_data_yaml_serve_every_flow_of_the_folder(tmp_path):
    (tmp_path / "hours.csv").write_text("shop,opens\nmain,9\n")
    (tmp_path / "data.yaml").write_text("data:\n  hours: {csv: hours.csv, key: shop}\n")
    flow = """
    flow: t
    start: find
    nodes:
      find: {type: lookup, source: hours, key: main, save_as: h, found: tell,
             not_found: bye, on_error: bye}
      tell: {type: hangup, prompt: "We open at {{ h.opens }}."}
      bye: {type: hangup}
    """
    project = build(tmp_path, flow)
    assert said(call(project)) == ["We open at 9."]


def test_a_shared_source_may_not_read_variables_only_some_flows_have(tmp_path):
    (tmp_path / "data.yaml").write_text(
        "data:\n  api: {http: 'https://api.example/o/{{ order_id }}?c={{ caller }}'}\n"
    )
    (tmp_path / "flow.yaml").write_text("flow: t\nstart: bye\nnodes:\n  bye: {type: hangup}\n")
    project = load_project(tmp_path)
    assert [(d.mark.line, d.message) for d in project.diag.errors] == [
        (
            2,
            "a source in data.yaml reads 'order_id', which only some flows may have; it may read "
            "key, pin and the built-ins (call_id, caller, caller_name, dialed, language, now, "
            "tenant, tenant_name)",
        )
    ]
