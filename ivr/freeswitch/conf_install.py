"""Install the project's FreeSWITCH configuration into a FreeSWITCH, as an administrator would.

``ivr freeswitch-conf install`` does what ``freeswitch_conf/README.md`` describes by hand, on a
stock (vanilla) configuration: it backs the configuration up once, copies our dialplan extension
(with the failover), event socket, hold music streams, agent users and fallback group in, adds the
two include lines, sets the controller's address, the event-socket password and the agents'
passwords, replaces the stock ``default_password`` (while it is 1234 FreeSWITCH delays every call
by 10 s), and copies our sounds (hold music, the failover apology) where FreeSWITCH can read
them. Running it again gives the same configuration: every step checks what is there first.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.bundled import bundled
from ivr.errors import IvrError

CONF_SOURCE = bundled("freeswitch_conf")
"""The drop-in configuration this installs (``freeswitch_conf/`` of the project)."""
SOUNDS_SOURCE = bundled("sounds")
"""The project's recordings and hold music."""

FALLBACK_NAME = "ivr-fallback"
"""The failover apology ("I'm sorry. Please hold while I connect your call."), shipped as
``sounds/en/<rate>/ivr-fallback.wav``, so a failover needs neither the controller nor TTS."""
WELL_KNOWN_PASSWORDS = {"ClueCon", "change-me-ivr-esl"}

_VARS_INCLUDE = '<X-PRE-PROCESS cmd="include" data="vars_ivr.xml"/>'
_GROUPS_INCLUDE = '<X-PRE-PROCESS cmd="include" data="ivr_groups/*.xml"/>'
_OUR_SOCKET_CONF = "give the same password to the controller"
"""Words of our event_socket.conf.xml's comments, by which an earlier installation is known."""
_AGENT_PASSWORD = re.compile(r'(<param name="password" value=")[^"]*"')
_CONDITION = re.compile(r'(<condition field="destination_number" expression=")[^"]*"')
"""The IVR extension's condition on the dialled number (the first in its file)."""
_NUMBER = re.compile(r"[0-9+*#]+")


class ConfInstallError(IvrError):
    """The target is not a FreeSWITCH configuration this can install into."""


@dataclass
class InstallReport:
    """What an installation changed, for the administrator to read."""

    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    agent_passwords: dict[str, str] = field(default_factory=dict)
    esl_password_made: str = ""
    """The event-socket password made for this installation (none was given or installed)."""
    event_socket_changed: bool = False
    """The event socket's settings changed: they take effect when FreeSWITCH restarts."""


def _without_password(user_xml: str) -> str:
    """An agent user's file with its SIP password left out, to recognise one installed before."""
    return _AGENT_PASSWORD.sub(r'\1"', user_xml)


def _include_vars(text: str) -> str:
    """The stock vars.xml with our variables included at its end (after the stock ones)."""
    if _VARS_INCLUDE in text or not text.rstrip().endswith("</include>"):
        return text
    head, _, _ = text.rpartition("</include>")
    return f"{head}  {_VARS_INCLUDE}\n</include>\n"


def _include_groups(text: str) -> str:
    """The domain file with our groups inside its ``<groups>``, the only place FreeSWITCH looks."""
    if _GROUPS_INCLUDE in text:
        return text
    return text.replace("<groups>", f"<groups>\n      {_GROUPS_INCLUDE}", 1)


def _set_var(text: str, name: str, value: str) -> str:
    """``vars_ivr.xml`` with the preprocessor variable ``name`` set to ``value``."""
    pattern = re.compile(rf'(<X-PRE-PROCESS cmd="set" data="{re.escape(name)}=)[^"]*(")')
    if not pattern.search(text):
        raise ConfInstallError(f"vars_ivr.xml sets no {name}")
    return pattern.sub(lambda m: f"{m.group(1)}{value}{m.group(2)}", text)


def _service_numbers(text: str, numbers: list[str]) -> str:
    """The IVR extension with its condition matching exactly ``numbers``."""
    for number in numbers:
        if not _NUMBER.fullmatch(number):
            raise ConfInstallError(
                f"service number {number!r}: only digits, and + * # are allowed in a number"
            )
    expression = "^(" + "|".join(re.escape(number) for number in numbers) + ")$"
    return _CONDITION.sub(lambda m: f'{m.group(1)}{expression}"', text, count=1)


