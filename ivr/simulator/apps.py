"""The dialplan applications of the simulated FreeSWITCH (mod_dptools' semantics).

Each application reads its argument the way FreeSWITCH does and leaves its results where
FreeSWITCH leaves them: channel variables (``playback_terminator_used``, ``read_result``,
``<var>``/``<var>_invalid``, ``record_seconds``) and ``current_application_response``, which
becomes the EXECUTE_COMPLETE's ``Application-Response``. ``play_file`` and ``read_digits``
follow ``switch_ivr_play_file`` and ``switch_ivr_read`` step by step, since their quirks (the
prompt stopped by the first key, a terminator kept stale after a timeout, a hold-music timeout
reported as ``PLAYBACK ERROR``) are what a controller must cope with.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ivr.simulator.bridge import bridge
from ivr.simulator.caller import ALL_KEYS
from ivr.simulator.causes import cause_name
from ivr.simulator.channel import EPSILON, Application, SimulatedChannel, is_true
from ivr.simulator.media import Piece
from ivr.simulator.parsing import atoi, separate_string, split_name_value
from ivr.simulator.record_commands import RECORD_APPLICATIONS
from ivr.simulator.recording import caller_voice, sound_of

__all__ = ["APPLICATIONS"]

_PLAYBACK_RESPONSES = {
    "success": "FILE PLAYED",
    "break": "FILE PLAYED",
    "notfound": "FILE NOT FOUND",
}
_DIGIT_BUFFER = 128
"""Size of FreeSWITCH's digit buffer in play_and_get_digits."""
_SAMPLES_PER_SECOND = 8000


def play_file(channel: SimulatedChannel, target: str, mode: str) -> tuple[str, str]:
    """Play ``target`` as ``switch_ivr_play_file`` does.

    Args:
        channel: the channel.
        target: file, ``file_string://...`` or stream.
        mode: how keys are handled: ``terminators`` (playback: a key in
            ``playback_terminators`` stops it), ``first_key`` (a prompt of play_and_get_digits:
            any key stops it and is returned) or ``deaf`` (keys stay queued).

    Returns:
        The status (``success``, ``break``, ``notfound``, ``timeout`` or ``false`` when the line
        went down) and the key that stopped a ``first_key`` prompt.
    """
    if not target or channel.hangup_cause is not None:
        return "false", ""
    timeout = atoi(channel.variables.get("playback_timeout_sec"))
    limit = float(timeout) if timeout > 1 else None
    as_success = is_true(channel.variables.get("playback_timeout_as_success"))
    pieces = channel.pieces(target)
    if not pieces:
        channel.log("system", f"cannot play {target}: file not found")
        return "notfound", ""
    status, key, played = "success", "", 0.0
    for piece in pieces:
        if channel.hangup_point():
            status = "false"
            break
        channel.log("ivr", piece.describe())
        if piece.kind == "file":
            channel.caller.heard(piece.text)
        channel.recorder.hear(channel.now(), sound_of(piece))
        status, key, spent = _play_piece(channel, piece, mode, limit, played, as_success)
        channel.recorder.hear(channel.now(), None)
        played += spent
        if status != "success":
            break
    samples = round(played * _SAMPLES_PER_SECOND)
    channel.variables.set("playback_last_offset_pos", str(samples))
    channel.variables.set("playback_seconds", str(int(played)))
    channel.variables.set("playback_ms", str(int(played * 1000)))
    channel.variables.set("playback_samples", str(samples))
    return status, key


def _play_piece(
    channel: SimulatedChannel,
    piece: Piece,
    mode: str,
    limit: float | None,
    played: float,
    as_success: bool,
) -> tuple[str, str, float]:
    """One piece of a playback; returns status, stopping key and the seconds it played."""
    started = channel.now()
    spent = 0.0
    while True:
        if not channel.ready:
            return "false", "", spent
        if channel.take_break():
            return "break", "", spent
        if mode != "deaf" and channel.has_dtmf():
            key = channel.dequeue_dtmf()
            if mode == "first_key":
                return "break", key, spent
            if key in channel.terminators():
                channel.variables.set("playback_terminator_used", key)
                return "break", "", spent
            channel.log("ivr", f"ignores {key} (not a key for this playback)")
            continue
        if limit is not None and played + spent >= limit - EPSILON:
            channel.log("ivr", f"stops the playback after {limit:g}s (playback_timeout_sec)")
            return ("success" if as_success else "timeout"), "", spent
        left = None if piece.seconds is None else piece.seconds - spent
        if left is not None and left <= EPSILON:
            return "success", "", spent
        if limit is not None:
            left = limit - played - spent if left is None else min(left, limit - played - spent)
        keys = {"terminators": channel.terminators(), "first_key": ALL_KEYS}.get(mode, "")
        if keys and not piece.is_prompt:
            # Hold music or silence that some key stops hears every key; FreeSWITCH drops the
            # others (as memory.py's wait ignores them).
            keys = ALL_KEYS
        prompt_left = piece.seconds - spent if piece.is_prompt else None
        listen = channel.listen_for(keys, prompt_left=prompt_left, since=started)
        spent += channel.pause(left, listen, keys_stop=mode != "deaf")


