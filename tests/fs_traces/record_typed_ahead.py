"""Record the ``typed_ahead`` traces from a real FreeSWITCH, in this folder's format.

A small driver acts as the controller, as the one that recorded the other traces did (see
README.md): it listens on a free port of 127.0.0.1, places ``loopback/18005550100/default
&park`` carrying ``ivr_controller`` (so that the IVR extension of ``ivr freeswitch-conf
install`` connects the call to it), and runs: connect, myevents, linger; answer; set
playback_terminators=none; playback of a 0.5 s tone; then, with no application running, the
caller's phone sends "12" (``uuid_send_dtmf`` on the other loopback leg) 200 ms after the
playback completed, and 1 s after it the driver asks for digits (play_and_get_digits, 2 s
timeout); hangup; after the linger notice and CHANNEL_HANGUP_COMPLETE, 1 s, ``exit``.

Run it where FreeSWITCH runs::

    .venv/bin/python tests/fs_traces/record_typed_ahead.py 127.0.0.1:8021 PASSWORD [RUNS]
"""

from __future__ import annotations

import json
import sys
import time
import uuid as uuidlib
from pathlib import Path
from urllib.parse import unquote

import gevent
from gevent.event import AsyncResult
from gevent.server import StreamServer

from ivr.freeswitch.inbound import InboundClient

HERE = Path(__file__).resolve().parent
SCENARIO = "typed_ahead"
TONE = "tone_stream://%(500,0,440)"
DIGITS = "1 2 1 2000 # silence_stream://250 silence_stream://1 typed ^\\d+$ 1000"
KEYS = "12"
KEYS_AFTER = 0.2
"""Seconds after the playback completed that the caller presses KEYS."""
NEXT_COMMAND_AFTER = 1.0
"""Seconds after the playback completed that the driver sends the next command."""


def _headers(block: str, decode: bool) -> dict:
    found: dict = {}
    for line in block.split("\n"):
        if not line:
            continue
        name, _, value = line.partition(": ")
        value = unquote(value) if decode else value
        if name in found:
            found[name] = (
                [*found[name], value]
                if isinstance(found[name], list)
                else [
                    found[name],
                    value,
                ]
            )
        else:
            found[name] = value
    return found


def frames(data: bytes, chunks: list[tuple[float, int, int]]) -> list[dict]:
    """The messages of ``data``, each with when its last byte arrived and where it lies."""
    out = []
    offset = 0
    while offset < len(data):
        end = data.find(b"\n\n", offset)
        if end < 0:
            break
        head = _headers(data[offset:end].decode(), decode=False)
        length = int(head.get("Content-Length", 0))
        stop = end + 2 + length
        body = data[end + 2 : stop].decode(errors="replace")
        kind = head.get("Content-Type", "")
        record = {
            "i": len(out),
            "t_ms": next(t for t, start, size in chunks if start + size >= stop),
            "offset": offset,
            "length": stop - offset,
            "content_type": kind,
            # The connect reply's channel data is percent-encoded like an event's.
            "headers": _headers(data[offset:end].decode(), decode="Event-Name" in head),
        }
        if kind == "text/event-plain":
            record["body_headers"] = _headers(body.split("\n\n")[0], decode=True)
        elif body:
            record["body"] = body
        out.append(record)
        offset = stop
    return out


