"""The node registry: the only place the compiler looks up node types.

Built-in node types register through the same ``register`` call as third-party plugins, which
arrive through the ``ivr.nodes`` entry-point group. Every registration is checked, and a
duplicate or malformed node type is refused with a message naming where it came from.
"""

from __future__ import annotations

import importlib
import logging
import re
from importlib.metadata import entry_points

from ivr.errors import IvrError
from ivr.flow.fields import Field
from ivr.nodes.base import Node

log = logging.getLogger(__name__)

BUILTIN = "ivr (built-in)"
ENTRY_POINT_GROUP = "ivr.nodes"
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RESERVED_OPTIONS = {"type"}

BUILTIN_MODULES = (
    "play",
    "menu",
    "input",
    "set",
    "branch",
    "lookup",
    "http",
    "authenticate",
    "hours",
    "language",
    "subflow",
    "return_",
    "transfer",
    "record",
    "hangup",
    "queue",
    "survey",
)


class PluginError(IvrError):
    """A node type could not be registered; the message names the plugin's distribution."""


class NodeRegistry:
    """Node types by ``type:`` name, each with the distribution that provided it."""

    def __init__(self) -> None:
        self._types: dict[str, type[Node]] = {}
        self._origins: dict[str, str] = {}
        self.problems: list[str] = []

    def register(self, cls: type[Node], origin: str = BUILTIN) -> type[Node]:
        """Add a node type after checking it is well formed and new.

        Args:
            cls: a subclass of Node.
            origin: the distribution that provides it, named in error messages.

        Raises:
            PluginError: the class is malformed or its type name is taken.
        """
        where = f"node type from {origin}"
        if not isinstance(cls, type) or not issubclass(cls, Node):
            raise PluginError(f"{where}: {cls!r} is not a subclass of ivr.nodes.base.Node")
        name = cls.type_name
        if not isinstance(name, str) or not _TYPE_NAME.fullmatch(name):
            raise PluginError(
                f"{where}: {cls.__name__}.type_name must be a lowercase word "
                f"(letters, digits, _), got {name!r}"
            )
        if name in self._types:
            raise PluginError(
                f"{where}: type '{name}' is already provided by {self._origins[name]}"
            )
        if not isinstance(cls.summary, str) or not cls.summary.strip():
            raise PluginError(f"{where}: {cls.__name__}.summary must be a one-line description")
        if not isinstance(cls.options, dict) or not all(
            isinstance(k, str) and isinstance(v, Field) for k, v in cls.options.items()
        ):
            raise PluginError(
                f"{where}: {cls.__name__}.options must map option names to ivr.flow.fields.Field"
            )
        clash = _RESERVED_OPTIONS & set(cls.options)
        if clash:
            raise PluginError(f"{where}: option names {sorted(clash)} are reserved")
        if cls.run is Node.run:
            raise PluginError(f"{where}: {cls.__name__} does not implement run(call)")
        self._types[name] = cls
        self._origins[name] = origin
        return cls

    def get(self, name: str) -> type[Node] | None:
        return self._types.get(name)

    def origin(self, name: str) -> str:
        return self._origins[name]

    def names(self) -> list[str]:
        return sorted(self._types)

    def load_builtins(self) -> None:
        """Register the built-in node types exactly as a plugin would be."""
        for module in BUILTIN_MODULES:
            mod = importlib.import_module(f"ivr.nodes.{module}")
            self.register(mod.NODE, BUILTIN)

    def load_plugins(self) -> None:
        """Register node types from the ``ivr.nodes`` entry points; problems are kept, not fatal.

        A broken plugin must not take the whole service down: its types are refused, the reason
        (naming the distribution) is kept in ``problems`` for the CLI to print.
        """
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
            try:
                loaded = ep.load()
            except Exception as exc:  # a plugin's import error must not stop the others
                self.problems.append(
                    f"plugin {dist}: entry point '{ep.name}' ({ep.value}) failed to load: {exc}"
                )
                continue
            classes = loaded if isinstance(loaded, list | tuple) else [loaded]
            for cls in classes:
                try:
                    self.register(cls, f"plugin {dist}")
                except PluginError as exc:
                    self.problems.append(str(exc))
        for problem in self.problems:
            log.error("%s", problem)


_default: NodeRegistry | None = None


def default_registry() -> NodeRegistry:
    """The process-wide registry with the built-ins and every installed plugin."""
    global _default
    if _default is None:
        registry = NodeRegistry()
        registry.load_builtins()
        registry.load_plugins()
        _default = registry
    return _default