def collect_digits(
    channel: SimulatedChannel,
    digits: str,
    max_digits: int,
    terminators: str,
    first_timeout: float,
    digit_timeout: float,
) -> tuple[str, str, str]:
    """Wait for keys as ``switch_ivr_collect_digits_count`` does.

    Returns:
        The status (``success``, ``timeout``, ``false``), the digits and the terminator used.
    """
    if len(digits) >= _DIGIT_BUFFER or len(digits) >= max_digits:
        return "false", digits, ""
    for i, key in enumerate(digits):
        if terminators and key in terminators:
            return "success", digits[:i], key
    timeout = first_timeout if first_timeout else digit_timeout
    if not digit_timeout:
        digit_timeout = first_timeout
    waiting_from = started = channel.now()
    while channel.ready:
        if timeout and channel.now() - waiting_from >= timeout - EPSILON:
            return "timeout", digits, ""
        if channel.has_dtmf():
            if timeout:
                timeout = digit_timeout
                waiting_from = channel.now()
            for _ in range(max_digits + 1):
                if not channel.has_dtmf():
                    break
                key = channel.dequeue_dtmf()
                if terminators and key in terminators:
                    return "success", digits, key
                digits += key
                if len(digits) >= _DIGIT_BUFFER or len(digits) >= max_digits:
                    channel.caller_finishes_entry(terminators)
                    return "success", digits, ""
            continue
        left = waiting_from + timeout - channel.now() if timeout else None
        listen = channel.listen_for(ALL_KEYS, prompt_left=None, since=started)
        # Waiting for keys is no media: uuid_break does not end it.
        channel.pause(left, listen, keys_stop=True, breaks=False)
    return "false", digits, ""


def read_digits(
    channel: SimulatedChannel,
    min_digits: int,
    max_digits: int,
    prompt: str | None,
    variable: str | None,
    timeout: float,
    terminators: str,
    digit_timeout: float,
) -> tuple[str, str]:
    """One attempt of play_and_get_digits (``switch_ivr_read``); returns status and digits."""
    term_required = terminators.startswith("=")
    if not digit_timeout:
        digit_timeout = timeout
    max_digits = max(max_digits, min_digits)
    channel.variables.set("read_result", None)
    if variable:
        channel.variables.set(variable, None)
    if min_digits > _DIGIT_BUFFER or max_digits > _DIGIT_BUFFER:
        return "false", ""
    digits, status, used = "", "success", ""
    if prompt and prompt.lower() != "silence":
        status, digits = play_file(channel, prompt, "first_key")
        if status == "break":
            status = "success"
    if status == "success":
        if digits and len(digits) >= max_digits:
            channel.caller_finishes_entry(terminators)
        if (min_digits and len(digits) < min_digits) or len(digits) < max_digits:
            status, digits, used = collect_digits(
                channel,
                digits,
                max_digits,
                terminators,
                digit_timeout if digits else timeout,
                digit_timeout,
            )
        if used:
            channel.variables.set("read_terminator_used", used)
            position = terminators.find(used)
            if position >= 1 and terminators[position - 1] in "+x":
                digits += used
                if terminators[position - 1] == "x":
                    status = "restart"
        elif term_required:
            status = "too_small"
        if min_digits and len(digits) < min_digits:
            status = "too_small"
        result = {"success": "success", "timeout": "timeout"}.get(status, "failure")
        channel.variables.set("read_result", result)
    if status != "restart" and max_digits == 1 and len(digits) == 1 and digits in terminators:
        digits = ""
    if variable and digits:
        channel.variables.set(variable, digits)
    return status, digits