def _param(text: str, name: str, value: str) -> str:
    """A configuration file with ``<param name=NAME value=...>`` set to ``value``."""
    pattern = re.compile(rf'(<param name="{re.escape(name)}" value=")[^"]*(")')
    if not pattern.search(text):
        raise ConfInstallError(f"no {name} parameter to set")
    return pattern.sub(lambda m: f"{m.group(1)}{value}{m.group(2)}", text)


def _installed_password(socket_conf: Path) -> str | None:
    """The password our event_socket.conf.xml carries there, unless it is none or well known."""
    if not socket_conf.is_file():
        return None
    text = socket_conf.read_text()
    if _OUR_SOCKET_CONF not in text:
        return None  # the stock file, or one of the administrator's: ours replaces it
    found = re.search(r'<param name="password" value="([^"]*)"', text)
    if found is None or not found.group(1) or found.group(1) in WELL_KNOWN_PASSWORDS:
        return None
    return found.group(1)


def _xml_value(value: str, what: str) -> str:
    """``value`` as it may stand inside a configuration attribute; refuses what would break it."""
    if not value or any(c in value for c in '"<>&\n'):
        raise ConfInstallError(f"{what} {value!r}: must be non-empty, without quotes, <, > or &")
    return value


class _Installer:
    """One run of the installation; ``report`` says what it did."""

    def __init__(self, conf_dir: Path, sounds_dir: Path, owner_of: Path) -> None:
        self.conf_dir = conf_dir
        self.sounds_dir = sounds_dir
        stat = owner_of.stat()
        self.owner = (stat.st_uid, stat.st_gid)
        self.report = InstallReport()

    def write(self, path: Path, text: str) -> None:
        """Write ``path`` when its content differs, owned like the configuration."""
        if path.exists() and path.read_text() == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.chown(path)
        self.report.changes.append(f"wrote {path}")

    def copy(self, source: Path, target: Path) -> None:
        """Copy a binary file (a sound) when the target differs."""
        if target.exists() and target.read_bytes() == source.read_bytes():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        self.chown(target)
        self.report.changes.append(f"copied {target}")

    def chown(self, path: Path) -> None:
        """Give FreeSWITCH's user what it must read; only root may, and only root needs to."""
        if os.geteuid() != 0:
            return
        for part in [path, *path.parents]:
            if part == self.conf_dir.parent or part == self.sounds_dir.parent:
                break
            os.chown(part, *self.owner)

    def edit(self, path: Path, change: Callable[[str], str], what: str) -> None:
        """Apply ``change`` to a stock file, once; ``what`` says it in the report."""
        before = path.read_text()
        after = change(before)
        if after != before:
            path.write_text(after)
            self.report.changes.append(f"{what} in {path}")


