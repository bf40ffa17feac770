"""Whether ``ivr report`` reads a journal of a million calls in under 10 seconds.

Makes (once, then reuses) a journal like a busy contact center's month: ``--calls`` calls
(1,000,000 by default) over 30 days in office hours, 5 tenants each with its own flow and two
queues, 200 agents; about 35 % self-served, 10 % hang-ups in the menus, 45 % queued (most
answered, some abandoned, short abandons among them), and a few voicemails, callbacks,
transfers and errors. Node paths are 3 to 8 visits, waits are log-normal, talk is 2 to 6
minutes, inputs are masked where the flow says so, some answered calls are recorded. The agents'
state log holds each agent's day: a shift of about 8 hours with a lunch break (and sometimes a
coaching one), a cycle of ready, ringing (one ring in ten missed), talking and wrap-up, and
logged out overnight: some 2.6 million segments for 200 agents over 30 days, each wrap-up after
one of that agent's answered calls. The file is written straight through ``SqliteJournal``'s
schema with ``executemany`` in big transactions.

Then it times the report: in-process (``run_report``, the code path of ``ivr report``) for
``--format table`` once to read the file into the OS cache, then ``table``, ``csv`` and
``html``, and once ``ivr report`` as its own process for the table. Prints calls, seconds per
format, calls per second and the peak resident memory, and PASS or FAIL against the target
(the table over 1M calls in under 10 s).

Run from the checkout: ``PYTHONPATH=. .venv/bin/python benchmarks/report_million.py
[--journal PATH] [--calls N] [--regenerate]``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ivr
from ivr.report import run_report
from ivr.store import SqliteJournal

TARGET_SECONDS = 10.0
"""The table report over 1M calls must take less than this."""
DAYS = 30
FIRST_DAY = dt.datetime(2026, 11, 1)
"""Calls start from this day on (UTC, naive: the generator writes UTC text itself)."""
EPOCH = FIRST_DAY.replace(tzinfo=dt.UTC).timestamp()
"""``FIRST_DAY`` in seconds since the epoch, as the agent state log also keeps its times."""
TENANTS = ["acme", "globex", "initech", "umbrella", "hooli"]
QUEUES = {tenant: [f"{tenant}_sales", f"{tenant}_support"] for tenant in TENANTS}
TARGETS = {"sales": 20.0, "support": 30.0}
"""Each queue's answer-time target; ``support`` queues had 60 s before the middle of the month
(a target changed in queues.yaml: calls keep the one of their time)."""
AGENTS = [f"agent{n:03d}" for n in range(200)]
HOUR_WEIGHTS = [0] * 7 + [3, 8, 10, 10, 9, 7, 8, 9, 9, 8, 6, 4, 3, 2] + [0] * 3
"""Calls started per UTC hour of day, relative."""
OUTCOME_WEIGHTS = {
    "self_served": 35,
    "ivr_hangup": 10,
    "queued": 45,
    "voicemail": 3,
    "callback": 2,
    "transferred": 3,
    "error": 1,
    "completed": 1,
}
BATCH = 50_000
"""Calls written per transaction."""
ANSWERED_A_MONTH = 420_000
"""About how many of the million calls agents answer: what 200 agents' days hold."""
SHIFT_HOURS = 8.0
"""An agent's day: logged in this long from a start between 07:00 and 08:00 UTC."""