def play_and_get_digits(channel: SimulatedChannel, arg: str) -> None:
    """Collect digits with retries, as ``switch_play_and_get_digits``.

    The argument: ``<min> <max> <tries> <timeout_ms> <terminators> <file> <invalid_file>
    <var_name> <regexp> [<digit_timeout_ms>] [<transfer_on_failure>]``.
    """
    if not arg:
        return
    argv = separate_string(arg, " ", 11) + [""] * 11
    min_digits = max(atoi(argv[0]), 0)
    max_digits = max(atoi(argv[1]), min_digits)
    tries = atoi(argv[2])
    timeout = max(atoi(argv[3]) if argv[3] else 1000, 1000) / 1000
    terminators = argv[4] or "#"
    prompt, invalid, variable, regexp = argv[5] or None, argv[6] or None, argv[7], argv[8]
    digit_timeout = max(atoi(argv[9]), 0) / 1000
    failure = argv[10]
    if regexp and variable:
        channel.variables.set(f"{variable}_invalid", None)
    # FreeSWITCH reads the tries as unsigned: a negative number means (almost) forever.
    tries = tries if tries >= 0 else 2**32 + tries
    while channel.ready and tries:
        status, digits = read_digits(
            channel,
            min_digits,
            max_digits,
            prompt,
            variable or None,
            timeout,
            terminators,
            digit_timeout,
        )
        if status == "restart":
            return
        if status == "timeout" and len(digits) >= min_digits:
            status = "success"
        if not min_digits and not digits and "read_terminator_used" in channel.variables:
            return
        if status == "success" and digits:
            if not regexp or re.search(regexp, digits):
                return
            if variable:
                channel.variables.set(variable, None)
                channel.variables.set(f"{variable}_invalid", digits)
        if not channel.ready:
            break
        if invalid:
            play_file(channel, invalid, "deaf")
        tries -= 1
    if failure and channel.ready:
        target = separate_string(failure, " ", 4)
        _transfer(channel, target[0], *(target[1:3] + ["", ""])[:2])


def playback(channel: SimulatedChannel, arg: str) -> None:
    """Play a file or stream.

    Application-Response: FILE PLAYED (also when stopped by a key or uuid_break), FILE NOT
    FOUND, or PLAYBACK ERROR (hang-up, or ``playback_timeout_sec`` reached without
    ``playback_timeout_as_success``).
    """
    channel.variables.set("playback_terminator_used", None)
    status, _ = play_file(channel, arg, "terminators")
    channel.variables.set(
        "current_application_response", _PLAYBACK_RESPONSES.get(status, "PLAYBACK ERROR")
    )


def answer(channel: SimulatedChannel, arg: str) -> None:
    channel.answer()


def hangup(channel: SimulatedChannel, arg: str) -> None:
    """``hangup [cause]``: an unknown cause is NORMAL_CLEARING."""
    cause = cause_name(arg)
    if channel.hangup_cause is None:
        channel.log("ivr", "hangs up" + ("" if cause == "NORMAL_CLEARING" else f" ({cause})"))
    channel.hangup(cause)


def _set_one(channel: SimulatedChannel, item: str) -> None:
    """``name=value`` (or ``name,value``); an empty value unsets the variable."""
    if not item:
        return
    separator = "=" if "=" in item else ","
    name, _, value = item.partition(separator)
    channel.variables.set(name, value or None)


def set_variable(channel: SimulatedChannel, arg: str) -> None:
    """``set name=value``: the value is expanded once more (``base_set``), after the argument."""
    if not arg:
        return
    separator = "=" if "=" in arg else ","
    name, _, value = arg.partition(separator)
    channel.variables.set(name, channel.expand(value) if value else None)


def multiset(channel: SimulatedChannel, arg: str) -> None:
    """``multiset a=b c=d`` (``^^<delimiter>`` picks another separator than the space)."""
    for item in separate_string(arg, " "):
        _set_one(channel, item)


def export(channel: SimulatedChannel, arg: str) -> None:
    """``export name=value``: set it here and list it in ``export_vars`` for the bridged leg.

    ``nolocal:name=value`` only exports it.
    """
    if not arg:
        return
    name, value = split_name_value(arg)
    local = not name.startswith("nolocal:")
    name = name.removeprefix("nolocal:")
    if local:
        channel.variables.set(name, value or None)
    exported = [n for n in (channel.variables.get("export_vars") or "").split(",") if n]
    if name not in exported:
        channel.variables.set("export_vars", ",".join([*exported, name]))


