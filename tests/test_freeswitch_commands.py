"""The commands the controller sends FreeSWITCH, built by ``ivr.freeswitch.commands``.

Each builder gives the exact bytes a client sent a real FreeSWITCH 1.11.3 in the recorded
sessions of ``tests/fs_traces``, and refuses a value that would corrupt the command.
"""

from __future__ import annotations

import re

import pytest
from test_esl_codec import TRACE_NAMES, sent_commands

from ivr.freeswitch import commands
from ivr.simulator.commands import ESLCommand, ESLCommandParser


def rebuild(command: ESLCommand) -> bytes:
    """Build again, with the command builders, a command parsed from a recording."""
    headers = command.headers
    if command.line in ("connect", "myevents", "exit"):
        assert not headers
        simple = {
            "connect": commands.connect,
            "myevents": commands.myevents,
            "exit": commands.exit_,
        }
        return simple[command.line]()
    if command.name == "linger":
        return commands.linger(int(command.argument) if command.argument else None)
    if command.name == "auth":
        return commands.auth(command.argument)
    if command.line.startswith("event plain "):
        return commands.event_plain(command.line.split()[2:])
    if command.name == "api":
        return commands.api(command.argument)
    if command.name == "bgapi":
        return commands.bgapi(command.argument, headers.get("job-uuid"))
    assert command.line == "sendmsg", command.line
    if headers["call-command"] == "hangup":
        return commands.sendmsg_hangup(headers["hangup-cause"])
    assert headers["call-command"] == "execute"
    loops = headers.get("loops")
    return commands.sendmsg_execute(
        headers["execute-app-name"],
        headers.get("execute-app-arg"),
        headers["event-uuid"],
        event_lock=headers.get("event-lock") == "true",
        loops=int(loops) if loops else None,
    )


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_command_builders_produce_the_exact_bytes_recorded(name):
    for recorded in sent_commands(name):
        (command,) = ESLCommandParser().feed(recorded)
        assert rebuild(command) == recorded


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_command_parser_reads_a_recorded_session_fed_byte_by_byte(name):
    recorded = sent_commands(name)
    stream = b"".join(recorded)
    parser = ESLCommandParser()

    read = []
    for i in range(len(stream)):
        read += parser.feed(stream[i : i + 1])
    assert [rebuild(command) for command in read] == recorded


def test_uuid_break_matches_the_api_command_sent_during_music_on_hold():
    recorded = next(c for c in sent_commands("moh_break.run1") if c.startswith(b"api "))
    uuid = recorded.split()[2].decode()

    assert commands.api(commands.uuid_break(uuid)) == recorded
    assert commands.uuid_break(uuid, all_queued=False) == f"uuid_break {uuid}"


def test_play_and_get_digits_argument_is_sent_exactly_as_written():
    arg = r"1 1 2 3000 # tone_stream://%(2000,0,350) silence_stream://250 menu_choice2 [12] 2000"

    command = commands.sendmsg_execute("play_and_get_digits", arg, "e1")
    assert f"execute-app-arg: {arg}\n".encode() in command


def test_sendmsg_options_and_target_channel():
    command = commands.sendmsg_execute(
        "playback", "x.wav", "e1", event_lock=True, loops=-1, uuid="u1"
    )

    assert command == (
        b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\n"
        b"execute-app-arg: x.wav\nevent-lock: true\nloops: -1\nEvent-UUID: e1\n\n"
    )
    assert commands.sendmsg_hangup("USER_BUSY", uuid="u1") == (
        b"sendmsg u1\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"
    )


@pytest.mark.parametrize("arg", ["first line\nsecond line", " leading space", "caf\u00e9\r\n"])
def test_argument_freeswitch_would_cut_on_a_header_line_goes_as_a_text_plain_body(arg):
    command = commands.sendmsg_execute("set", arg, "e1")
    body = arg.encode()

    assert command.endswith(
        b"Event-UUID: e1\ncontent-type: text/plain\ncontent-length: %d\n\n%b" % (len(body), body)
    )
    assert b"execute-app-arg" not in command
    (parsed_back,) = ESLCommandParser().feed(command + commands.exit_())[:1]
    assert parsed_back.body == arg
    assert parsed_back.headers["content-type"] == "text/plain"


def test_application_without_argument_has_no_arg_header():
    assert commands.sendmsg_execute("answer", None, "e1") == commands.sendmsg_execute(
        "answer", "", "e1"
    )
    assert b"execute-app-arg" not in commands.sendmsg_execute("answer", None, "e1")


def test_bgapi_can_choose_its_job_uuid():
    assert commands.bgapi("status", job_uuid="j-1") == b"bgapi status\nJob-UUID: j-1\n\n"


