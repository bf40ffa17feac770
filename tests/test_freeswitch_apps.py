import pytest

from ivr.freeswitch import apps
from ivr.freeswitch.apps import AppArgumentError


def test_several_prompt_files_play_in_a_row_through_file_string():
    assert apps.playback_target(["/p/a.wav"]) == "/p/a.wav"
    assert apps.playback_target(["/p/a.wav", "/p/b.wav"]) == "file_string:///p/a.wav!/p/b.wav"


def test_play_and_get_digits_argument_follows_freeswitchs_order():
    arg = apps.play_and_get_digits(
        min_digits=1,
        max_digits=8,
        timeout=5,
        terminator_keys="#",
        prompt="/p/a.wav",
        variable="ivr_digits",
        digit_timeout=3,
    )
    assert arg == "1 8 1 5000 # /p/a.wav silence_stream://1 ivr_digits ^[0-9*#ABCD]+$ 3000"


def test_no_terminator_is_spelled_none():
    assert apps.terminators("") == "none"
    assert apps.terminators("#*") == "#*"


def test_dial_string_rings_every_agent_with_per_leg_and_common_variables():
    dial = apps.dial_string(
        [("user/1001", {"origination_uuid": "u1"}), ("user/1002", {"origination_uuid": "u2"})],
        {"leg_timeout": "15", "origination_caller_id_name": "Acme Bank: +15550001111"},
    )
    assert dial == (
        "{leg_timeout=15,origination_caller_id_name=Acme Bank: +15550001111}"
        "[origination_uuid=u1]user/1001,[origination_uuid=u2]user/1002"
    )


def test_commas_and_quotes_in_dial_string_values_are_escaped_for_both_of_freeswitchs_splits():
    dial = apps.dial_string([("user/1001", {})], {"ivr_path": "a,b", "name": "O'Hara"})
    assert dial == r"{ivr_path=a\,b,name=\'O\\\'Hara\'}user/1001"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: apps.set_var("x", None), "variable value must be text, not None"),
        (lambda: apps.set_var("x", "a\nb"), "holds a line break"),
        (lambda: apps.set_var("bad name", "v"), "is not a plain name"),
        (lambda: apps.playback_target([]), "nothing to play"),
        (lambda: apps.playback_target(["/a!b.wav", "/c.wav"]), "which file_string splits on"),
        (lambda: apps.dial_string([("not an endpoint", {})], {}), "is not an endpoint"),
        (lambda: apps.record("/var/my file.wav", 60), "holds a space"),
        (lambda: apps.terminators("1x"), "are not phone keys"),
        (lambda: apps.transfer("2000\nhangup", "default"), "holds a line break"),
    ],
)
def test_values_that_would_corrupt_a_command_are_refused(call, message):
    with pytest.raises(AppArgumentError, match=message):
        call()


def test_record_and_transfer_arguments():
    assert apps.record("/var/rec/x.wav", 120) == "/var/rec/x.wav 120 200 5"
    assert apps.transfer("2000", "default") == "2000 XML default"
    assert apps.transfer("2000", "sales") == "2000 XML sales"
    assert apps.transfer("user/2000", "default") == "bridge:user/2000 inline"