def _when(base: dt.datetime, seconds: float) -> str:
    """UTC text as the journal stores it (see ``ivr.store.sqlite``)."""
    return (base + dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds") + "Z"


class Generator:
    """Makes the rows of one call at a time, for the journal's tables."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.outcomes = list(OUTCOME_WEIGHTS)
        self.weights = list(OUTCOME_WEIGHTS.values())

    def starts(self, calls: int) -> list[dt.datetime]:
        """Start times over ``DAYS`` days in office hours, oldest first."""
        rng = self.rng
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=calls)
        days = [rng.randrange(DAYS) for _ in range(calls)]
        offsets = sorted(
            day * 86400 + hour * 3600 + rng.random() * 3600
            for day, hour in zip(days, hours, strict=True)
        )
        return [FIRST_DAY + dt.timedelta(seconds=s) for s in offsets]

    def call(self, number: int, start: dt.datetime) -> dict:
        """Every row of one call, per table of the journal it goes into."""
        rng = self.rng
        tenant = TENANTS[min(int(rng.paretovariate(1.2)) - 1, len(TENANTS) - 1)]
        flow = f"{tenant}_main"
        kind = rng.choices(self.outcomes, self.weights)[0]
        t = 0.0
        visits: list[tuple] = []

        def visit(node: str, type_: str, result: str | None, spent: float) -> None:
            nonlocal t
            visits.append((number, len(visits), flow, node, type_, _when(start, t), result))
            t += spent

        goals, inputs, lookups, recordings, callbacks = [], [], [], [], []
        queue = agent = queued_at = agent_at = wait = target = None
        talk = 0.0
        outcome, error, transferred, voicemail, callback = kind, None, None, None, None
        hung_up = kind == "ivr_hangup"
        visit("welcome", "play", "next", rng.uniform(3, 6))
        visit("open_check", "hours", "open", 0.1)
        if kind in ("self_served", "error", "completed"):
            visit("main_menu", "menu", "1", rng.uniform(2, 8))
            masked = rng.random() < 0.7
            visit("ask_account", "input", "next", rng.uniform(5, 15))
            inputs.append((number, 0, "ask_account", "account", "****" if masked else "4711"))
            if kind == "error":
                visit("find_account", "lookup", None, 2.0)
                error = "lookup accounts: connection refused"
            else:
                visit("find_account", "lookup", "found", 0.5)
                lookups.append((number, 0, "find_account", "accounts", "found"))
                visit("tell_balance", "play", "next", rng.uniform(8, 20))
                if rng.random() < 0.3:
                    visit("main_menu", "menu", "9", rng.uniform(2, 5))
                    visit("goodbye", "play", None, 2.0)
                else:
                    visit("goodbye", "play", None, 2.0)
                goals.append((number, 0, "balance_told"))
                if kind == "completed":
                    goals.clear()
        elif kind == "ivr_hangup":
            where = rng.random()
            if where < 0.5:
                visit("main_menu", "menu", None, rng.uniform(1, 10))
            elif where < 0.8:
                visit("main_menu", "menu", "1", rng.uniform(2, 8))
                visit("ask_account", "input", None, rng.uniform(2, 10))
            else:
                visit("main_menu", "menu", "timeout", 8.0)
                visit("main_menu", "menu", None, rng.uniform(1, 8))
        elif kind == "transferred":
            visit("main_menu", "menu", "3", rng.uniform(2, 8))
            visit("to_billing", "transfer", None, 1.0)
            transferred = "sofia/gateway/billing/3000"
        else:
            queue = rng.choice(QUEUES[tenant])
            service = queue.rsplit("_", 1)[1]
            target = TARGETS[service]
            if service == "support" and start < FIRST_DAY + dt.timedelta(days=DAYS // 2):
                target = 60.0
            key = "0" if rng.random() < 0.3 else ("2" if service == "sales" else "4")
            visit("main_menu", "menu", key, rng.uniform(2, 8))
            if rng.random() < 0.4:
                visit("ask_account", "input", "next", rng.uniform(5, 15))
                inputs.append((number, 0, "ask_account", "account", "****"))
            queued_at = t
            wait = round(rng.lognormvariate(math.log(25), 1.0), 3)
            if kind == "queued":
                if rng.random() < 0.85:
                    outcome = "answered"
                    agent = rng.choice(AGENTS)
                    talk = round(rng.uniform(120, 360), 3)
                    agent_at = queued_at + wait
                    visit(queue, "queue", None, wait + talk)
                    if rng.random() < 0.3:
                        recordings.append(
                            (
                                number,
                                0,
                                f"/var/lib/ivr/recordings/{number}.wav",
                                "queue",
                                "recorded",
                                _when(start, agent_at),
                                1,
                                "[]",
                                talk,
                                2,
                                f"{number:064x}",
                                _when(start, agent_at + 90 * 86400),
                                "",
                            )
                        )
                else:
                    outcome = "abandoned"
                    hung_up = True
                    if rng.random() < 0.3:
                        wait = round(rng.uniform(0.5, 5), 3)
                    visit(queue, "queue", None, wait)
            elif kind == "voicemail":
                visit(queue, "queue", "voicemail", wait)
                visit("leave_message", "voicemail", None, rng.uniform(20, 60))
                voicemail = f"/var/lib/ivr/voicemail/{number}.wav"
            else:
                visit(queue, "queue", "callback", wait)
                visit("callback_offer", "callback", None, 5.0)
                callback = f"+1555{number:07d}"
                attempts = rng.choice([0, 1, 1, 2, 3])
                status = "scheduled" if not attempts else rng.choice(["answered", "failed"])
                callbacks.append(
                    (
                        f"call-{number}",
                        callback,
                        status,
                        rng.choice(AGENTS) if status == "answered" else None,
                        attempts,
                        _when(start, t + 600) if attempts else None,
                        _when(start, t + 900) if attempts else None,
                    )
                )
        ended = t + 1.0
        row = (
            number,
            f"call-{number}",
            flow,
            tenant,
            f"+1555{rng.randrange(10**7):07d}",
            f"800{TENANTS.index(tenant)}",
            outcome,
            _when(start, 0),
            _when(start, 0.5),
            None if queued_at is None else _when(start, queued_at),
            None if agent_at is None else _when(start, agent_at),
            _when(start, ended),
            queue,
            target,
            wait,
            agent,
            talk,
            transferred,
            voicemail,
            callback,
            int(hung_up),
            0,
            error,
        )
        return {
            "calls": [row],
            "visits": visits,
            "goals": goals,
            "inputs": inputs,
            "lookups": lookups,
            "recordings": recordings,
            "callbacks": callbacks,
        }


def agent_days(
    rng: random.Random, answered: dict[str, list[int]]
) -> tuple[list[tuple], list[tuple[float, int]]]:
    """Every agent's state log segments over the month, as ``agent_states`` rows.

    Returns the rows, and each wrap-up's seconds with its call's row id (for
    ``calls.wrap_up_seconds``).

    Args:
        rng: the generator's randomness.
        answered: per agent, the numbers of the calls they answered, oldest first (each
            wrap-up names the next one: the join AHT's wrap-up part reads).
    """
    rows: list[tuple] = []
    wrap_ups: list[tuple[float, int]] = []

    def segment(agent: str, state: str, begun: float, ended: float, after: str, **more) -> None:
        rows.append(
            (
                f"{agent}-{len(rows)}",
                agent,
                agent.title(),
                state,
                more.get("reason", ""),
                more.get("call_id", ""),
                more.get("queue", ""),
                _when(FIRST_DAY, begun),
                _when(FIRST_DAY, ended),
                after,
                "bench",
                1,
                EPOCH + begun,
                EPOCH + ended,
            )
        )
        if state == "wrap_up" and more.get("call_id"):
            wrap_ups.append((ended - begun, int(more["call_id"].removeprefix("call-"))))

    # As many agents as the calls keep busy: 200 for a million calls, fewer for a small run.
    staffed = max(1, round(len(AGENTS) * sum(map(len, answered.values())) / ANSWERED_A_MONTH))
    for agent in AGENTS[:staffed]:
        calls = iter(answered.get(agent, []))
        t = 0.0
        for day in range(DAYS):
            login = day * 86400 + 7 * 3600 + rng.uniform(0, 3600)
            segment(agent, "logged_out", t, login, "available")
            t, end = login, login + SHIFT_HOURS * 3600
            lunch = login + rng.uniform(3.5, 4.5) * 3600
            coaching = login + rng.uniform(1, 7) * 3600 if rng.random() < 0.3 else None
            while t < end:
                ready = rng.lognormvariate(math.log(30), 0.8)
                ring = rng.uniform(3, 15)
                if lunch is not None and t + ready > lunch:
                    segment(agent, "available", t, lunch, "on_break")
                    segment(agent, "on_break", lunch, lunch + 1800, "available", reason="lunch")
                    t, lunch = lunch + 1800, None
                    continue
                if coaching is not None and t + ready > coaching:
                    segment(agent, "available", t, coaching, "on_break")
                    segment(
                        agent, "on_break", coaching, coaching + 900, "available", reason="coaching"
                    )
                    t, coaching = coaching + 900, None
                    continue
                segment(agent, "available", t, t + ready, "ringing")
                t += ready
                if rng.random() < 0.1:
                    segment(agent, "ringing", t, t + ring, "available")
                    t += ring
                    continue
                number = next(calls, None)
                call_id = f"call-{number}" if number is not None else ""
                talk, wrap_up = rng.uniform(120, 360), rng.uniform(10, 60)
                segment(agent, "ringing", t, t + ring, "on_call", call_id=call_id)
                segment(agent, "on_call", t + ring, t + ring + talk, "wrap_up", call_id=call_id)
                t += ring + talk
                segment(agent, "wrap_up", t, t + wrap_up, "available", call_id=call_id)
                t += wrap_up
            segment(agent, "available", t, t + 1.0, "logged_out")
            t += 1.0
    return rows, wrap_ups


INSERTS = {
    "calls": "INSERT INTO calls (id, call_id, flow, tenant, caller, dialed, outcome, started_at, "
    "answered_at, queued_at, agent_answered_at, ended_at, queue, service_level, wait_seconds, "
    "agent, talk_seconds, transferred_to, voicemail, callback, hung_up_by_caller, "
    "in_queue_at_end, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?)",
    "visits": "INSERT INTO visits (call, seq, flow, node, type, at, result) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "goals": "INSERT INTO goals (call, seq, goal) VALUES (?, ?, ?)",
    "inputs": "INSERT INTO inputs (call, seq, node, name, value) VALUES (?, ?, ?, ?, ?)",
    "lookups": "INSERT INTO lookups (call, seq, node, source, result) VALUES (?, ?, ?, ?, ?)",
    "recordings": "INSERT INTO recordings (call, seq, path, owner, status, started_at, stereo, "
    "masked, seconds, channels, sha256, keep_until, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "callbacks": "INSERT INTO callbacks (call_id, number, status, agent, attempts, "
    "first_dialed_at, last_ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
}
AGENT_STATES = (
    "INSERT INTO agent_states (id, agent, name, state, reason, call_id, queue, started_at, "
    "ended_at, next_state, host, pid, start_s, end_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?)"
)


def generate(path: Path, calls: int, seed: int = 21) -> None:
    """Write a journal of ``calls`` calls at ``path`` (replacing any file there)."""
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    journal = SqliteJournal(path)
    db = journal.db
    generator = Generator(seed)
    began = time.perf_counter()
    starts = generator.starts(calls)
    answered: dict[str, list[int]] = {}
    for first in range(0, calls, BATCH):
        rows: dict[str, list] = {table: [] for table in INSERTS}
        for number in range(first, min(first + BATCH, calls)):
            for table, items in generator.call(number + 1, starts[number]).items():
                rows[table].extend(items)
        for call in rows["calls"]:
            if call[15] is not None:
                answered.setdefault(call[15], []).append(call[0])
        with db:
            for table, statement in INSERTS.items():
                db.executemany(statement, rows[table])
        print(f"  {min(first + BATCH, calls):,} calls written", file=sys.stderr, flush=True)
    segments, wrap_ups = agent_days(generator.rng, answered)
    with db:
        db.executemany(AGENT_STATES, segments)
        db.executemany("UPDATE calls SET wrap_up_seconds = ? WHERE id = ?", wrap_ups)
    counts = {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in [*INSERTS, "agent_states"]
    }
    journal.close()
    print(
        f"generated {path} in {time.perf_counter() - began:.1f}s: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
    )


def time_in_process(journal: Path, format: str, output: Path) -> float:
    """Seconds ``run_report`` takes for ``format``, written to ``output`` (table: to a buffer)."""
    began = time.perf_counter()
    options = dict(journal=str(journal), start=None, end=None, tenant=None, queue=None)
    options.update(timezone="Europe/Sofia", format=format)
    if format == "table":
        with contextlib.redirect_stdout(io.StringIO()):
            run_report(**options, output=None)
    else:
        run_report(**options, output=str(output))
    return time.perf_counter() - began


def time_subprocess(journal: Path) -> tuple[float, int]:
    """Seconds and peak RSS (kB) of ``ivr report`` as its own process, table to /dev/null."""
    command = [
        sys.executable,
        "-c",
        "import sys; from ivr.cli import main; sys.exit(main(sys.argv[1:]))",
        "report",
        "--journal",
        str(journal),
        "--timezone",
        "Europe/Sofia",
    ]
    # The process imports the same ivr as this one (a worktree's, not the installed one).
    here = str(Path(ivr.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    seconds = time.perf_counter() - began
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> int:
    """Make the journal if needed, time each format, print the numbers and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journal", default="var/bench/report-million.sqlite")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    journal = Path(args.journal)
    journal.parent.mkdir(parents=True, exist_ok=True)
    if args.regenerate or not journal.exists():
        generate(journal, args.calls)
    store = SqliteJournal(journal, create=False)
    calls = store.db.execute("SELECT count(*) FROM calls").fetchone()[0]
    store.close()
    print(f"journal {journal}: {calls:,} calls")
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="ivr-report-bench-") as tmp:
        # The first read may find the file out of the OS cache (a journal the disk must read
        # first); the verdict is on the runs after it, as a supervisor's second report is.
        first = time_in_process(journal, "table", Path(tmp) / "-")
        print(f"table in-process, first read: {first:6.2f}s ({calls / first:,.0f} calls/s)")
        for format, name in (("table", None), ("csv", "report.csv"), ("html", "report.html")):
            seconds[format] = time_in_process(journal, format, Path(tmp) / (name or "-"))
            print(
                f"{format:>5} in-process: {seconds[format]:6.2f}s "
                f"({calls / seconds[format]:,.0f} calls/s)"
            )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS in-process: {own / 1024:.0f} MB")
    external, child = time_subprocess(journal)
    print(
        f"table as `ivr report` process: {external:.2f}s ({calls / external:,.0f} calls/s), "
        f"peak RSS {child / 1024:.0f} MB"
    )
    scaled = seconds["table"] * 1_000_000 / calls if calls else 0.0
    verdict = "PASS" if scaled < TARGET_SECONDS else "FAIL"
    print(
        f"{verdict}: table report {seconds['table']:.2f}s over {calls:,} calls "
        f"({scaled:.2f}s per million; target < {TARGET_SECONDS:g}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
