"""Record the ``call_recording`` traces from a real FreeSWITCH, in this folder's format.

The driver of ``record_typed_ahead.py`` (same call set-up, same files) runs this script:
connect, myevents, ``event plain RECORD_START RECORD_STOP`` (myevents has neither), linger;
answer; set RECORD_STEREO=true; ``api uuid_record <uuid> start <first>``; playback of a 1 s
tone; ``mask <first>``; playback of a 1 s tone; ``unmask <first>``; ``stop <first>``; ``mask
<first>`` again (no longer recorded); ``start <second>``; ``record_session <third>``; playback
of a 0.5 s tone; hangup (the hang-up stops the second and third); after the linger notice and
CHANNEL_HANGUP_COMPLETE, ``exit``. The recordings go to a folder of /tmp that
FreeSWITCH's user can write.

Run it where FreeSWITCH runs::

    .venv/bin/python tests/fs_traces/record_call_recording.py 127.0.0.1:8021 PASSWORD [RUNS]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import record_typed_ahead
from record_typed_ahead import HERE, Driver

from ivr.freeswitch.inbound import InboundClient

SCENARIO = "call_recording"
FOLDER = Path("/tmp/fs-trace-call-recording")
TONE = "tone_stream://%(1000,0,440)"
SHORT_TONE = "tone_stream://%(500,0,440)"


class RecordingDriver(Driver):
    """The typed_ahead driver with this scenario's commands."""

    def api(self, command: str) -> str:
        return self.command(f"api {command}\n\n").get("body", "")

    def _script(self) -> None:
        data = self.command("connect\n\n")
        self.ivr_uuid = uuid = data["headers"]["Unique-ID"]
        self.other_uuid = data["headers"].get("variable_other_loopback_leg_uuid", "")
        self.side.append((self.now(), f"IVR leg uuid {uuid}; other leg uuid {self.other_uuid}"))
        self.command("myevents\n\n")
        self.command("event plain RECORD_START RECORD_STOP\n\n")
        self.command("linger\n\n")
        run = self.name.rpartition(".")[2]
        first, second, third = (FOLDER / f"{run}-{n}.wav" for n in ("first", "second", "third"))
        self.execute("answer")
        self.execute("set", "RECORD_STEREO=true")
        self.api(f"uuid_record {uuid} start {first}")
        self.execute("playback", TONE)
        self.api(f"uuid_record {uuid} mask {first}")
        self.execute("playback", TONE)
        self.api(f"uuid_record {uuid} unmask {first}")
        self.api(f"uuid_record {uuid} stop {first}")
        self.api(f"uuid_record {uuid} mask {first}")
        self.api(f"uuid_record {uuid} start {second}")
        self.execute("record_session", str(third))
        self.execute("playback", SHORT_TONE)
        self.execute("hangup", "NORMAL_CLEARING")
        self.wait_for(lambda m: m["headers"].get("Content-Disposition") == "linger")
        self.wait_for(
            lambda m: (m.get("body_headers") or {}).get("Event-Name") == "CHANNEL_HANGUP_COMPLETE"
        )
        self.command("exit\n\n")


def main() -> None:
    host, _, port = sys.argv[1].rpartition(":")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    FOLDER.mkdir(exist_ok=True)
    FOLDER.chmod(0o777)  # FreeSWITCH runs as its own user
    # The typed_ahead recorder names its files and builds its driver from these two.
    record_typed_ahead.SCENARIO = SCENARIO
    record_typed_ahead.Driver = RecordingDriver
    client = InboundClient.connect(host, int(port), password=sys.argv[2])
    index_path = HERE / "index.json"
    index = [e for e in json.loads(index_path.read_text()) if e.get("scenario") != SCENARIO]
    for run in range(1, runs + 1):
        index.append(record_typed_ahead.record(client, run))
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    client.close()


if __name__ == "__main__":
    main()
