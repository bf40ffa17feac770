"""A FreeSWITCH of the benchmark's own, started from an installed prefix, in a temporary folder.

real_fs_load.py measures FreeSWITCH itself, so it must neither share one with other work nor
edit the configuration of one it was given. ``PrivateFreeSwitch`` copies the configuration of an
installed FreeSWITCH (``<prefix>/etc/freeswitch``) into a temporary folder, installs the
project's configuration into the copy with the product's own installer (``ivr freeswitch-conf
install``), and starts the prefix's ``freeswitch`` binary on it, as a child process, with every
folder (log, database, run, sounds) in that temporary folder. What it changes in the copy:

- the event socket listens on a free loopback port, with a password made for the run;
- only the modules a loopback call needs are loaded (no mod_sofia: no SIP port is opened, so
  it cannot clash with another FreeSWITCH on the machine, and nothing leaves the host);
- ``sessions-per-second`` is raised from the stock 30 (a loopback call is two sessions, so a
  stock FreeSWITCH refuses a 16th call per second) and ``max-sessions`` from 1000, so that what
  is measured is the machine, not a throttle;
- the core logs warnings and worse only (the stock level, debug, writes a line per application
  of every call, which a loaded box would not do);
- ``dialplan/<name>.xml`` holds the extensions the caller of ``start`` gives.

``stop`` ends FreeSWITCH (SIGTERM, then SIGKILL) and the temporary folder is removed.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import gevent

from ivr.freeswitch.conf_install import install_conf
from ivr.freeswitch.inbound import ESLConnectError, InboundClient
from ivr.loadtest import ProcessUnderTest, free_port

MODULES = (
    "mod_logfile",
    "mod_loopback",
    "mod_commands",
    "mod_dptools",
    "mod_dialplan_xml",
    "mod_sndfile",
    "mod_native_file",
    "mod_tone_stream",
    "mod_local_stream",
    "mod_db",
    "mod_hash",
    "mod_expr",
    # Last: its port accepting connections then means every module before it is loaded.
    "mod_event_socket",
)
"""What a loopback call into our dialplan needs (local_stream: the failover's hold music)."""
SESSIONS_PER_SECOND = 2000
MAX_SESSIONS = 20000
RUN_USER = "freeswitch"
"""FreeSWITCH's own user, which it switches to when started by root (as its packages do)."""
READY_TIMEOUT = 30.0


class FreeSwitchStartError(RuntimeError):
    """The private FreeSWITCH could not be set up or did not come up."""


def _set_param(text: str, name: str, value: str) -> str:
    """A configuration file with ``<param name="name" value="..."/>`` set to ``value``.

    A commented-out param stays commented out, so the param must be present (as it is in
    every stock file this is used on).
    """
    pattern = re.compile(rf'(<param name="{re.escape(name)}" value=")[^"]*(")')
    changed, count = pattern.subn(rf"\g<1>{value}\g<2>", text)
    if not count:
        raise FreeSwitchStartError(f"no {name} param to set in the configuration")
    return changed


def _modules_conf() -> str:
    loads = "\n".join(f'    <load module="{module}"/>' for module in MODULES)
    return (
        '<configuration name="modules.conf" description="Modules">\n'
        f"  <modules>\n{loads}\n  </modules>\n</configuration>\n"
    )


class PrivateFreeSwitch:
    """One FreeSWITCH started for a benchmark run from an installed prefix.

    Args:
        prefix: the installed FreeSWITCH (``bin/freeswitch``, ``etc/freeswitch``, ``lib``).
        controller: the global ``ivr_controller`` of its dialplan (``host:port``).
        name: the name of the benchmark's dialplan file (``dialplan/<name>.xml``).

    Attributes:
        folder: the temporary folder holding its configuration, database and logs; files the
            caller puts there before ``start`` (prompts) become readable by FreeSWITCH's user.
        esl_port: its event socket, on 127.0.0.1.
        password: the event socket's password.
        process: the running FreeSWITCH (its CPU time is read through it).
    """

    def __init__(self, prefix: Path, controller: str, name: str = "bench") -> None:
        self.prefix = prefix
        self.controller = controller
        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix="ivr-private-fs-"))
        self.esl_port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.process: ProcessUnderTest | None = None
        self.folder.chmod(0o755)

    @property
    def conf(self) -> Path:
        return self.folder / "etc"

    @property
    def log_file(self) -> Path:
        return self.folder / "log" / "freeswitch.log"

    def start(self, dialplan: str) -> InboundClient:
        """Write the configuration, start FreeSWITCH, and return a logged-in event socket.

        Args:
            dialplan: the benchmark's extensions, as one ``dialplan/*.xml`` file's text (an
                ``<include>`` with a ``<context>`` of its own).

        Raises:
            FreeSwitchStartError: the prefix is not an installed FreeSWITCH, or it did not come
                up (its log says why).
        """
        binary = self.prefix / "bin" / "freeswitch"
        installed = self.prefix / "etc" / "freeswitch"
        if not binary.is_file() or not (installed / "vars.xml").is_file():
            raise FreeSwitchStartError(
                f"no installed FreeSWITCH at {self.prefix} (bin/freeswitch, etc/freeswitch)"
            )
        self._write_conf(installed, dialplan)
        folders = {
            name: self.folder / name
            for name in ("log", "db", "run", "temp", "cache", "storage", "recordings")
        }
        for path in folders.values():
            path.mkdir()
        argv = [str(binary), "-nf", "-nc", "-nonat", "-conf", str(self.conf)]
        for name, path in folders.items():
            argv += [f"-{name}", str(path)]
        argv += self._run_as()
        self.process = ProcessUnderTest(argv, self.esl_port, None, self.folder / "stdout.log")
        try:
            self.process.start(timeout=READY_TIMEOUT)
        except RuntimeError as exc:
            raise FreeSwitchStartError(f"{exc}; see {self.log_file}") from exc
        return self._logged_in()

    def _run_as(self) -> list[str]:
        """``-u freeswitch -g freeswitch`` when started by root and that user exists."""
        if os.geteuid() != 0:
            return []
        try:
            user = pwd.getpwnam(RUN_USER)
        except KeyError:
            return []
        for path in [self.folder, *self.folder.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        return ["-u", RUN_USER, "-g", RUN_USER]

    def _write_conf(self, installed: Path, dialplan: str) -> None:
        shutil.copytree(installed, self.conf, symlinks=True)
        install_conf(
            self.conf,
            self.folder / "sounds",
            esl_password=self.password,
            controller=self.controller,
            agent_password=lambda _agent: secrets.token_urlsafe(12),
        )
        autoload = self.conf / "autoload_configs"
        socket_conf = autoload / "event_socket.conf.xml"
        port = str(self.esl_port)
        socket_conf.write_text(_set_param(socket_conf.read_text(), "listen-port", port))
        (autoload / "modules.conf.xml").write_text(_modules_conf())
        switch_conf = autoload / "switch.conf.xml"
        text = switch_conf.read_text()
        text = _set_param(text, "sessions-per-second", str(SESSIONS_PER_SECOND))
        text = _set_param(text, "max-sessions", str(MAX_SESSIONS))
        text = _set_param(text, "loglevel", "warning")
        switch_conf.write_text(text)
        (self.conf / "dialplan" / f"{self.name}.xml").write_text(dialplan)

    def _logged_in(self) -> InboundClient:
        """An event-socket connection once FreeSWITCH says it is up."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                client = InboundClient.connect("127.0.0.1", self.esl_port, password=self.password)
                if client.api("status").startswith("UP"):
                    return client
                client.close()
            except ESLConnectError:
                pass
            if time.monotonic() > deadline:
                raise FreeSwitchStartError(
                    f"FreeSWITCH did not come up within {READY_TIMEOUT:g}s; see {self.log_file}"
                )
            gevent.sleep(0.2)

    def stop(self) -> None:
        """End FreeSWITCH and remove its folder."""
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
