"""YAML documents that remember where every value came from, and diagnostics that point there.

Analysts need every mistake reported as ``FILE:LINE:COL`` with the offending line and a caret, so
the loader keeps the position of each key and value. PyYAML's composer gives us the nodes with
their marks; we build plain Python values from them ourselves, which also lets us apply the
scalar rules an analyst expects: only ``true``/``false`` are booleans (YAML 1.1 would turn
``on``/``no`` into booleans, ``09:00`` into a sexagesimal number and ``0123`` into octal).

A folder of flows may come from anyone, so reading one is bounded: only regular files of at most
``MAX_FILE_BYTES`` are read (a FIFO or ``/dev/zero`` named ``x.yaml`` would hang or fill memory),
collections nest at most ``MAX_NESTING`` levels (PyYAML composes recursively), aliases may
repeat at most ``MAX_ALIAS_VALUES`` values in all (nested anchors multiply: "billion laughs"), and
the only tags are ``!!str``, ``!!seq`` and ``!!map``: a flow holds text, numbers, lists and
mappings, never Python objects.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.errors import IvrError

MAX_FILE_BYTES = 2 * 1024 * 1024
"""The largest YAML file read (2 MB): the biggest flow of a real contact center is under 100 kB."""
MAX_NESTING = 64
"""How deep lists and mappings may nest; a flow needs about eight levels."""
MAX_ALIAS_VALUES = 100_000
"""How many values aliases (``*name``) may bring into one document, counting nested ones."""

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    f"{_CORE}str": yaml.ScalarEvent,
    f"{_CORE}seq": yaml.SequenceStartEvent,
    f"{_CORE}map": yaml.MappingStartEvent,
}


@dataclass(frozen=True)
class Mark:
    """A position in a source file, 1-based, as editors show it; line 0 is the whole file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    @classmethod
    def whole(cls, file: str) -> Mark:
        """The file itself, for what is wrong with it rather than at a place in it."""
        return cls(file, 0, 0)


class LDict(dict):
    """A mapping from a YAML file that knows where each key and value stands."""

    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def key_mark(self, key: str) -> Mark:
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: str) -> Mark:
        return self.value_marks.get(key, self.mark)


class LList(list):
    """A sequence from a YAML file that knows where each item stands."""

    mark: Mark
    item_marks: list[Mark]

    def item_mark(self, index: int) -> Mark:
        return self.item_marks[index] if index < len(self.item_marks) else self.mark


def suggest(word: str, known: list[str]) -> str:
    """A did-you-mean hint for a misspelt key or name, or an empty string."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


_QUOTED_WIDTH = 120


@dataclass(frozen=True)
class Diagnostic:
    """One mistake (or warning) in a user's file, with where it is and what was expected."""

    severity: str
    message: str
    mark: Mark | None

    def render(self, sources: SourceCache) -> str:
        """Format as ``FILE:LINE:COL: severity: message``, the line, and a caret under it."""
        if self.mark is None:
            return f"{self.severity}: {self.message}"
        head = f"{self.mark}: {self.severity}: {self.message}"
        text = sources.line(self.mark.file, self.mark.line)
        if text is None:
            return head
        start = 0
        if len(text) > _QUOTED_WIDTH:
            # A line of a hostile or generated file can be megabytes: show the part at the caret.
            start = max(0, min(self.mark.col - 1 - _QUOTED_WIDTH // 2, len(text) - _QUOTED_WIDTH))
            shown = text[start : start + _QUOTED_WIDTH]
            text = (
                ("..." if start else "") + shown + ("..." if start + len(shown) < len(text) else "")
            )
            start -= 3 if start else 0
        caret = " " * (self.mark.col - 1 - start) + "^"
        return f"{head}\n    {text}\n    {caret}"


@dataclass
class Diagnostics:
    """Collects every mistake found, so all of them are reported at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, mark: Mark | None) -> None:
        self.items.append(Diagnostic("error", message, mark))

    def warning(self, message: str, mark: Mark | None) -> None:
        self.items.append(Diagnostic("warning", message, mark))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        """Diagnostics in file order, which is how a person reads and fixes them."""
        return sorted(
            self.items,
            key=lambda d: (d.mark.file, d.mark.line, d.mark.col) if d.mark else ("", 0, 0),
        )


class SourceCache:
    """Remembers file texts so diagnostics can quote the offending line."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, name: str, text: str) -> None:
        self._lines[name] = text.splitlines()

    def line(self, name: str, number: int) -> str | None:
        lines = self._lines.get(name)
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]


_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9_]*)\.[0-9]+([eE][-+]?[0-9]+)?")
_NULL = {"", "~", "null", "Null", "NULL"}


