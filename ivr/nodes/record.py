"""``record``: take a voicemail message from the caller."""

from __future__ import annotations

import os

from ivr.flow.fields import Duration, Edge, Flag, PromptField
from ivr.nodes.base import Node


class Record(Node):
    """Plays a prompt, beeps, records up to ``max``; then ``next``, or the call ends."""

    type_name = "record"
    summary = "Record a voicemail message"
    ends_call = True
    options = {
        "prompt": PromptField("Played before the beep"),
        "max": Duration("Longest message", default=120.0, maximum=3600),
        "beep": Flag("Beep before recording", default=True),
        "next": Edge("Where to go after the message (default: end the call)", label="next"),
    }

    example = """\
flow: example_record
start: message
nodes:
  message:
    type: record
    prompt: "Please leave a message after the beep."
    max: 2m
    next: thanks
  thanks:
    type: hangup
    prompt: "Thank you. We will call you back."
"""

    def run(self, call) -> str | None:
        call.say(self.opts["prompt"])
        path = os.path.join(call.services.recordings_dir, f"{call.info.call_id}.wav")
        result = call.record_message(path, max_seconds=self.opts["max"], beep=self.opts["beep"])
        call.record.voicemail = result.path
        call.log.info("voicemail of %.1fs at %s", result.seconds, result.path)
        if self.opts["next"] is not None:
            return "next"
        call.hangup()
        return None


NODE = Record
