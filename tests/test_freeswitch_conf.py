"""The drop-in FreeSWITCH configuration hands calls to the controller and keeps them without it."""

import re
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "freeswitch_conf"
DIALPLAN = CONF / "dialplan" / "default" / "00_ivr_controller.xml"
EVENT_SOCKET = CONF / "autoload_configs" / "event_socket.conf.xml"
LOCAL_STREAM = CONF / "autoload_configs" / "local_stream.conf.xml"
FALLBACK_GROUP = CONF / "directory" / "ivr_groups" / "ivr_fallback.xml"
XML_FILES = sorted(CONF.rglob("*.xml"))

PREPROCESSOR_VARIABLE = re.compile(r"\$\$\{([^}]+)\}")


# What the stock vars.xml has set by the time it includes vars_ivr.xml.
STOCK_VARIABLES = {"domain": "example.com"}


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace ``$${name}`` with its value; unknown names stay, so a failure shows them."""
    return PREPROCESSOR_VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def preprocessor_variables(**overrides: str) -> dict[str, str]:
    """The global variables after vars_ivr.xml, read in order as FreeSWITCH's preprocessor does."""
    variables = dict(STOCK_VARIABLES)
    for command in ET.parse(CONF / "vars_ivr.xml").getroot().iter("X-PRE-PROCESS"):
        assert command.get("cmd") == "set"
        name, _, value = command.get("data").partition("=")
        variables[name] = substitute(value, variables)
    return {**variables, **overrides}


def expand(text: str, **overrides: str) -> str:
    """Expand ``$${name}`` in a configuration value, with ``overrides`` replacing our settings."""
    return substitute(text, preprocessor_variables(**overrides))


def dialplan_actions() -> list[tuple[str, str]]:
    root = ET.parse(DIALPLAN).getroot()
    return [(a.get("application"), a.get("data", "")) for a in root.iter("action")]


def index_of(actions: list[tuple[str, str]], application: str, data: str | None = None) -> int:
    for position, (app, app_data) in enumerate(actions):
        if app == application and (data is None or app_data == data):
            return position
    raise AssertionError(f"no {application} {data or ''} action in {actions}")


