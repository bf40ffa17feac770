"""Agent becomes free -> bridge command sent, with 500 callers waiting across 20 queues.

Runs the real controller and the simulated FreeSWITCH over loopback TCP on the real clock: 500
callers wait on hold music in 20 queues of 2 agents each (all logged out). Each sample logs one
agent in and measures the time until the bridge command for that agent reaches the simulated
FreeSWITCH (the pool offers the agent, the caller's hold music is stopped with uuid_break, the
caller's greenlet sends the bridge). The agents' phones answer busy, so the caller goes back to
waiting and the agent is logged out again for the next sample.

    .venv/bin/python benchmarks/acd_dispatch.py [--callers 500] [--queues 20] [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import gevent
from gevent.event import Event

from ivr.acd.center import ContactCenter
from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.simulator import SimulatedFreeSWITCH


class Watched(list):
    """A simulated call's command list that notes when a bridge command arrives."""

    def __init__(self, arrived: Event, seen: list[float]) -> None:
        super().__init__()
        self.arrived = arrived
        self.seen = seen

    def append(self, command) -> None:
        super().append(command)
        if command.headers.get("execute-app-name") == "bridge":
            self.seen.append(time.perf_counter())
            self.arrived.set()


def write_project(folder: Path, queues: int) -> None:
    """Write a flow, a tenant number and a queue of two logged-out agents per queue."""
    agents = ["agents:"]
    lines = ["queues:"]
    tenants = ["tenants:"]
    for q in range(queues):
        ids = [f"q{q}a{n}" for n in range(2)]
        for agent_id in ids:
            agents.append(
                f"  {agent_id}: {{name: {agent_id}, endpoint: user/{agent_id}, "
                "initial_state: logged_out}"
            )
        lines.append(f"  q{q}: {{agents: [{', '.join(ids)}], ring_timeout: 15s, wrap_up: 0s}}")
        flow = f"flow: f{q}\nstart: q\nnodes:\n  q: {{type: queue, queue: q{q}}}\n"
        (folder / f"f{q}.yaml").write_text(flow)
        tenants.append(f'  t{q}: {{name: T{q}, numbers: ["{1000 + q}"], flow: f{q}}}')
    (folder / "agents.yaml").write_text("\n".join(agents) + "\n")
    (folder / "queues.yaml").write_text("\n".join(lines) + "\n")
    (folder / "tenants.yaml").write_text("\n".join(tenants) + "\n")


def main() -> None:
    """Run the benchmark and print the latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=500)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_project(folder, args.queues)
        project = load_project(folder)
        assert project.ok, project.diag.sorted()
        center = ContactCenter(project.agents, project.queues)
        controller = Controller(
            project,
            ("127.0.0.1", 0),
            PromptFiles(folder / "prompts", folder),
            recordings_dir=folder / "rec",
            center=center,
        )
        controller.start()
        sim = SimulatedFreeSWITCH(controller.address, virtual_time=False, default_agent="busy")
        arrived, seen = Event(), []
        calls = []
        for n in range(args.callers):
            call = sim.place_call(None, dialed=str(1000 + n % args.queues))
            call.commands = Watched(arrived, seen)
            calls.append(call)
        started = time.perf_counter()
        while sum(len(line) for line in center.pool.lines.values()) < args.callers:
            gevent.sleep(0.05)
            if time.perf_counter() - started > 60:
                raise SystemExit("the callers did not all reach their queues within 60 s")
        gevent.sleep(0.5)  # every caller is on hold music now
        print(
            f"{args.callers} callers waiting in {args.queues} queues "
            f"(set up in {time.perf_counter() - started:.1f} s)"
        )
        agents = list(center.pool.agents)
        latencies = []
        for n in range(args.samples):
            agent_id = agents[n % len(agents)]
            arrived.clear()
            seen.clear()
            freed = time.perf_counter()
            center.pool.login(agent_id, center.clock())
            if not arrived.wait(5):
                raise SystemExit(f"no bridge within 5 s after {agent_id} logged in")
            latencies.append((seen[0] - freed) * 1000)
            gevent.sleep(0.01)
            center.pool.logout(agent_id, center.clock())
        latencies.sort()

        def pct(p: float) -> float:
            return latencies[min(int(p / 100 * len(latencies)), len(latencies) - 1)]

        print(f"agent free -> bridge command sent, {len(latencies)} samples (ms):")
        print(
            f"  p50 {pct(50):.2f}  p90 {pct(90):.2f}  p99 {pct(99):.2f}  "
            f"max {latencies[-1]:.2f}  mean {statistics.mean(latencies):.2f}"
        )
        for call in calls:
            call.hangup()
        gevent.joinall([gevent.spawn(c.wait, 10) for c in calls], timeout=30)
        sim.close()
        controller.drain(timeout=10)


if __name__ == "__main__":
    main()