class Driver:
    """One recorded connection: what came, what was sent, what the control side did."""

    def __init__(self, client: InboundClient, name: str) -> None:
        self.client = client
        self.name = name
        self.received = bytearray()
        self.chunks: list[tuple[float, int, int]] = []
        self.sent: list[tuple[float, bytes]] = []
        self.side: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self.parsed = 0
        self.events: list[dict] = []
        self.closed_at: float | None = None
        self.done = AsyncResult()
        self.ivr_uuid = self.other_uuid = ""

    def now(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 1)

    def handle(self, sock, _address) -> None:
        self.started = time.monotonic()
        self.sock = sock
        reader = gevent.spawn(self._read)
        try:
            self._script()
        finally:
            reader.join(timeout=10)
            self.done.set(True)

    def _read(self) -> None:
        while data := self.sock.recv(65536):
            self.chunks.append((self.now(), len(self.received), len(data)))
            self.received += data
        self.closed_at = self.now()
        self.side.append((self.closed_at, "socket closed by FreeSWITCH (recv returned EOF)"))

    def send(self, text: str) -> None:
        data = text.encode()
        self.sent.append((self.now(), data))
        self.sock.sendall(data)

    def messages(self) -> list[dict]:
        return frames(bytes(self.received), self.chunks)

    def wait_for(self, test, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            found = self.messages()
            for message in found[seen:]:
                if test(message):
                    return message
            seen = len(found)
            gevent.sleep(0.005)
        raise TimeoutError(f"{self.name}: nothing matched within {timeout}s")

    def command(self, text: str) -> dict:
        mark = len(self.messages())
        self.send(text)
        return self.wait_for(
            lambda m: m["i"] >= mark and m["content_type"] in ("command/reply", "api/response")
        )

    def execute(self, app: str, arg: str = "") -> dict:
        event_uuid = str(uuidlib.uuid4())
        lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app}"]
        if arg:
            lines.append(f"execute-app-arg: {arg}")
        lines.append(f"Event-UUID: {event_uuid}")
        self.command("\n".join(lines) + "\n\n")
        return self.wait_for(
            lambda m: (
                (m.get("body_headers") or {}).get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE"
                and m["body_headers"].get("Application-UUID") == event_uuid
            )
        )

    def _script(self) -> None:
        data = self.command("connect\n\n")
        self.ivr_uuid = data["headers"]["Unique-ID"]
        self.other_uuid = data["headers"].get("variable_other_loopback_leg_uuid", "")
        self.side.append(
            (
                self.now(),
                f"IVR leg uuid {self.ivr_uuid} ({data['headers'].get('Channel-Name')}); "
                f"other loopback leg uuid {self.other_uuid}",
            )
        )
        self.command("myevents\n\n")
        self.command("linger\n\n")
        self.execute("answer")
        self.execute("set", "playback_terminators=none")
        self.execute("playback", TONE)
        completed = time.monotonic()
        gevent.sleep(KEYS_AFTER)
        reply = self.client.api(f"uuid_send_dtmf {self.other_uuid} {KEYS}").strip()
        self.side.append(
            (self.now(), f"control: api uuid_send_dtmf {self.other_uuid} {KEYS}  => {reply!r}")
        )
        gevent.sleep(max(completed + NEXT_COMMAND_AFTER - time.monotonic(), 0))
        self.execute("play_and_get_digits", DIGITS)
        self.execute("hangup", "NORMAL_CLEARING")
        self.wait_for(lambda m: m["headers"].get("Content-Disposition") == "linger")
        self.wait_for(
            lambda m: (m.get("body_headers") or {}).get("Event-Name") == "CHANNEL_HANGUP_COMPLETE"
        )
        gevent.sleep(1.0)
        self.command("exit\n\n")

    def write(self, run: int) -> dict:
        name = f"{SCENARIO}.run{run}"
        messages = self.messages()
        (HERE / f"{name}.recv.bin").write_bytes(bytes(self.received))
        with open(HERE / f"{name}.sent.txt", "wb") as sent:
            for t, data in self.sent:
                sent.write(f">>> SENT t=+{t}ms {len(data)} bytes\n".encode() + data)
        (HERE / f"{name}.jsonl").write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)
        )
        (HERE / f"{name}.recv.chunks.tsv").write_text(
            "t_ms\toffset\tlength\n" + "".join(f"{t}\t{o}\t{n}\n" for t, o, n in self.chunks)
        )
        side = [
            f"# {name}: out-of-band actions (separate inbound ESL control connection); "
            "t = ms since this trace's connection was established"
        ]
        side += [f"t={'+' if t >= 0 else ''}{t}ms  {text}" for t, text in sorted(self.side)]
        (HERE / f"{name}.side.txt").write_text("\n".join(side) + "\n")
        return {
            "name": name,
            "recv_bytes": len(self.received),
            "messages": len(messages),
            "sent_commands": len(self.sent),
            "closed_by_fs_at_ms": self.closed_at,
            "kind": "outbound",
            "ivr_uuid": self.ivr_uuid,
            "other_leg_uuid": self.other_uuid,
            "scenario": SCENARIO,
            "run": run,
        }


def record(client: InboundClient, run: int) -> dict:
    driver = Driver(client, f"{SCENARIO}.run{run}")
    server = StreamServer(("127.0.0.1", 0), driver.handle)
    server.start()
    host, port = server.address
    variables = {
        "origination_caller_id_number": "+15550001111",
        "origination_caller_id_name": "Test Caller",
        "ivr_controller": f"{host}:{port}",
    }
    placed = time.monotonic()
    caller = gevent.spawn(
        client.originate, "loopback/18005550100/default", "&park", variables=variables, timeout=10
    )
    driver.done.get(timeout=30)
    server.stop()
    caller.join(timeout=5)
    driver.side.append(
        (
            round((placed - driver.started) * 1000, 1),
            "control: originate {origination_caller_id_number=+15550001111,"
            "origination_caller_id_name='Test Caller',ivr_controller=" + f"{host}:{port}"
            "}loopback/18005550100/default &park",
        )
    )
    return driver.write(run)


def main() -> None:
    host, _, port = sys.argv[1].rpartition(":")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    client = InboundClient.connect(host, int(port), password=sys.argv[2])
    index_path = HERE / "index.json"
    index = [e for e in json.loads(index_path.read_text()) if e.get("scenario") != SCENARIO]
    for run in range(1, runs + 1):
        index.append(record(client, run))
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    client.close()


if __name__ == "__main__":
    main()