def settings(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    return {p.get("name"): p.get("value") for p in root.find("settings").iter("param")}


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_every_configuration_file_is_well_formed_xml(path):
    ET.parse(path)


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_no_preprocessor_command_hides_in_a_comment_where_freeswitch_would_still_run_it(path):
    comments = " ".join(re.findall(r"<!--.*?-->", path.read_text(), flags=re.DOTALL))
    assert "x-pre-process" not in comments.lower()


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_include_tags_stand_alone_because_freeswitch_drops_their_whole_line(path):
    for line in path.read_text().splitlines():
        if "<include>" in line or "</include>" in line:
            assert line.strip() in ("<include>", "</include>")


def test_every_variable_the_configuration_uses_is_set_in_vars_ivr():
    defined = preprocessor_variables()
    used = {name for path in XML_FILES for name in PREPROCESSOR_VARIABLE.findall(path.read_text())}
    assert used <= defined.keys()
    assert defined["ivr_controller"] == "127.0.0.1:8084"


@pytest.mark.parametrize("number", ["18005550100", "18005550199"])
def test_service_numbers_reach_the_ivr_extension(number):
    condition = ET.parse(DIALPLAN).getroot().find("extension/condition")
    assert condition.get("field") == "destination_number"
    assert re.search(condition.get("expression"), number)
    assert not re.search(condition.get("expression"), "1001")


def test_calls_go_to_the_controller_over_an_async_full_outbound_socket():
    actions = dialplan_actions()
    socket = actions[index_of(actions, "socket")]
    # ${...} is expanded per call: the call's own ivr_controller, else the global variable.
    assert socket[1] == "${ivr_controller} async full"
    assert preprocessor_variables()["ivr_controller"] == "127.0.0.1:8084"


def test_nothing_answers_the_call_before_the_controller_gets_it():
    actions = dialplan_actions()
    before_socket = actions[: index_of(actions, "socket")]
    assert {app for app, _ in before_socket} == {"set"}


def test_failover_switches_are_set_before_the_socket():
    actions = dialplan_actions()
    socket = index_of(actions, "socket")
    assert index_of(actions, "set", "continue_on_fail=true") < socket
    assert index_of(actions, "set", "hangup_after_bridge=true") < socket
    # Without it a controller that closes the connection leaves the caller parked in silence.
    assert index_of(actions, "set", "socket_resume=true") < socket


def test_dialplan_fails_over_to_the_fallback_operators_when_the_controller_is_down():
    actions = dialplan_actions()
    socket = index_of(actions, "socket")
    answer = index_of(actions, "answer")
    playback = index_of(actions, "playback")
    bridge = index_of(actions, "bridge")
    assert socket < answer < playback < bridge
    assert expand(actions[bridge][1]) == "group/ivr_fallback@example.com"
    assert actions[-1] == ("hangup", "")


def test_callers_hear_hold_music_while_the_fallback_operators_ring():
    actions = dialplan_actions()
    ringback = index_of(actions, "set", "transfer_ringback=local_stream://moh")
    assert index_of(actions, "socket") < ringback < index_of(actions, "bridge")


def test_failover_apology_uses_stock_prompts_so_it_needs_no_file_of_ours():
    actions = dialplan_actions()
    prompt = expand(actions[index_of(actions, "playback")][1])
    files = prompt.removeprefix("file_string://").split("!")
    assert files == ["ivr/ivr-im_sorry.wav", "ivr/ivr-hold_connect_call.wav"]


def test_event_socket_listens_on_loopback_only_with_a_changed_password_and_an_acl():
    params = settings(EVENT_SOCKET)
    assert params["listen-ip"] == "127.0.0.1"
    assert params["password"] not in ("", "ClueCon")
    assert params["apply-inbound-acl"] == "loopback.auto"


@pytest.mark.parametrize("stream", ["moh/8000", "moh/16000", "default"])
def test_hold_music_streams_play_the_repository_music_at_their_rate(stream):
    root = ET.parse(LOCAL_STREAM).getroot()
    directory = root.find(f"directory[@name='{stream}']")
    params = {p.get("name"): p.get("value") for p in directory.iter("param")}
    folder = Path(expand(directory.get("path"), ivr_sounds_dir=str(REPO / "sounds")))
    assert folder.is_relative_to(REPO / "sounds" / "music")
    files = sorted(folder.glob("*.wav"))
    assert files
    assert params["channels"] == "1"
    assert params["interval"] == "20"
    for path in files:
        with wave.open(str(path)) as audio:
            assert audio.getframerate() == int(params["rate"])


@pytest.mark.parametrize("user", ["1001", "1002"])
def test_agent_users_exist_with_a_password_and_a_caller_id_name(user):
    root = ET.parse(CONF / "directory" / "default" / f"{user}.xml").getroot()
    entry = root.find(f"user[@id='{user}']")
    password = entry.find("params/param[@name='password']").get("value")
    assert password not in ("", "1234", "$${default_password}")
    caller_id = entry.find("variables/variable[@name='effective_caller_id_name']")
    assert caller_id.get("value")


def test_fallback_group_holds_both_agents():
    group = ET.parse(FALLBACK_GROUP).getroot().find("group[@name='ivr_fallback']")
    pointers = {u.get("id") for u in group.iter("user") if u.get("type") == "pointer"}
    assert pointers == {"1001", "1002"}


def test_a_trunks_call_to_a_service_number_goes_from_public_to_the_ivr_extension():
    public = ET.parse(CONF / "dialplan" / "public" / "00_ivr_controller.xml").getroot()
    [condition] = public.iter("condition")
    ivr_condition = next(ET.parse(DIALPLAN).getroot().iter("condition"))
    assert condition.get("expression") == ivr_condition.get("expression")
    assert [(a.get("application"), a.get("data")) for a in condition.iter("action")] == [
        ("transfer", "$1 XML default")
    ]
