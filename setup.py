"""Build hook: the wheel carries the example flows, sounds and FreeSWITCH config.

They live at the top of the repository (where analysts and administrators find them), so
``build_py`` copies them into the package as ``ivr/_data/``; ``ivr.bundled`` finds either copy.
Everything else about the package is declared in setup.cfg.
"""

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# ivr.bundled names the folders; it is read by path, as the build need not be able to import ivr.
_spec = importlib.util.spec_from_file_location("_ivr_bundled", ROOT / "ivr" / "bundled.py")
_bundled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bundled)
BUNDLED = _bundled.BUNDLED


class BuildWithBundledFiles(build_py):
    """``build_py`` that also copies the bundled folders under ``ivr/_data``."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "ivr" / "_data"
        for name in BUNDLED:
            # A file removed from the repository must not linger from an earlier build.
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(
                ROOT / name,
                target / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
            )


setup(cmdclass={"build_py": BuildWithBundledFiles})
