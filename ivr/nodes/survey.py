"""``survey``: ask one question on the keypad (a 1-5 or 0-10 scale, or yes/no) and keep the answer.

The answer goes into a call variable and into the journal, as notes on the node's visit:
``{"question": "satisfaction", "scale": "1-5", "answer": "4"}`` (notes are text: a number's
digits, or ``yes``/``no``), which is what survey reports count by question, queue, agent and
tenant. A visit without ``answer`` is a caller who gave none: its result is ``fail`` (no valid
key in all the attempts), or none at all when the caller hung up during the question.
"""

from __future__ import annotations

import re

from ivr.flow.fields import Duration, Edge, Number, Obj, PromptField, Text, Variable
from ivr.nodes.base import Node

_NUMERIC_SCALE = re.compile(r"(\d{1,2})-(\d{1,2})")
YES_NO = "yes/no"
HIGHEST = 10
"""The highest number a scale may reach: answers are keyed, one or two keys."""
ONE_KEY = r"[0-9*#]"


def scale_bounds(scale: str) -> tuple[int, int] | None:
    """The lowest and highest answer of a numeric scale (``1-5``), None for yes/no or nonsense."""
    match = _NUMERIC_SCALE.fullmatch(scale)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


class Survey(Node):
    """Asks the question, takes the keyed answer, and re-asks on a wrong key or none.

    A numeric scale's answer is its number: ``1``..``5`` on ``1-5``; on ``0-10`` a ``10`` is
    two keys, ended by ``#`` or by a pause of ``digit_timeout`` (``1`` then silence is 1).
    Yes/no answers are ``yes`` and ``no``, keyed 1 and 2 unless ``keys:`` says otherwise.
    After the last failed attempt the caller goes to ``on_fail``, by default ``next``: a
    survey never traps a caller who does not want to answer.
    """

    type_name = "survey"
    summary = "Ask one survey question on the keypad and keep the answer"
    collects_keys = True
    keeps_typed_ahead = True
    options = {
        "question": Text(
            "The question's id in reports, e.g. satisfaction (also the variable, unless store:)",
            pattern=r"[a-z][a-z0-9_]*",
            pattern_doc="a lowercase id (letters, digits and _)",
            required=True,
        ),
        "prompt": PromptField("The question, with the keys to press", required=True),
        "scale": Text(
            "The answers: 1-5, 0-10 (any LOW-HIGH from 0 to 10), or yes/no",
            pattern=r"\d{1,2}-\d{1,2}|yes/no",
            pattern_doc="a scale such as 1-5 or 0-10, or yes/no",
            required=True,
        ),
        "keys": Obj(
            "The keys of a yes/no question (default yes: 1, no: 2)",
            fields={
                "yes": Text("The key for yes", pattern=ONE_KEY, pattern_doc="one key", default="1"),
                "no": Text("The key for no", pattern=ONE_KEY, pattern_doc="one key", default="2"),
            },
        ),
        "invalid_prompt": PromptField("Played when the key is not an answer"),
        "no_input_prompt": PromptField("Played when no key came in time"),
        "timeout": Duration("Wait for a key after the question", default=5.0, maximum=60),
        "digit_timeout": Duration(
            "Wait for the second key of a two-key answer (10)", default=2.0, maximum=10
        ),
        "attempts": Number("Times the question is asked", minimum=1, maximum=5, default=2),
        "store": Variable("The variable that receives the answer (default: the question id)"),
        "next": Edge("Where to go once the caller answered", label="answered", required=True),
        "on_fail": Edge("Where to go after the last failed attempt (default: next)", label="fail"),
    }

    example = """\
flow: example_survey
start: csat
nodes:
  csat:
    type: survey
    question: satisfaction       # the id reports count answers by
    prompt: "How satisfied were you with our service? Press 1 to 5, 5 is very satisfied."
    scale: 1-5
    invalid_prompt: "Please press a key from 1 to 5."
    attempts: 2
    next: recommend              # on_fail: the same, unless given
  recommend:
    type: survey
    question: recommend
    prompt: "How likely are you to recommend us, from 0 to 10? Press hash after 10."
    scale: 0-10
    next: resolved
  resolved:
    type: survey
    question: resolved
    prompt: "Was your question resolved? Press 1 for yes, 2 for no."
    scale: yes/no
    store: resolved_today
    next: thanks
  thanks:
    type: hangup
    prompt: "Thank you for your answers."
"""

    def diagram_lines(self) -> list[str]:
        return [f"survey {self.opts['question']} ({self.opts['scale']})", *super().diagram_lines()]

    def check(self, project) -> dict:
        opts = dict(self.opts)
        scale = opts["scale"]
        bounds = scale_bounds(scale)
        if scale != YES_NO:
            low, high = bounds
            if not low < high <= HIGHEST:
                project.error(
                    f"scale {scale} must go up from its lowest to its highest answer, "
                    f"at most {HIGHEST} (e.g. 1-5 or 0-10)",
                    self.marks["scale"],
                )
            if opts["keys"] is not None:
                project.error(
                    f"keys: is for a yes/no scale; the answers of {scale} are its numbers' keys",
                    self.marks["keys"],
                )
        else:
            keys = opts["keys"] = opts["keys"] or {"yes": "1", "no": "2"}
            if keys["yes"] == keys["no"]:
                project.error(
                    f"yes and no have the same key {keys['yes']}: give each its own",
                    self.marks["keys"],
                )
        if opts["store"] is None:
            opts["store"] = opts["question"]
            # Later templates may read the answer under the question's id.
            project.flow.variables.add(opts["store"])
        if opts["on_fail"] is None:
            opts["on_fail"] = opts["next"]
            self.edges = {**self.edges, "fail": opts["next"]}
        return opts

    def answers(self) -> dict[str, int | str]:
        """The keys a caller may enter and the answer each one is."""
        if self.opts["scale"] == YES_NO:
            keys = self.opts["keys"]
            return {keys["yes"]: "yes", keys["no"]: "no"}
        low, high = scale_bounds(self.opts["scale"])
        return {str(n): n for n in range(low, high + 1)}

    def run(self, call) -> str:
        question, scale = self.opts["question"], self.opts["scale"]
        answers = self.answers()
        longest = max(len(k) for k in answers)
        call.note("question", question)
        call.note("scale", scale)
        for attempt in range(1, self.opts["attempts"] + 1):
            got = call.collect(
                self.opts["prompt"],
                max_digits=longest,
                timeout=self.opts["timeout"],
                digit_timeout=self.opts["digit_timeout"],
                # '#' ends a short answer on a scale that also has two-key ones (1# is 1).
                terminators="#" if longest > 1 else "",
            )
            if got.digits in answers:
                answer = answers[got.digits]
                call.set_var(self.opts["store"], answer)
                call.note("answer", answer)
                call.log.info("survey %s answered %s", question, answer)
                return "answered"
            if got.digits:
                call.log.info(
                    "survey %s: %r is no answer (attempt %d)", question, got.digits, attempt
                )
                call.say(self.opts["invalid_prompt"])
            else:
                call.log.info("survey %s: no key (attempt %d)", question, attempt)
                call.say(self.opts["no_input_prompt"])
        return "fail"


NODE = Survey
