"""IVR: voice menus and contact-center queues for FreeSWITCH, written in YAML."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ivr")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