def sleep(channel: SimulatedChannel, arg: str) -> None:
    """Pause for ``<ms>``.

    Any key ends it early (the key stays queued); with ``sleep_eat_digits`` only a playback
    terminator does, and it is used up.
    """
    if not arg or channel.hangup_point():
        return
    eat = is_true(channel.variables.get("sleep_eat_digits"))
    if eat:
        channel.variables.set("playback_terminator_used", None)
    seconds = max(atoi(arg), 0) / 1000
    channel.log("ivr", f"pauses {seconds:g}s")
    started = channel.now()
    spent = 0.0
    while channel.ready and spent < seconds - EPSILON and not channel.take_break():
        if channel.has_dtmf():
            if not eat:
                return
            key = channel.dequeue_dtmf()
            if key in channel.terminators():
                channel.variables.set("playback_terminator_used", key)
                return
            continue
        keys = channel.terminators() if eat else ""
        listen = channel.listen_for(keys, prompt_left=None, since=started)
        spent += channel.pause(seconds - spent, listen, keys_stop=True)


def flush_dtmf(channel: SimulatedChannel, arg: str) -> None:
    channel.flush_dtmf()


def _transfer(channel: SimulatedChannel, destination: str, dialplan: str, context: str) -> None:
    channel.log("ivr", f"transfers the call to {destination}")
    channel.transfer(destination or "service", dialplan or "XML", context or "default")


def transfer(channel: SimulatedChannel, arg: str) -> None:
    """``transfer <destination> [<dialplan> [<context>]]``: the call leaves the controller."""
    argv = separate_string(arg, " ", 4) if arg else []
    if not argv or argv[0] in ("-bleg", "-both"):
        return
    _transfer(channel, argv[0], *(argv[1:3] + ["", ""])[:2])


def record(channel: SimulatedChannel, arg: str) -> None:
    """``record <path> [<max_seconds> [<silence_thresh> <silence_hits>]]``.

    The caller talks for as long as their script says (see ``Caller.recording``); without a
    time limit, a caller with nothing scripted is silent and the silence ends the recording
    after ``silence_hits`` seconds (3 by default). The file is a mono WAV of what the caller
    said meanwhile (``ivr.simulator.recording``: their voice, their keys, else an idle line).
    """
    argv = separate_string(arg, " ", 4) if arg else []
    if not argv:
        return
    path = Path(argv[0])
    limit = atoi(argv[1].lstrip("+")) if len(argv) > 1 else 0
    silence_hits = atoi(argv[3]) if len(argv) > 3 else 0
    channel.variables.set("playback_terminator_used", None)
    if channel.hangup_point():
        return
    channel.variables.set("silence_hits_exhausted", "false")
    try:
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise OSError(f"{path.parent} is no folder it can write in")
        channel.recorder.start(path, channel.now(), stereo=False, swap=False, read_only=True)
    except OSError:
        # As FreeSWITCH does when the file cannot be opened: the caller is hung up.
        channel.log("ivr", f"cannot open {path} to record")
        channel.hangup("DESTINATION_OUT_OF_ORDER")
        return
    most = float(limit) if limit > 0 else math.inf
    seconds, then_hangup = channel.caller.recording(most)
    talks = not math.isinf(seconds)
    if not talks:
        seconds = float(silence_hits or 3)
    channel.log("ivr", f"records {path}" + (f" (up to {limit}s)" if limit > 0 else ""))
    listen = channel.listen_for("", prompt_left=None, since=channel.now())
    channel.recorder.say(channel.now(), caller_voice() if talks else None)
    recorded = channel.pause(seconds, listen, keys_stop=False)
    channel.recorder.say(channel.now(), None)
    if then_hangup:
        channel.hangup_point()
    channel.recorder.stop(str(path), channel.now())
    channel.log("ivr", f"recorded {recorded:g}s")
    channel.variables.set("record_seconds", str(int(recorded)))
    channel.variables.set("record_ms", str(int(recorded * 1000)))
    channel.variables.set("record_samples", str(round(recorded * _SAMPLES_PER_SECOND)))
    if not channel.ready:
        channel.hangup("DESTINATION_OUT_OF_ORDER")


APPLICATIONS: dict[str, Application] = {
    "answer": Application(answer),
    "hangup": Application(hangup),
    "set": Application(set_variable),
    "export": Application(export),
    "multiset": Application(multiset),
    "sleep": Application(sleep),
    "flush_dtmf": Application(flush_dtmf),
    "playback": Application(playback, needs_media=True),
    "play_and_get_digits": Application(play_and_get_digits, needs_media=True),
    "bridge": Application(bridge),
    "transfer": Application(transfer),
    "record": Application(record, needs_media=True),
    **{name: Application(run, needs_media=True) for name, run in RECORD_APPLICATIONS.items()},
}
"""The applications the simulated FreeSWITCH knows; any other hangs the call up, as on a
FreeSWITCH without that module."""