def install_conf(
    conf_dir: Path,
    sounds_dir: Path,
    *,
    esl_password: str | None = None,
    controller: str = "127.0.0.1:8084",
    numbers: list[str] | None = None,
    agent_password: Callable[[str], str] | None = None,
    source: Path = CONF_SOURCE,
    sounds_source: Path = SOUNDS_SOURCE,
) -> InstallReport:
    """Install the drop-in configuration into ``conf_dir`` and our sounds into ``sounds_dir``.

    Args:
        conf_dir: FreeSWITCH's configuration folder (the one holding ``vars.xml``).
        sounds_dir: where FreeSWITCH reads our sounds from (``ivr_sounds_dir``).
        esl_password: the inbound event socket's password, for the controller and fs_cli;
            None keeps the one an earlier installation set (else makes a random one), so that
            running this again does not lock out a running controller.
        controller: where the controller listens (``host:port``, several joined by ``|``).
        numbers: the service numbers the dialplan hands to the controller (the tenants'
            numbers); None keeps the ones of the shipped extension.
        agent_password: makes the SIP password of a new agent user (default: random); agents
            that already have a password of their own keep it.
        source: the configuration to install.
        sounds_source: our recordings and hold music.

    Returns:
        What changed, warnings, and the passwords given to agent users.

    Raises:
        ConfInstallError: ``conf_dir`` is no FreeSWITCH configuration, or a value would break it.
    """
    vars_xml = conf_dir / "vars.xml"
    domain_xml = conf_dir / "directory" / "default.xml"
    for needed in (vars_xml, domain_xml):
        if not needed.is_file():
            raise ConfInstallError(
                f"{conf_dir} is not a FreeSWITCH configuration folder: it has no "
                f"{needed.relative_to(conf_dir)} (give the folder that holds vars.xml)"
            )
    socket_path = conf_dir / "autoload_configs/event_socket.conf.xml"
    made = ""
    if esl_password is None:
        esl_password = _installed_password(socket_path)
        if esl_password is None:
            esl_password = made = secrets.token_urlsafe(12)
    esl_password = _xml_value(esl_password, "event-socket password")
    controller = _xml_value(controller, "controller address")
    installer = _Installer(conf_dir, sounds_dir, owner_of=vars_xml)
    report = installer.report
    report.esl_password_made = made
    if esl_password in WELL_KNOWN_PASSWORDS:
        report.warnings.append(
            f"the event-socket password {esl_password!r} is well known: give your own with "
            "--esl-password on any machine that is not a closed test box"
        )

    backup = conf_dir.with_name(conf_dir.name + ".before-ivr")
    if not backup.exists():
        shutil.copytree(conf_dir, backup, symlinks=True)
        report.changes.append(f"backed up {conf_dir} to {backup}")

    ivr_vars = (source / "vars_ivr.xml").read_text()
    ivr_vars = _set_var(ivr_vars, "ivr_controller", controller)
    ivr_vars = _set_var(ivr_vars, "ivr_sounds_dir", str(sounds_dir))
    ivr_vars = _set_var(
        ivr_vars,
        "ivr_fallback_prompt",
        f"$${{ivr_sounds_dir}}/en/{FALLBACK_NAME}.wav",
    )
    installer.write(conf_dir / "vars_ivr.xml", ivr_vars)
    for extension in (
        "dialplan/default/00_ivr_controller.xml",
        "dialplan/public/00_ivr_controller.xml",
    ):
        dialplan = (source / extension).read_text()
        if numbers:
            dialplan = _service_numbers(dialplan, numbers)
        installer.write(conf_dir / extension, dialplan)
    streams = "autoload_configs/local_stream.conf.xml"
    installer.write(conf_dir / streams, (source / streams).read_text())
    socket_conf = (source / "autoload_configs/event_socket.conf.xml").read_text()
    changes = len(report.changes)
    installer.write(socket_path, _param(socket_conf, "password", esl_password))
    report.event_socket_changed = len(report.changes) > changes
    for group in sorted((source / "directory/ivr_groups").glob("*.xml")):
        installer.write(conf_dir / "directory/ivr_groups" / group.name, group.read_text())
    make_password = agent_password or (lambda _agent: secrets.token_urlsafe(12))
    for user in sorted((source / "directory/default").glob("*.xml")):
        target = conf_dir / "directory/default" / user.name
        ours = user.read_text()
        if target.exists() and _without_password(target.read_text()) == _without_password(ours):
            continue  # installed before: the administrator may have changed its password since
        password = _xml_value(make_password(user.stem), f"password of agent {user.stem}")
        given = _AGENT_PASSWORD.sub(lambda m, pw=password: f'{m.group(1)}{pw}"', ours)
        installer.write(target, given)
        report.agent_passwords[user.stem] = password

    installer.edit(vars_xml, _include_vars, "included vars_ivr.xml")
    if _VARS_INCLUDE not in vars_xml.read_text():
        raise ConfInstallError(f"{vars_xml} does not end with </include>: add {_VARS_INCLUDE}")
    installer.edit(
        vars_xml,
        lambda text: text.replace(
            'data="default_password=1234"',
            f'data="default_password={secrets.token_urlsafe(12)}"',
        ),
        "replaced the stock default_password 1234 (it delays every call by 10 s)",
    )
    installer.edit(domain_xml, _include_groups, "included ivr_groups/ in the domain's groups")
    if _GROUPS_INCLUDE not in domain_xml.read_text():
        raise ConfInstallError(f"{domain_xml} has no <groups> element to include our group in")

    for wav in sorted((sounds_source / "music").rglob("*.wav")):
        installer.copy(wav, sounds_dir / wav.relative_to(sounds_source))
    for wav in sorted((sounds_source / "en").rglob(f"{FALLBACK_NAME}.wav")):
        installer.copy(wav, sounds_dir / wav.relative_to(sounds_source))
    return report