def _plain_scalar(text: str) -> Any:
    if text in _NULL:
        return None
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text):
        return float(text.replace("_", ""))
    return text


def _mark(name: str, m: yaml.Mark) -> Mark:
    return Mark(name, m.line + 1, m.column + 1)


class _Refused(IvrError):
    """A document over one of the limits, or with a tag it may not use; never leaves here."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


@dataclass(frozen=True)
class _Alias:
    """Where ``*name`` was written, and the node of the anchor it repeats."""

    anchor: str
    target: yaml.Node
    start_mark: yaml.Mark


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, with the tags and the nesting checked as each node opens.

    An alias comes back as an ``_Alias`` rather than the anchor's node, so that what it brings
    in can be counted and an error can point at the ``*name`` the analyst wrote.
    """

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.file_name = name
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            return _Alias(event.anchor, self.anchors[event.anchor], event.start_mark)
        where = _mark(self.file_name, event.start_mark)
        if event.tag not in (None, "!"):
            kind = _ALLOWED_TAGS.get(event.tag)
            if kind is None:
                raise _Refused(
                    f"the tag '{_shown_tag(event.tag)}' is not allowed: a flow holds text, "
                    "numbers, lists and mappings (only !!str, !!seq and !!map may be written)",
                    where,
                )
            if not isinstance(event, kind):
                raise _Refused(f"the tag '{_shown_tag(event.tag)}' does not fit this value", where)
        if isinstance(event, yaml.ScalarEvent):
            return super().compose_node(parent, index)
        if self.depth >= MAX_NESTING:
            raise _Refused(f"nested deeper than {MAX_NESTING} levels", where)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    """Plain values from composed nodes, with aliases expanded within the limits."""

    def __init__(self, name: str, diag: Diagnostics) -> None:
        self.name = name
        self.diag = diag
        self.alias_values = 0
        self.depth = 0
        # The outermost alias being expanded: what the analyst wrote in the place that overflows.
        self.outer_alias: Mark | None = None
        self.expanding: set[int] = set()

    def build(self, node: yaml.Node | _Alias) -> Any:
        if isinstance(node, _Alias):
            return self._expand(node)
        if self.outer_alias is not None:
            self.alias_values += 1
            if self.alias_values > MAX_ALIAS_VALUES:
                raise _Refused(
                    f"this alias takes the document over {MAX_ALIAS_VALUES} values brought in by "
                    "aliases (anchors that repeat each other multiply)",
                    self.outer_alias,
                )
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.tag != "tag:yaml.org,2002:str":
                return _plain_scalar(node.value)
            return node.value
        if self.depth >= MAX_NESTING:
            where = self.outer_alias or _mark(self.name, node.start_mark)
            raise _Refused(
                f"nested deeper than {MAX_NESTING} levels (with what aliases bring in)", where
            )
        self.depth += 1
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node)
            return self._mapping(node)
        finally:
            self.depth -= 1

    def _expand(self, alias: _Alias) -> Any:
        where = _mark(self.name, alias.start_mark)
        if id(alias.target) in self.expanding:
            raise _Refused(
                f"the alias *{alias.anchor} is inside its own anchor &{alias.anchor}, "
                "which would make a value that contains itself",
                where,
            )
        outermost = self.outer_alias is None
        if outermost:
            self.outer_alias = where
        self.expanding.add(id(alias.target))
        try:
            return self.build(alias.target)
        finally:
            self.expanding.discard(id(alias.target))
            if outermost:
                self.outer_alias = None

    def _sequence(self, node: yaml.SequenceNode) -> LList:
        self.expanding.add(id(node))
        out = LList(self.build(item) for item in node.value)
        self.expanding.discard(id(node))
        out.mark = _mark(self.name, node.start_mark)
        out.item_marks = [_mark(self.name, item.start_mark) for item in node.value]
        return out

    def _mapping(self, node: yaml.MappingNode) -> LDict:
        self.expanding.add(id(node))
        out = LDict()
        out.mark = _mark(self.name, node.start_mark)
        out.key_marks = {}
        out.value_marks = {}
        for key_node, value_node in node.value:
            key_mark = _mark(self.name, key_node.start_mark)
            if isinstance(key_node, _Alias):
                key_node = key_node.target
            if not isinstance(key_node, yaml.ScalarNode):
                self.diag.error(
                    "a key must be a plain word or number, not a list or mapping", key_mark
                )
                continue
            # Keys keep exactly what the analyst wrote: `1:` is the menu key "1", `on:` is "on".
            key = key_node.value
            if key in out:
                first = out.key_marks[key]
                self.diag.error(
                    f"duplicate key '{key}' (first defined at line {first.line})", key_mark
                )
                continue
            out[key] = self.build(value_node)
            out.key_marks[key] = key_mark
            out.value_marks[key] = _mark(self.name, value_node.start_mark)
        self.expanding.discard(id(node))
        return out


