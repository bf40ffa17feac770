"""YAML documents that remember where every value came from, and diagnostics that point there.

Analysts need every mistake reported as ``FILE:LINE:COL`` with the offending line and a caret, so
the loader keeps the position of each key and value. PyYAML's composer gives us the nodes with
their marks; we build plain Python values from them ourselves, which also lets us apply the
scalar rules an analyst expects: only ``true``/``false`` are booleans (YAML 1.1 would turn
``on``/``no`` into booleans, ``09:00`` into a sexagesimal number and ``0123`` into octal).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Mark:
    """A position in a source file, 1-based, as editors show it."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


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
        caret = " " * (self.mark.col - 1) + "^"
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


def _build(node: yaml.Node, name: str, diag: Diagnostics) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.style is None and node.tag != "tag:yaml.org,2002:str":
            return _plain_scalar(node.value)
        return node.value
    if isinstance(node, yaml.SequenceNode):
        out = LList(_build(item, name, diag) for item in node.value)
        out.mark = _mark(name, node.start_mark)
        out.item_marks = [_mark(name, item.start_mark) for item in node.value]
        return out
    assert isinstance(node, yaml.MappingNode)
    out = LDict()
    out.mark = _mark(name, node.start_mark)
    out.key_marks = {}
    out.value_marks = {}
    for key_node, value_node in node.value:
        key_mark = _mark(name, key_node.start_mark)
        if not isinstance(key_node, yaml.ScalarNode):
            diag.error("a key must be a plain word or number, not a list or mapping", key_mark)
            continue
        # Keys keep exactly what the analyst wrote: `1:` is the menu key "1", `on:` is "on".
        key = key_node.value
        if key in out:
            first = out.key_marks[key]
            diag.error(f"duplicate key '{key}' (first defined at line {first.line})", key_mark)
            continue
        out[key] = _build(value_node, name, diag)
        out.key_marks[key] = key_mark
        out.value_marks[key] = _mark(name, value_node.start_mark)
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


def load_yaml(path: Path, diag: Diagnostics, sources: SourceCache, name: str | None = None) -> Any:
    """Read one YAML document, recording syntax errors in ``diag``.

    Args:
        path: the file to read.
        diag: where mistakes are reported.
        sources: remembers the text for quoting lines in messages.
        name: how the file is named in messages (defaults to the path as given).

    Returns:
        The document as LDict/LList/scalars, or None when the file could not be read or parsed.
    """
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diag.error(f"cannot read file: {exc}", Mark(name, 1, 1))
        return None
    sources.add(name, text)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
        return None
    except yaml.YAMLError as exc:
        diag.error(f"YAML syntax error: {exc}", Mark(name, 1, 1))
        return None
    if node is None:
        return None
    return _build(node, name, diag)
