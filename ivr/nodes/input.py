"""``input``: collect a number (account, PIN, order) with length and pattern checks.

With ``confirm`` the entry is read back ("You entered 1 2 3 4. If that is right, press 1...") and
only a caller who presses the confirming key moves on; any other key, or none, enters it again.
"""

from __future__ import annotations

import re
from typing import Any

from ivr.flow.fields import (
    INVALID,
    CheckContext,
    Duration,
    Edge,
    Field,
    Flag,
    Number,
    Obj,
    PromptField,
    Text,
    Variable,
    check_options,
    object_schema,
)
from ivr.flow.prompts import Prompt, SayPart, TextPart
from ivr.flow.source import LDict, Mark
from ivr.nodes.base import Node

CONFIRM_WORDS = {
    "en": ("You entered", "If that is right, press 1. To enter it again, press 2."),
    "ru": ("Вы ввели", "Если верно, нажмите 1. Чтобы ввести заново, нажмите 2."),
    "bg": ("Въведохте", "Ако е вярно, натиснете 1. За да въведете отново, натиснете 2."),
}
"""The default read-back around the entered digits, by language (English for the others)."""

CONFIRM_FIELDS: dict[str, Field] = {
    "prompt": PromptField("The read-back; the entry is in the save_as variable"),
    "yes": Text("The key that confirms", pattern=r"[0-9*#]", pattern_doc="one key", default="1"),
    "timeout": Duration("Wait for the confirming key", default=5.0, maximum=60),
}


class Confirm(Field):
    """``confirm: true`` or ``confirm: {prompt: ..., yes: "1", timeout: 5s}``."""

    fields = CONFIRM_FIELDS

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if value is False:
            return None
        if value is True:
            value = LDict()
            value.mark, value.key_marks, value.value_marks = mark, {}, {}
        if not isinstance(value, LDict):
            return self._wrong(ctx, "true, or a mapping with prompt:, yes:, timeout:", value, mark)
        opts = check_options(value, CONFIRM_FIELDS, ctx)
        return INVALID if INVALID in opts.values() else opts

    def type_doc(self) -> str:
        return "true, or a mapping of prompt, yes, timeout"

    def schema(self) -> dict:
        return {"anyOf": [{"type": "boolean"}, object_schema(CONFIRM_FIELDS)]}


def read_back(variable: str) -> Prompt:
    """The default confirmation prompt: the entry said digit by digit, in the call's language."""
    value = "{{ " + variable + " }}"
    variants = {
        language: (
            TextPart(template=before),
            SayPart(kind="digits", value=value),
            TextPart(template=after),
        )
        for language, (before, after) in CONFIRM_WORDS.items()
    }
    return Prompt({**variants, "*": variants["en"]})