def _syntax_error_mark(name: str, text: str, exc: yaml.MarkedYAMLError) -> Mark:
    """Where a syntax error is shown: a place on a line of the file, for the caret."""
    where = exc.problem_mark or exc.context_mark
    if where is None:
        return Mark(name, 1, 1)
    if where.index < len(text.rstrip()):
        return _mark(name, where)
    # The file ended inside something (an unclosed quote or bracket): the end has no line to
    # show; where that something opened has, else the end of the last line.
    opened = exc.context_mark
    if opened is not None and opened.index < len(text.rstrip()):
        return _mark(name, opened)
    lines = text.rstrip().splitlines() or [""]
    return Mark(name, len(lines), len(lines[-1]) + 1)


def _read(path: Path, name: str, kind: str, diag: Diagnostics) -> str | None:
    try:
        # stat, not open, comes first: opening a FIFO waits for a writer that may never come.
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            diag.error("not a regular file", Mark.whole(name))
            return None
        limit = f"the {MAX_FILE_BYTES // (1024 * 1024)} MB limit for a {kind}"
        if info.st_size > MAX_FILE_BYTES:
            diag.error(f"{info.st_size / (1024 * 1024):.1f} MB is over {limit}", Mark.whole(name))
            return None
        with open(path, "rb") as f:
            # A file may grow after stat, and /proc files claim a size of 0.
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            diag.error(f"over {limit}", Mark.whole(name))
            return None
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        diag.error(f"not UTF-8 text: byte 0x{data[exc.start]:02x}", Mark(name, line, col))
    except OSError as exc:
        diag.error(f"cannot read file: {exc.strerror or exc}", Mark.whole(name))
    return None


def _position(text: str, index: int, name: str) -> Mark:
    line = text.count("\n", 0, index) + 1
    return Mark(name, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def load_yaml(
    path: Path,
    diag: Diagnostics,
    sources: SourceCache,
    name: str | None = None,
    *,
    kind: str = "YAML file",
    may_be_empty: bool = True,
) -> Any:
    """Read one YAML document, recording syntax errors in ``diag``.

    Args:
        path: the file to read.
        diag: where mistakes are reported.
        sources: remembers the text for quoting lines in messages.
        name: how the file is named in messages (defaults to the path as given).
        kind: what the file is, for messages ("flow file").
        may_be_empty: False when a file with nothing in it (or only comments) is a mistake.

    Returns:
        The document as LDict/LList/scalars, or None when the file could not be read or parsed,
        or is empty.
    """
    name = name or str(path)
    text = _read(path, name, kind, diag)
    if text is None:
        return None
    sources.add(name, text)
    try:
        # The reader checks every character as it is made, so making it is inside the try.
        loader = _Loader(text, name)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        value = None if node is None else _Builder(name, diag).build(node)
        # A lone `---` or `~` holds no more than a file of comments.
        if value is None and not may_be_empty:
            diag.error(f"empty {kind}", Mark.whole(name))
        return value
    except _Refused as exc:
        diag.error(exc.message, exc.mark)
    except yaml.MarkedYAMLError as exc:
        mark = _syntax_error_mark(name, text, exc)
        problem = exc.problem or "invalid YAML"
        for said, meant in (
            ("'<stream end>'", "the end of the file"),
            ("end of stream", "end of the file"),
        ):
            problem = problem.replace(said, meant)
        context = f" ({exc.context})" if exc.context else ""
        diag.error(f"YAML syntax error: {problem}{context}", mark)
    except yaml.reader.ReaderError as exc:
        diag.error(
            f"YAML syntax error: the character U+{exc.character:04X} may not be in a YAML file",
            _position(text, exc.position, name),
        )
    except yaml.YAMLError as exc:
        diag.error(f"YAML syntax error: {exc}", Mark(name, 1, 1))
    return None
