"""``input``: collect a number (account, PIN, order) with length and pattern checks."""

from __future__ import annotations

import re

from ivr.flow.fields import Duration, Edge, Flag, Number, Obj, PromptField, Text, Variable
from ivr.nodes.base import Node


class Input(Node):
    """Collects digits into a variable; wrong length or pattern is retried, then ``on_fail``."""

    type_name = "input"
    summary = "Collect digits (an account number, a PIN) into a variable"
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
        "sensitive": Flag("Mask the entry in the journal and logs (PINs)", default=False),
        "next": Edge("Where to go with a valid entry", label="next", required=True),
        "on_fail": Edge("Where to go after the last failed attempt", label="fail", required=True),
    }

    def check(self, project) -> None:
        digits = self.opts["digits"] or {"min": 1, "max": 32}
        self.opts["digits"] = digits
        if digits["min"] > digits["max"]:
            project.error(
                f"digits min {digits['min']} is more than max {digits['max']}", self.marks["digits"]
            )
        if self.opts["pattern"] is not None:
            try:
                self.opts["pattern"] = re.compile(self.opts["pattern"])
            except re.error as exc:
                project.error(
                    f"pattern is not a valid regular expression: {exc}", self.marks["pattern"]
                )

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
            )
            entry = got.digits
            if not entry:
                call.log.info("no entry (attempt %d)", attempt)
                call.say(self.opts["no_input_prompt"])
                continue
            if low <= len(entry) <= high and (pattern is None or pattern.fullmatch(entry)):
                call.set_var(self.opts["save_as"], entry)
                call.note_input(self.opts["save_as"], entry, self.opts["sensitive"])
                return "next"
            call.log.info("invalid entry of %d digits (attempt %d)", len(entry), attempt)
            call.say(self.opts["invalid_prompt"])
        return "fail"


NODE = Input