@pytest.mark.parametrize(
    ("build", "complaint"),
    [
        (lambda: commands.sendmsg_execute("", "x", "e1"), "application name is empty"),
        (lambda: commands.sendmsg_execute(None, "x", "e1"), "must be a string, not NoneType"),
        (lambda: commands.sendmsg_execute("play back", "x", "e1"), "one word"),
        (lambda: commands.sendmsg_execute("playback", 5, "e1"), "must be a string, not int"),
        (lambda: commands.sendmsg_execute("playback", "a\x00b", "e1"), "NUL"),
        (lambda: commands.sendmsg_execute("playback", "x", None), "event uuid must be a string"),
        (lambda: commands.sendmsg_execute("playback", "x", "e1", loops=0), "loops"),
        (lambda: commands.sendmsg_execute("playback", "x", "e1", event_lock="yes"), "event_lock"),
        (lambda: commands.sendmsg_execute("playback", "x", "e1", uuid="a\nb"), "line break"),
        (lambda: commands.sendmsg_hangup("NORMAL CLEARING"), "one word"),
        (lambda: commands.sendmsg_hangup(None), "hangup cause must be a string"),
        (lambda: commands.api("status\nexit"), "line break"),
        (lambda: commands.api(None), "api command must be a string"),
        (lambda: commands.api(" status"), "starts with a space"),
        (lambda: commands.bgapi(""), "bgapi command is empty"),
        (lambda: commands.bgapi("status", job_uuid="a b"), "one word"),
        (lambda: commands.auth(""), "password is empty"),
        (lambda: commands.linger(0), "positive whole number"),
        (lambda: commands.linger(True), "positive whole number"),
        (lambda: commands.event_plain("CHANNEL_ANSWER"), "list of names"),
        (lambda: commands.event_plain([]), "must not be empty"),
        (lambda: commands.event_plain(["CHANNEL ANSWER"]), "one word"),
        (lambda: commands.nixevent("TALK"), "list of names"),
        (lambda: commands.nixevent([]), "must not be empty"),
        (lambda: commands.uuid_break(None), "channel uuid must be a string"),
        (lambda: commands.uuid_send_dtmf("u1", "1 2"), "keys '1 2' must be one word"),
        (lambda: commands.uuid_send_dtmf("u1", ""), "keys is empty"),
        (lambda: commands.global_getvar("core uuid"), "one word"),
        (lambda: commands.socket_app("127.0.0.1", 0), "TCP port number"),
        (lambda: commands.socket_app("127.0.0.1", "8084"), "TCP port number"),
        (lambda: commands.socket_app("local host", 8084), "one word"),
    ],
)
def test_command_builders_refuse_bad_input_with_a_clear_value_error(build, complaint):
    with pytest.raises(ValueError, match=re.escape(complaint)):
        build()


def test_keys_are_pressed_on_the_callers_leg_with_uuid_send_dtmf():
    assert commands.uuid_send_dtmf("leg-1", "12345678#") == "uuid_send_dtmf leg-1 12345678#"
    assert commands.api(commands.uuid_send_dtmf("leg-1", "0")) == (
        b"api uuid_send_dtmf leg-1 0\n\n"
    )


def test_a_global_variable_is_read_with_global_getvar():
    assert commands.api(commands.global_getvar("core_uuid")) == b"api global_getvar core_uuid\n\n"


def test_an_answered_call_is_handed_to_the_controller_by_an_async_full_socket():
    assert commands.socket_app("127.0.0.1", 8084) == "&socket(127.0.0.1:8084 async full)"


# --- originate and uuid_kill --------------------------------------------------------------------


def test_originate_quotes_a_destination_with_spaces_as_freeswitch_splits_arguments():
    line = commands.originate(
        "loopback/18005550100/default",
        "&socket(127.0.0.1:8084 async full)",
        {"origination_caller_id_number": "+15550001111", "origination_caller_id_name": "Test"},
    )
    assert commands.bgapi(line, "job-1") == (
        b"bgapi originate {origination_caller_id_number=+15550001111,"
        b"origination_caller_id_name=Test}loopback/18005550100/default "
        b"'&socket(127.0.0.1:8084 async full)'\nJob-UUID: job-1\n\n"
    )


def test_originate_leaves_a_one_word_destination_alone_and_escapes_quotes():
    assert commands.originate("user/1001", "&park", {}) == "originate user/1001 &park"
    assert commands.originate("user/1001", "&playback(it's)", {}) == (
        "originate user/1001 '&playback(it\\'s)'"
    )


@pytest.mark.parametrize(
    ("dial_string", "destination", "variables"),
    [
        ("user/1001", "&park\nexit", {}),
        ("user/1001", "", {}),
        ("user/1001", " &park", {}),
        ("user/1001 &park", "&park", {}),
        ("user/1001", "&park", {"bad name": "x"}),
        ("user/1001", "&park", {"caller": "line\nbreak"}),
    ],
)
def test_originate_refuses_values_that_would_corrupt_the_command(
    dial_string, destination, variables
):
    with pytest.raises(ValueError):
        commands.originate(dial_string, destination, variables)


def test_uuid_kill_takes_one_word_each():
    assert commands.uuid_kill("abc", "USER_BUSY") == "uuid_kill abc USER_BUSY"
    for uuid, cause in (("a b", "NORMAL_CLEARING"), ("abc", ""), (None, "NORMAL_CLEARING")):
        with pytest.raises(ValueError):
            commands.uuid_kill(uuid, cause)


def test_nixevent_names_the_events_a_socket_stops_getting():
    assert commands.nixevent(["TALK", "NOTALK"]) == b"nixevent TALK NOTALK\n\n"