class Input(Node):
    """Collects digits into a variable; wrong length or pattern is retried, then ``on_fail``."""

    type_name = "input"
    summary = "Collect digits (an account number, a PIN) into a variable"
    collects_keys = True
    keeps_typed_ahead = True
    options = {
        "prompt": PromptField("What to enter", required=True),
        "retry_prompt": PromptField("Played instead of the prompt on later attempts"),
        "invalid_prompt": PromptField("Played when the entry is too short, too long or wrong"),
        "no_input_prompt": PromptField("Played when nothing was entered in time"),
        "digits": Obj(
            "How many digits",
            fields={
                "min": Number("Fewest digits accepted", minimum=1, maximum=64, default=1),
                "max": Number("Most digits accepted", minimum=1, maximum=64, default=32),
            },
        ),
        "terminator": Text(
            "Key that ends the entry",
            pattern=r"[#*]?",
            default="#",
            pattern_doc="# or * (or empty for none)",
        ),
        "pattern": Text("A regular expression the whole entry must match, e.g. '4[0-9]+'"),
        "timeout": Duration("Wait for the first key after the prompt", default=5.0, maximum=120),
        "digit_timeout": Duration("Wait between keys", default=3.0, maximum=60),
        "attempts": Number("Tries before giving up", minimum=1, maximum=10, default=3),
        "save_as": Variable("The variable that receives the digits", required=True),
        "sensitive": Flag(
            "Mask the entry in the journal and logs, and silence the call's recording while it is "
            "typed (PINs, card numbers)",
            default=False,
        ),
        "confirm": Confirm("Read the entry back and have the caller confirm it with a key"),
        "next": Edge("Where to go with a valid entry", label="next", required=True),
        "on_fail": Edge("Where to go after the last failed attempt", label="fail", required=True),
    }

    example = """\
flow: example_input
start: ask_order
nodes:
  ask_order:
    type: input
    prompt: "Enter your six digit order number, then press hash."
    invalid_prompt: "An order number has six digits."
    digits: {min: 6, max: 6}
    terminator: "#"
    save_as: order_id
    confirm: true                # "You entered 1 0 0 2 0 0. If that is right press 1..."
    next: thanks
    on_fail: operator
  thanks:
    type: hangup
    prompt: ["Thank you. We will send the status of order", {say: digits, value: "{{ order_id }}"}]
  operator:
    type: queue
    queue: shop
"""

    def check(self, project) -> dict:
        opts = dict(self.opts)
        digits = opts["digits"] = opts["digits"] or {"min": 1, "max": 32}
        if digits["min"] > digits["max"]:
            project.error(
                f"digits min {digits['min']} is more than max {digits['max']}", self.marks["digits"]
            )
        if opts["pattern"] is not None:
            try:
                opts["pattern"] = re.compile(opts["pattern"])
            except re.error as exc:
                project.error(
                    f"pattern is not a valid regular expression: {exc}", self.marks["pattern"]
                )
        confirm = opts["confirm"]
        if confirm is not None and opts["sensitive"]:
            project.error(
                "confirm would read a sensitive entry (a PIN) aloud: remove one of them",
                self.marks["confirm"],
            )
        elif confirm is not None and confirm["prompt"] is None:
            opts["confirm"] = {**confirm, "prompt": read_back(opts["save_as"])}
        return opts

    def run(self, call) -> str:
        low, high = self.opts["digits"]["min"], self.opts["digits"]["max"]
        pattern = self.opts["pattern"]
        for attempt in range(1, self.opts["attempts"] + 1):
            prompt = self.opts["prompt"]
            if attempt > 1 and self.opts["retry_prompt"] is not None:
                prompt = self.opts["retry_prompt"]
            got = call.collect(
                prompt,
                max_digits=high,
                timeout=self.opts["timeout"],
                digit_timeout=self.opts["digit_timeout"],
                terminators=self.opts["terminator"],
                sensitive=self.opts["sensitive"],
            )
            entry = got.digits
            if not entry:
                call.log.info("no entry (attempt %d)", attempt)
                call.say(self.opts["no_input_prompt"])
                continue
            if low <= len(entry) <= high and (pattern is None or pattern.fullmatch(entry)):
                # The read-back prompt reads the entry from the variable; an entry the caller
                # does not confirm gives the variable its earlier value back.
                earlier = call.vars.get(self.opts["save_as"])
                call.set_var(self.opts["save_as"], entry)
                if self.opts["confirm"] is not None and not self._confirmed(call):
                    call.log.info("entry not confirmed (attempt %d)", attempt)
                    call.set_var(self.opts["save_as"], earlier)
                    continue
                call.note_input(self.opts["save_as"], entry, self.opts["sensitive"])
                return "next"
            call.log.info("invalid entry of %d digits (attempt %d)", len(entry), attempt)
            call.say(self.opts["invalid_prompt"])
        return "fail"

    def _confirmed(self, call) -> bool:
        confirm = self.opts["confirm"]
        got = call.collect(
            confirm["prompt"],
            max_digits=1,
            timeout=confirm["timeout"],
            digit_timeout=confirm["timeout"],
            terminators="",
        )
        return got.digits == confirm["yes"]


NODE = Input
