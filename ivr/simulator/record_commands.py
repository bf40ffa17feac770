"""Session recording on a simulated channel, as FreeSWITCH 1.11 starts, masks and stops it.

``uuid_record <uuid> start|stop|mask|unmask|pause|resume <path> [<limit>] [{vars}]`` (the API,
mod_commands' ``session_record_function``) and the applications ``record_session <path>
[+<limit>] [{vars}]``, ``stop_record_session <path>``, ``record_session_mask``,
``record_session_unmask``, ``record_session_pause`` and ``record_session_resume`` (mod_dptools)
do what ``switch_ivr_record_session_event`` and the media bug's callback do:

* the recording variables (``{RECORD_STEREO=true}``) come first, then the channel's own
  (``set RECORD_STEREO=true`` before the start); stereo puts what the caller says on the left
  and what they hear on the right, ``RECORD_STEREO_SWAP`` the other way round;
* ``RECORD_READ_ONLY`` / ``RECORD_WRITE_ONLY`` record only what the caller says / hears;
* ``RECORD_ANSWER_REQ`` / ``RECORD_BRIDGE_REQ`` write only while the call is answered / the
  caller is bridged (the media bug gets no frames otherwise: the file does not grow);
* a relative path is under ``sound_prefix`` (the simulator's sounds folder when unset); the
  folder is created with its parents; the recording is known by that full path, so masking or
  stopping names it as the start made it;
* a path already being recorded starts nothing and succeeds; a start on a line that is down,
  a folder that cannot be made or a file that cannot be written (or is no ``.wav``: the
  simulator writes WAV only) fails with ``record_completion_cause=uri-failure``;
* RECORD_START fires as the recording begins (on the outbound socket just after the API's
  reply, as trace call_recording shows); RECORD_STOP as it ends (stopped, or when the
  channel hangs up, before CHANNEL_HANGUP_COMPLETE), after ``record_samples``,
  ``record_seconds``, ``record_ms``, ``record_file_size`` and ``record_completion_cause`` are
  set; both carry ``Record-File-Path``. A recording that holds no sample is deleted
  (``RECORD_DISCARDED``). ``myevents`` does not subscribe to them: a controller asks with
  ``event plain RECORD_START RECORD_STOP``.

A ``limit`` (whole seconds; 0: none) stops the recording that long after its start, as the
media bug's stop time does (``record_completion_cause=success-maxtime``). Only the call's own
channel can be named: an agent's leg is no channel of the simulator, so ``uuid_record`` with
its uuid answers ``-ERR Cannot locate session!``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ivr.simulator.channel import SimulatedChannel, is_true
from ivr.simulator.parsing import atoi, separate_string

__all__ = [
    "RECORD_APPLICATIONS",
    "record_session",
    "stop_record_session",
    "uuid_record",
]

USAGE = "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
"""``uuid_record``'s reply to a command it cannot read (SESS_REC_SYNTAX)."""
_REPLIES = {
    "start": "-ERR Cannot record session!\n",
    "stop": "-ERR Cannot stop record session!\n",
    "pause": "-ERR Cannot pause recording session!\n",
    "resume": "-ERR Cannot resume recording session!\n",
    "mask": "-ERR Cannot mask recording session!\n",
    "unmask": "-ERR Cannot unmask recording session!\n",
}
"""``uuid_record``'s reply when the action fails; success is ``+OK Success``."""


def _recording_variables(text: str) -> dict[str, str]:
    """``{name=value,name=value}`` as ``switch_event_create_brackets`` reads it."""
    text = text.strip()
    if not text.startswith("{") or "}" not in text:
        return {}
    pairs = (item.partition("=") for item in text[1 : text.index("}")].split(","))
    return {name.strip(): value for name, _, value in pairs if name.strip()}


def _variable(channel: SimulatedChannel, variables: dict[str, str], name: str) -> str | None:
    """``get_recording_var``: the recording's own variable, else the channel's."""
    return variables[name] if name in variables else channel.variables.get(name)


def _full_path(channel: SimulatedChannel, variables: dict[str, str], path: str) -> Path:
    if Path(path).is_absolute():
        return Path(path)
    prefix = _variable(channel, variables, "sound_prefix")
    return (Path(prefix) if prefix else channel.settings.sounds_dir) / path


