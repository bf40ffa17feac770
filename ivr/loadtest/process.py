"""The process under load: started apart from the generator, pinned, and watched through /proc.

``ProcessUnderTest`` starts a server command (``ivr serve`` or a baseline application), waits
until it listens, and samples its CPU time and resident memory from ``/proc/<pid>/stat`` and
``/proc/<pid>/status`` while the load runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(
    flows: Path,
    port: int,
    workdir: Path,
    *,
    prompt_cache: str | None = None,
    sounds: Path | None = None,
    log_level: str = "info",
    journal: Path | None = None,
) -> list[str]:
    """The ``ivr serve`` command a load test measures.

    It listens on loopback at ``port``, keeps its journal (unless ``journal`` names one to keep),
    agent store and recordings in ``workdir`` and plays recordings from ``sounds`` (default: the
    ``sounds`` folder beside ``flows``).

    Args:
        flows: the flows folder.
        port: where it listens.
        workdir: a scratch folder for what it writes.
        prompt_cache: its prompt cache (None: ``ivr serve``'s default).
        sounds: its recordings folder.
        log_level: ``quiet``, ``info`` (a line per call event, as operators run it) or ``debug``.
        journal: the call journal it writes, kept after the run (None: one in ``workdir``).
    """
    verbosity = {"quiet": [], "info": ["-v"], "debug": ["-vv"]}[log_level]
    serve = [sys.executable, "-m", "ivr.cli", *verbosity, "serve", str(flows)]
    serve += ["--listen", f"127.0.0.1:{port}", "--api", "off"]
    journal = journal if journal is not None else workdir / "journal.sqlite"
    serve += ["--journal", str(journal), "--store", f"{workdir}/acd.sqlite"]
    sounds = sounds if sounds is not None else flows.parent / "sounds"
    serve += ["--recordings", f"{workdir}/recordings", "--sounds", str(sounds)]
    if prompt_cache:
        serve += ["--prompt-cache", prompt_cache]
    return serve


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """(controller's cores, generator's cores): one core each with two or more, else no pinning."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


_PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the child: be sent SIGTERM when the load generator dies (Linux), however it dies.

    A generator killed (or cut off by a closed pipe) before it could stop its controller would
    otherwise leave a controller listening on, and load tests must stop by themselves.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() is then the only way it ends


@dataclass
class Usage:
    """One sample of the process's use of the machine."""

    at: float
    cpu_seconds: float
    rss_kb: int


@dataclass
class ProcessUnderTest:
    """A server process under load.

    Args:
        argv: the command that starts it.
        port: the loopback port it listens on.
        cores: the cores to pin it to (None: no pinning).
        log_path: where its stdout and stderr go.
    """

    argv: list[str]
    port: int
    cores: set[int] | None
    log_path: Path
    samples: list[Usage] = field(default_factory=list)
    _proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start it and wait until it accepts connections."""
        log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_end_with_parent
        )
        log.close()
        if self.cores:
            os.sched_setaffinity(self._proc.pid, self.cores)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited at start: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nothing listened on 127.0.0.1:{self.port} within {timeout:g}s")

    @property
    def pid(self) -> int:
        """Its process id (once started)."""
        return self._proc.pid

    def sample(self) -> Usage | None:
        """Read its CPU seconds and RSS now; None once it is gone."""
        pid = self._proc.pid
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.rpartition(")")[2].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS
        rss = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
        usage = Usage(time.monotonic(), cpu, rss)
        self.samples.append(usage)
        return usage

    def output(self) -> str:
        """What it printed."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a controller drains), then SIGKILL if it does not end in time."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
