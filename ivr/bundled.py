"""Where the files that come with ``ivr`` are: the example flows, sounds and FreeSWITCH config.

In a checkout they are the repository's ``flows/``, ``sounds/`` and ``freeswitch_conf/``; a built
wheel carries copies of them under ``ivr/_data/`` (``setup.py`` puts them there), so a ``pip
install`` user has them too. The copy in the wheel wins when both could be seen.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED = ("flows", "sounds", "freeswitch_conf")
"""The folders shipped with the package."""

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The folder ``name`` (one of ``BUNDLED``) that came with this ``ivr``.

    Raises:
        FileNotFoundError: this installation has no such folder (a broken install).
    """
    if name not in BUNDLED:
        raise ValueError(f"{name!r} is not one of the bundled folders {BUNDLED}")
    for folder in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"this ivr installation has no {name}/ (looked in {_PACKAGE / '_data'} and "
        f"{_PACKAGE.parent}): reinstall it from a wheel or a checkout"
    )
