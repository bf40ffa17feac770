"""``ivr init DIR``: a new project that validates, tests and demos as it stands.

The project is laid out as this repository is, so every command in the README works in it:
``flows/`` (a starter flow with its scenario file, ``queues.yaml``, ``agents.yaml``,
``schedules.yaml``, ``tenants.yaml``), ``sounds/`` (hold music and the failover apology),
``freeswitch_conf/`` (the drop-in FreeSWITCH configuration) and ``flow.schema.json`` (for editors).
The starter flows are the files beside this module; the rest comes from ``ivr.bundled``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ivr.bundled import bundled
from ivr.errors import IvrError
from ivr.project import flow_json_schema

STARTER_FLOWS = Path(__file__).resolve().parent / "flows"
"""The starter flow, its scenario file and config files, copied as they are."""


class InitError(IvrError):
    """The folder cannot take a new project (it holds files already, or is a file)."""


def write_starter(folder: Path) -> list[Path]:
    """Write a starter project into ``folder`` (made if missing, else it must be empty).

    Returns:
        What was written at the top of the folder, in order.

    Raises:
        InitError: ``folder`` is a file, or a folder with something in it.
    """
    if folder.exists() and not folder.is_dir():
        raise InitError(f"{folder} is a file: name a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise InitError(
            f"{folder} is not empty: ivr init writes a new project into a new or empty folder "
            "and never overwrites files"
        )
    folder.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(STARTER_FLOWS, folder / "flows", ignore=ignore)
    shutil.copytree(bundled("sounds"), folder / "sounds", ignore=ignore)
    shutil.copytree(bundled("freeswitch_conf"), folder / "freeswitch_conf", ignore=ignore)
    schema = folder / "flow.schema.json"
    schema.write_text(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False) + "\n")
    return [folder / "flows", folder / "sounds", folder / "freeswitch_conf", schema]
