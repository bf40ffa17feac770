"""``language``: switch the call's language (and voice) for every later prompt."""

from __future__ import annotations

from ivr.flow.fields import Edge, Text
from ivr.flow.prompts import LANGUAGE_CODE
from ivr.nodes.base import Node


class Language(Node):
    """Sets the language later prompts, voices and say-as values use."""

    type_name = "language"
    summary = "Switch the call's language"
    needs_answer = False
    keeps_typed_ahead = True  # it plays nothing: keys typed ahead are for the node after it
    options = {
        "language": Text(
            "The language code, e.g. ru",
            required=True,
            pattern=LANGUAGE_CODE.pattern,
            pattern_doc="a language code like en",
        ),
        "voice": Text("TTS voice for this language (default: the engine's voice for it)"),
        "next": Edge("The next node", label="next", required=True),
    }

    example = """\
flow: example_language
language: en
languages: [en, ru]
start: choose
nodes:
  choose:
    type: menu
    prompt:
      - {text: "For English press 1.", language: en}
      - {text: "Для русского нажмите 2.", language: ru}
    choices: {1: goodbye, 2: russian}
    on_fail: goodbye
  russian:
    type: language
    language: ru
    next: goodbye
  goodbye:
    type: hangup
    prompt: {en: "Goodbye.", ru: "До свидания."}
"""

    def diagram_lines(self) -> list[str]:
        return [self.opts["language"]]

    def language_switches(self) -> list[tuple[str, str | None]]:
        return [(self.opts["language"], self.opts["voice"])]

    def check(self, project) -> None:
        if self.opts["language"] not in project.flow.languages:
            project.error(
                f"language '{self.opts['language']}' is not offered by this flow (languages: "
                f"{', '.join(project.flow.languages)})",
                self.marks["language"],
            )

    def run(self, call) -> str:
        call.set_language(self.opts["language"], self.opts["voice"])
        return "next"


NODE = Language
