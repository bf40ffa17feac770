"""Which real FreeSWITCH, if any, the live tests may use.

Tests that need a live FreeSWITCH take the ``freeswitch`` fixture. It skips them unless one is
named, with ``--fs-host HOST[:PORT]`` or ``IVR_FS_HOST``; nothing is ever faked in its place.
The event-socket password comes from ``--fs-password`` or ``IVR_FS_PASSWORD`` (default
``ClueCon``, FreeSWITCH's stock one). Tests that stop or kill FreeSWITCH take
``private_freeswitch`` (tests/realfs.py) instead: one of their own, from the installed one.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import pytest
from realfs import folder, fs, private_freeswitch  # noqa: F401  (fixtures of every test module)

DEFAULT_ESL_PORT = 8021
DEFAULT_ESL_PASSWORD = "ClueCon"
NO_FREESWITCH = "no FreeSWITCH named: pass --fs-host or set IVR_FS_HOST"


class FreeSwitchTarget(NamedTuple):
    """The event socket of the FreeSWITCH the live tests were given."""

    host: str
    port: int
    password: str


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("freeswitch", "tests against a real FreeSWITCH")
    group.addoption(
        "--fs-host",
        metavar="HOST[:PORT]",
        help=f"event socket of a FreeSWITCH to run the live tests against (default: "
        f"$IVR_FS_HOST; port {DEFAULT_ESL_PORT}); without it they are skipped",
    )
    group.addoption(
        "--fs-password",
        metavar="PASSWORD",
        help=f"its event-socket password (default: $IVR_FS_PASSWORD, else {DEFAULT_ESL_PASSWORD})",
    )


def split_host_port(value: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPV6]:PORT`` as host and port (8021 when none is given)."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""  # a bare name, or a bare IPv6 address
    if not host or (port and not port.isdigit()):
        raise ValueError(f"{value!r} is not HOST, HOST:PORT or [IPV6]:PORT")
    return host, int(port) if port else DEFAULT_ESL_PORT


@pytest.fixture(scope="session")
def freeswitch(pytestconfig: pytest.Config) -> FreeSwitchTarget:
    """The FreeSWITCH named on the command line or in the environment; skips when none is."""
    named = pytestconfig.getoption("--fs-host") or os.environ.get("IVR_FS_HOST")
    if not named:
        pytest.skip(NO_FREESWITCH)
    try:
        host, port = split_host_port(named)
    except ValueError as exc:
        pytest.fail(f"--fs-host / IVR_FS_HOST: {exc}", pytrace=False)
    password = (
        pytestconfig.getoption("--fs-password")
        or os.environ.get("IVR_FS_PASSWORD")
        or DEFAULT_ESL_PASSWORD
    )
    return FreeSwitchTarget(host, port, password)
