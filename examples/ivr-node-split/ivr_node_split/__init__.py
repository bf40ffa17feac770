"""``split``: send a fixed share of callers down path ``a`` and the rest down ``b``.

Contact centers test a new menu or prompt on some of their callers before switching everyone.
The choice is made from a hash of the caller's number (or any template), so a caller who calls
again takes the same path, and the split is the same on every controller.
"""

from __future__ import annotations

import hashlib

from ivr.flow.fields import Edge, Number, Template
from ivr.nodes.base import Node


class Split(Node):
    """Sends ``percent`` of callers to ``a`` and the others to ``b``, stable per caller."""

    type_name = "split"
    summary = "Send a share of callers down another path (A/B tests)"
    needs_answer = False
    options = {
        "percent": Number(
            "Share of callers who go to a, 0-100", minimum=0, maximum=100, required=True
        ),
        "by": Template(
            "What identifies a caller (default: the caller's number)", default="{{ caller }}"
        ),
        "a": Edge("The path for the share", label="a", required=True),
        "b": Edge("The path for everyone else", label="b", required=True),
    }

    def run(self, call) -> str:
        identity = f"{self.flow_id}.{self.name}:{call.render(self.opts['by'])}"
        bucket = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:4], "big") % 100
        chosen = "a" if bucket < self.opts["percent"] else "b"
        call.log.info("split: bucket %d -> %s", bucket, chosen)
        return chosen
