"""``menu``: offer choices on the keypad, with retries, and route by the key pressed."""

from __future__ import annotations

from ivr.flow.fields import Duration, Edge, EdgeMap, Number, PromptField
from ivr.nodes.base import Node


class Menu(Node):
    """Plays the prompt (a key stops it), waits for a choice, and goes where the choice leads.

    No key within ``timeout`` or a key that is not a choice counts as a failed attempt; after
    ``attempts`` of them the caller goes to ``on_fail`` (usually an operator), never a dead end.
    """

    type_name = "menu"
    summary = "Offer keypad choices and route by the key pressed"
    collects_keys = True
    keeps_typed_ahead = True
    options = {
        "prompt": PromptField("The menu the caller hears", required=True),
        "choices": EdgeMap(
            "Keys and the node each leads to, e.g. {1: balance, 0: operator}",
            key_pattern=r"[0-9*#]{1,4}",
            key_doc="a key or keys (0-9, * and #)",
            required=True,
        ),
        "retry_prompt": PromptField("Played instead of the prompt on later attempts"),
        "invalid_prompt": PromptField("Played when the key is not a choice"),
        "no_input_prompt": PromptField("Played when no key came in time"),
        "timeout": Duration("Wait for a key after the prompt", default=5.0, maximum=120),
        "digit_timeout": Duration(
            "Wait between keys of a multi-key choice", default=2.0, maximum=30
        ),
        "attempts": Number("Tries before giving up", minimum=1, maximum=10, default=3),
        "on_fail": Edge(
            "Where callers go after the last failed attempt", label="fail", required=True
        ),
    }

    example = """\
flow: example_menu
start: main_menu
nodes:
  main_menu:
    type: menu
    prompt: "For opening hours press 1. For an operator press 0."
    retry_prompt: "Press 1 for opening hours, or 0 for an operator."
    invalid_prompt: "Sorry, that is not an option."
    choices: {1: hours, 0: operator}
    timeout: 5s
    attempts: 3
    on_fail: operator            # no key, or a wrong one, three times
  hours:
    type: play
    prompt: "We are open weekdays from 9 to 6."
    goal: hours_told
    next: main_menu
  operator:
    type: queue
    queue: retail
"""

    def check(self, project) -> None:
        if len(self.opts["choices"]) == 1:
            project.warning(
                f"menu '{self.name}' has only one choice; a play node may suit better",
                self.marks["choices"],
            )

    def run(self, call) -> str:
        choices = self.opts["choices"]
        longest = max(len(k) for k in choices)
        # '#' ends a multi-key choice unless it is itself a choice.
        terminators = "" if longest == 1 or "#" in "".join(choices) else "#"
        for attempt in range(1, self.opts["attempts"] + 1):
            prompt = self.opts["prompt"]
            if attempt > 1 and self.opts["retry_prompt"] is not None:
                prompt = self.opts["retry_prompt"]
            got = call.collect(
                prompt,
                max_digits=longest,
                timeout=self.opts["timeout"],
                digit_timeout=self.opts["digit_timeout"],
                terminators=terminators,
            )
            if got.digits in choices:
                call.note_input("choice", got.digits, sensitive=False)
                return got.digits
            if got.digits:
                call.log.info("invalid choice %r (attempt %d)", got.digits, attempt)
                call.say(self.opts["invalid_prompt"])
            else:
                call.log.info("no choice (attempt %d)", attempt)
                call.say(self.opts["no_input_prompt"])
        return "fail"


NODE = Menu
