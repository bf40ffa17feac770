"""Build hook: the wheel carries the example flows, sounds and FreeSWITCH config.

They live at the top of the repository (where analysts and administrators find them), so
``build_py`` copies them into the package as ``ivr/_data/``; ``ivr.bundled`` finds either copy.
Everything else about the package is declared in setup.cfg.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("flows", "sounds", "freeswitch_conf")
"""Kept in step with ``ivr.bundled.BUNDLED`` (a test checks the wheel holds each)."""


class BuildWithBundledFiles(build_py):
    """``build_py`` that also copies the bundled folders under ``ivr/_data``."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "ivr" / "_data"
        for name in BUNDLED:
            shutil.copytree(
                Path(name),
                target / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
            )


setup(cmdclass={"build_py": BuildWithBundledFiles})