def start_recording(
    channel: SimulatedChannel, path: str, limit: int, variables: dict[str, str]
) -> bool:
    """Start recording the channel to ``path`` for ``limit`` seconds (0: no limit).

    Returns False where FreeSWITCH fails.
    """
    if not channel.ready:
        return False
    channel.ensure_media()
    full = _full_path(channel, variables, path)
    if channel.recorder.recording(str(full)):
        return True
    swap = is_true(_variable(channel, variables, "RECORD_STEREO_SWAP"))
    stereo = swap or is_true(_variable(channel, variables, "RECORD_STEREO"))
    try:
        if full.suffix.lower() != ".wav":
            raise OSError(f"the simulator writes no {full.suffix or 'extension-less'} file")
        full.parent.mkdir(parents=True, exist_ok=True)
        channel.recorder.start(
            full,
            channel.now(),
            stereo=stereo,
            swap=swap,
            needs_answer=is_true(_variable(channel, variables, "RECORD_ANSWER_REQ")),
            needs_bridge=is_true(_variable(channel, variables, "RECORD_BRIDGE_REQ")),
            limit=float(limit) if limit > 0 else None,
            read_only=is_true(_variable(channel, variables, "RECORD_READ_ONLY")),
            write_only=is_true(_variable(channel, variables, "RECORD_WRITE_ONLY")),
        )
    except OSError as error:
        channel.log("system", f"cannot record {full}: {error}")
        channel.variables.set("record_completion_cause", "uri-failure")
        return False
    channel.log("ivr", f"records the call to {full}" + (" (stereo)" if stereo else ""))
    channel.fire(
        "RECORD_START",
        extra=[
            ("Record-File-Path", str(full)),
            *((f"Recording-Variable-{name}", value) for name, value in variables.items()),
        ],
    )
    return True


def stop_recording(channel: SimulatedChannel, path: str) -> bool:
    """Stop the recording ``path`` (``all``: every one); False when there is none."""
    # Stopped while the call is up, FreeSWITCH calls it "success-maxtime".
    paths = channel.recorder.paths if path.lower() == "all" else [path]
    stopped = [channel.stop_recording(one, "success-maxtime") for one in paths]
    return any(stopped)


def uuid_record(channel: SimulatedChannel, arg: str) -> str:
    """The API ``uuid_record``: its reply, newline included."""
    argv = separate_string(arg, " ", 5) if arg else []
    if len(argv) < 3 or not all(argv[:3]):
        return USAGE
    uuid, action, path = argv[0], argv[1].lower(), argv[2]
    if uuid != channel.uuid:
        return "-ERR Cannot locate session!\n"
    recorder, now = channel.recorder, channel.now()
    if action == "start":
        limit = atoi(argv[3]) if len(argv) > 3 else 0
        variables = _recording_variables(argv[4]) if len(argv) > 4 else {}
        done = start_recording(channel, path, limit, variables)
    elif action == "stop":
        done = stop_recording(channel, path)
    elif action in ("mask", "unmask"):
        done = recorder.mask(path, now, action == "mask")
    elif action in ("pause", "resume"):
        done = recorder.pause(path, now, action == "pause")
    else:
        return USAGE
    return "+OK Success\n" if done else _REPLIES[action]


def _session_arguments(arg: str) -> tuple[str, int, dict[str, str]]:
    """``<path> [+<limit>] [{vars}]``: the path, the limit and the recording variables."""
    argv = separate_string(arg, " ", 5)
    rest = argv[1:]
    limit = 0
    if rest and rest[0].startswith("+"):
        limit = atoi(rest[0][1:])
        rest = rest[1:]
    return argv[0], limit, _recording_variables(rest[0] if rest else "")


def record_session(channel: SimulatedChannel, arg: str) -> None:
    """``record_session <path> [+<limit>] [{vars}]``: as ``uuid_record start``."""
    if arg:
        start_recording(channel, *_session_arguments(arg))


def stop_record_session(channel: SimulatedChannel, arg: str) -> None:
    """``stop_record_session <path>`` (``all``: every recording)."""
    if arg:
        stop_recording(channel, arg)


def _masking(masked: bool) -> Callable[[SimulatedChannel, str], None]:
    def run(channel: SimulatedChannel, arg: str) -> None:
        channel.recorder.mask(arg, channel.now(), masked)

    return run


def _pausing(paused: bool) -> Callable[[SimulatedChannel, str], None]:
    def run(channel: SimulatedChannel, arg: str) -> None:
        channel.recorder.pause(arg, channel.now(), paused)

    return run


RECORD_APPLICATIONS: dict[str, Callable[[SimulatedChannel, str], None]] = {
    "record_session": record_session,
    "stop_record_session": stop_record_session,
    "record_session_mask": _masking(True),
    "record_session_unmask": _masking(False),
    "record_session_pause": _pausing(True),
    "record_session_resume": _pausing(False),
}
"""mod_dptools' recording applications by name."""
