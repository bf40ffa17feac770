"""Every built-in node type against the real FreeSWITCH; skipped unless one is named.

Each test starts the controller on a free port of 127.0.0.1 and dials the IVR number through
FreeSWITCH's installed dialplan (``ivr freeswitch-conf install``) from a loopback phone whose
call carries ``ivr_controller``, so the IVR extension hands it to that controller as it does a
real caller's. What the tests check is what a caller notices and what FreeSWITCH reports:
the files it played (PLAYBACK_START/STOP), the keys it heard (DTMF), the applications it ran,
the files it wrote, and the journal's record of the call. One caller is a real SIP user agent
(sipp, Debian's sip-tester) calling the external profile as a trunk would, pressing its key in
RTP (RFC 2833); that call goes to the dialplan's global controller, where its test listens.
Flows use short timeouts and tones (``{sound: tone5}``) so that every test takes seconds.
Run them where FreeSWITCH runs::

    IVR_FS_HOST=127.0.0.1:8021 IVR_FS_PASSWORD=... pytest -rs tests/test_real_freeswitch_nodes.py
"""

from __future__ import annotations

import array
import datetime as dt
import json
import shutil
import socket
import wave
from pathlib import Path

import pytest
from gevent import subprocess
from gevent.pywsgi import WSGIServer
from realfs import IVR_NUMBER, live_ivr, next_event

MENU_AFTER = """\
      menu:
        type: menu
        prompt: {sound: tone5}
        choices: {1: chosen}
        timeout: 2s
        attempts: 1
        on_fail: bye
      chosen:
        type: hangup
        goal: chose_one
      bye:
        type: hangup
"""


def flow(body: str, start: str, **top: str) -> str:
    """A flow ``default`` (the one the controller routes the IVR number to) with ``body``."""
    head = "".join(f"{key}: {value}\n" for key, value in top.items())
    return f"flow: default\n{head}start: {start}\nnodes:\n{body}"


# ---------------------------------------------------------------- prompts and barge-in


def test_a_key_pressed_over_a_recording_stops_it_and_the_menu_takes_it(fs, folder: Path):
    body = (
        """\
      welcome:
        type: play
        prompt: {sound: greeting}
        next: menu
"""
        + MENU_AFTER
    )
    with live_ivr(fs, folder, {"default.yaml": flow(body, "welcome")}) as ivr:
        call = ivr.call()
        greeting = str(folder / "sounds" / "en" / "8000" / "greeting.wav")
        call.next("PLAYBACK_START", Playback_File_Path=greeting)
        call.press("1")

        call.next("DTMF", DTMF_Digit="1")
        stopped = call.next("PLAYBACK_STOP", Playback_File_Path=greeting)
        done = call.ended()

    assert stopped.get("Playback-Status") == "break"
    assert done.record.path == ["welcome", "menu", "chosen"]
    assert done.record.outcome == "self_served"


def spoken(playback) -> str:
    """The words of a TTS prompt FreeSWITCH played (our cache keeps them beside the file)."""
    return Path(playback.get("Playback-File-Path")).with_suffix(".txt").read_text()


def test_a_key_pressed_over_a_text_to_speech_prompt_stops_it_and_the_menu_takes_it(
    fs, folder: Path
):
    body = """\
      menu:
        type: menu
        prompt: "For sales press 2. For anything else, please stay on the line."
        choices: {2: chosen}
        timeout: 2s
        attempts: 1
        on_fail: bye
      chosen:
        type: hangup
      bye:
        type: hangup
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "menu")}) as ivr:
        call = ivr.call()
        started = call.next("PLAYBACK_START")
        call.press("2")

        call.next("DTMF", DTMF_Digit="2")
        stopped = call.next("PLAYBACK_STOP")
        done = call.ended()
        rendered = ivr.controller.prompts.stats.renders
        again = ivr.call()
        replayed = again.next("PLAYBACK_START")
        again.press("2")
        again.ended()

    played = Path(started.get("Playback-File-Path"))
    # The next caller hears the same file from the cache: nothing is spoken anew.
    assert replayed.get("Playback-File-Path") == str(played)
    assert ivr.controller.prompts.stats.renders == rendered == 1
    assert played.is_relative_to(folder / "prompts") and played.suffix == ".wav"
    assert spoken(started) == "For sales press 2. For anything else, please stay on the line."
    assert stopped.get("Playback-File-Path") == str(played)
    assert stopped.get("Playback-Status") == "break"
    assert done.record.path == ["menu", "chosen"]


def test_keys_pressed_over_a_tone_stop_it_and_the_input_takes_them(fs, folder: Path):
    body = """\
      ask:
        type: input
        prompt: {sound: tone5}
        digits: {min: 2, max: 4}
        terminator: "#"
        save_as: code
        timeout: 3s
        attempts: 1
        next: thanks
        on_fail: bye
      thanks:
        type: hangup
      bye:
        type: hangup
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "ask")}) as ivr:
        call = ivr.call()
        started = call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        call.press("42#")

        keys = [call.next("DTMF").get("DTMF-Digit") for _ in range(3)]
        stopped = call.next("PLAYBACK_STOP")
        done = call.ended()

    assert started.get("Playback-File-Path") == "tone_stream://%(5000,0,440)"
    assert keys == ["4", "2", "#"]
    assert stopped.get("Playback-Status") == "break"
    assert done.vars["code"] == "42"
    assert done.record.path == ["ask", "thanks"]


# ---------------------------------------------------------------- nodes


def test_a_hangup_node_plays_its_prompt_to_the_end_and_hangs_the_caller_up(fs, folder: Path):
    body = """\
      bye:
        type: hangup
        prompt: {sound: greeting}
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "bye")}) as ivr:
        call = ivr.call()
        stopped = call.next("PLAYBACK_STOP")
        hung_up = call.next("CHANNEL_HANGUP_COMPLETE")
        done = call.ended()
        phone = next_event(
            ivr.events_for(call.caller_leg),
            lambda m: m.event_name == "CHANNEL_HANGUP_COMPLETE",
            "the caller's phone hanging up",
        )

    assert stopped.get("Playback-Status") == "done"
    assert hung_up.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert phone.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert done.record.path == ["bye"]
    assert done.record.outcome == "completed"


SUBFLOW = """\
    flow: identify
    start: ask_id
    nodes:
      ask_id:
        type: input
        prompt: {sound: tone5}
        save_as: customer_id
        timeout: 3s
        attempts: 1
        next: back
        on_fail: back
      back:
        type: return
"""


def test_set_subflow_return_and_branch_carry_the_callers_entry_to_the_right_answer(
    fs, folder: Path
):
    body = """\
      init:
        type: set
        vars: {tries: "{{ tries + 1 }}", greeting: "Hello"}
        next: identify
      identify:
        type: subflow
        flow: identify
        next: by_id
      by_id:
        type: branch
        cases:
          - {when: "customer_id | int >= 500", goto: big}
        default: small
      big:
        type: hangup
        prompt: "{{ greeting }}, customer {{ customer_id }}, try {{ tries }}."
      small:
        type: hangup
        prompt: "{{ greeting }}, small customer."
"""
    files = {"default.yaml": flow(body, "init", vars="{tries: 0}"), "identify.yaml": SUBFLOW}
    with live_ivr(fs, folder, files) as ivr:
        call = ivr.call()
        call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        call.press("777#")
        answer = call.next("PLAYBACK_START")
        done = call.ended()

    assert spoken(answer) == "Hello, customer 777, try 1."
    assert done.record.path == ["init", "identify", "ask_id", "back", "by_id", "big"]
    assert done.record.outcome == "completed"


def test_a_language_node_switches_the_prompts_that_follow_to_its_language(fs, folder: Path):
    body = """\
      choose:
        type: menu
        prompt: {sound: tone5}
        choices: {2: russian}
        timeout: 2s
        attempts: 1
        on_fail: goodbye
      russian:
        type: language
        language: ru
        next: goodbye
      goodbye:
        type: hangup
        prompt: {en: "Goodbye.", ru: "До свидания."}
"""
    with live_ivr(
        fs, folder, {"default.yaml": flow(body, "choose", language="en", languages="[en, ru]")}
    ) as ivr:
        call = ivr.call()
        call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        call.press("2")
        goodbye = call.next("PLAYBACK_START")
        call.next("PLAYBACK_STOP", Playback_Status="done")
        done = call.ended()

    assert spoken(goodbye) == "До свидания."
    assert Path(goodbye.get("Playback-File-Path")).is_relative_to(folder / "prompts" / "ru")
    assert done.record.path == ["choose", "russian", "goodbye"]


SCHEDULES = """\
    schedules:
      office:
        timezone: Europe/Sofia
        weekly: {mon-fri: "09:00-18:00"}
"""


@pytest.mark.parametrize(
    ("at", "reached"),
    [("2026-11-23T10:00:00+02:00", "open_now"), ("2026-11-22T10:00:00+02:00", "closed_now")],
    ids=["monday-10-00-open", "sunday-10-00-closed"],
)
def test_an_hours_node_follows_the_schedule_by_the_controllers_clock(
    fs, folder: Path, at: str, reached: str
):
    body = """\
      check:
        type: hours
        schedule: office
        open: open_now
        closed: closed_now
      open_now:
        type: hangup
        prompt: "We are open."
      closed_now:
        type: hangup
        prompt: "We are closed."
"""
    files = {"default.yaml": flow(body, "check"), "schedules.yaml": SCHEDULES}
    with live_ivr(fs, folder, files) as ivr:
        ivr.controller.clock_shift = dt.datetime.fromisoformat(at) - dt.datetime.now(dt.UTC)
        call = ivr.call()
        said = call.next("PLAYBACK_START")
        done = call.ended()

    assert spoken(said) == {"open_now": "We are open.", "closed_now": "We are closed."}[reached]
    assert done.record.path == ["check", reached]


def test_an_input_refuses_entries_of_the_wrong_length_or_pattern_and_takes_a_good_one(
    fs, folder: Path
):
    body = """\
      ask:
        type: input
        prompt: {sound: tone5}
        invalid_prompt: "Not valid."
        digits: {min: 4, max: 4}
        pattern: "1[0-9]+"
        terminator: "#"
        save_as: code
        timeout: 3s
        attempts: 3
        next: thanks
        on_fail: bye
      thanks:
        type: hangup
        goal: code_taken
      bye:
        type: hangup
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "ask")}) as ivr:
        call = ivr.call()
        invalid = []
        for keys in ("12#", "2345#"):
            call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
            call.press(keys)
            invalid.append(spoken(call.next("PLAYBACK_START")))
        call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        call.press("1234#")
        done = call.ended()

    assert invalid == ["Not valid.", "Not valid."]
    assert done.vars["code"] == "1234"
    assert done.record.path == ["ask", "thanks"]
    assert done.record.outcome == "self_served"


ACCOUNTS = """\
    account,pin,name
    1001,4321,Anna Smith
"""


def test_authenticate_signs_a_caller_in_after_a_wrong_pin(fs, folder: Path):
    body = """\
      sign_in:
        type: authenticate
        source: accounts
        pin_field: pin
        account_prompt: {sound: tone5}
        pin_prompt: {sound: tone5}
        invalid_prompt: "That does not match."
        account_digits: {min: 4, max: 4}
        pin_digits: {min: 4, max: 4}
        timeout: 3s
        attempts: 2
        save_as: customer
        next: welcome
        on_fail: bye
        locked: bye
        on_error: bye
      welcome:
        type: hangup
        prompt: "Hello {{ customer.name }}."
      bye:
        type: hangup
"""
    files = {
        "default.yaml": flow(
            body, "sign_in", data="{accounts: {csv: data/accounts.csv, key: account}}"
        ),
        "data/accounts.csv": ACCOUNTS,
    }
    with live_ivr(fs, folder, files) as ivr:
        call = ivr.call()
        said = []
        for keys in ("1001#", "9999#", "1001#", "4321#"):
            call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
            call.press(keys)
            if keys == "9999#":
                said.append(spoken(call.next("PLAYBACK_START")))
        said.append(spoken(call.next("PLAYBACK_START")))
        done = call.ended()

    assert said == ["That does not match.", "Hello Anna Smith."]
    assert done.vars["customer"]["name"] == "Anna Smith"
    assert done.record.path == ["sign_in", "welcome"]


ORDERS = """\
    order_id,status
    100200,shipped
"""


@pytest.mark.parametrize(
    ("order", "answer"),
    [("100200", "Your order is shipped."), ("999999", "We could not find that order.")],
    ids=["found", "not-found"],
)
def test_a_lookup_answers_from_the_flows_data(fs, folder: Path, order: str, answer: str):
    body = """\
      ask:
        type: input
        prompt: {sound: tone5}
        digits: {min: 6, max: 6}
        save_as: order_id
        timeout: 3s
        attempts: 1
        next: find
        on_fail: bye
      find:
        type: lookup
        source: orders
        key: "{{ order_id }}"
        save_as: order
        found: tell
        not_found: unknown
        on_error: bye
      tell:
        type: hangup
        prompt: "Your order is {{ order.status }}."
      unknown:
        type: hangup
        prompt: "We could not find that order."
      bye:
        type: hangup
"""
    files = {
        "default.yaml": flow(body, "ask", data="{orders: {csv: data/orders.csv, key: order_id}}"),
        "data/orders.csv": ORDERS,
    }
    with live_ivr(fs, folder, files) as ivr:
        call = ivr.call()
        call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        call.press(order)
        said = spoken(call.next("PLAYBACK_START"))
        done = call.ended()

    assert said == answer
    assert done.record.path[:2] == ["ask", "find"]
    assert done.record.lookups == [
        ("find", "orders", "found" if "shipped" in answer else "not_found")
    ]


CALLER_VOICE = "&playback(tone_stream://%(600000,0,600))"
"""The caller's phone talks: ten minutes of a 600 Hz tone, for the voicemail to record."""


def test_a_record_node_leaves_a_voicemail_that_freeswitch_wrote(fs, folder: Path):
    body = """\
      message:
        type: record
        prompt: "Please leave a message after the beep."
        max: 2s
        next: thanks
      thanks:
        type: hangup
        prompt: "Thank you."
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "message")}) as ivr:
        call = ivr.call(phone_app=CALLER_VOICE)
        prompt = call.next("PLAYBACK_START")
        beep = call.next("PLAYBACK_START", Playback_File_Type="tone_stream")
        started = call.next("RECORD_START")
        stopped = call.next("RECORD_STOP")
        thanks = call.next("PLAYBACK_START")
        done = call.ended()

    path = Path(done.record.voicemail)
    assert beep.get("Playback-File-Path") == "tone_stream://%(500,0,800)"
    assert started.get("Record-File-Path") == stopped.get("Record-File-Path") == str(path)
    assert path.parent == folder / "recordings"
    with wave.open(str(path)) as audio:
        frames = audio.readframes(audio.getnframes())
    assert audio.getnframes() >= audio.getframerate()  # at least a second of it
    assert max(abs(s) for s in array.array("h", frames)) > 1000  # the caller's tone, not silence
    assert spoken(prompt) == "Please leave a message after the beep."
    assert spoken(thanks) == "Thank you."
    assert done.record.path == ["message", "thanks"]
    assert done.record.outcome == "voicemail"


ECHO = "9196"
"""The stock dialplan's echo test, an extension outside the IVR that answers and stays."""


@pytest.mark.parametrize(
    ("to", "then", "sent"),
    [
        (ECHO, "echo", f"{ECHO} XML default"),
        # Without its dialplan a loopback leg would inherit the caller's (inline) one.
        (f"loopback/{ECHO}/default/XML", "bridge", f"bridge:loopback/{ECHO}/default/XML inline"),
    ],
    ids=["extension", "endpoint"],
)
def test_a_blind_transfer_hands_the_call_to_the_dialplan_and_leaves_it_up(
    fs, folder: Path, to: str, then: str, sent: str
):
    body = f"""\
      handoff:
        type: transfer
        to: "{to}"
        prompt: "Putting you through."
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "handoff")}) as ivr:
        call = ivr.call()
        transfer = call.next("CHANNEL_EXECUTE", Application="transfer")
        done = call.ended()
        ivr.controller.drain(timeout=5)  # the controller has let go of the call
        # The dialplan runs the destination's application on the caller's leg: the echo
        # test's, or the bridge to the endpoint, which connects them.
        call.next("CHANNEL_EXECUTE", Application=then)
        if then == "bridge":
            call.next("CHANNEL_BRIDGE")
        still_up = fs.api(f"uuid_exists {call.ivr_leg}").strip()

    assert transfer.get("Application-Data") == sent
    assert still_up == "true"  # the controller let it go: the caller talks to the echo test
    assert done.record.transferred_to == to
    assert done.record.outcome == "transferred"


def test_an_attended_transfer_bridges_the_caller_to_an_answering_extension(fs, folder: Path):
    body = f"""\
      handoff:
        type: transfer
        to: "{ECHO}"
        ring_timeout: 5s
        on_fail: sorry
      sorry:
        type: hangup
        prompt: "Nobody can take your call."
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "handoff")}) as ivr:
        call = ivr.call()
        ring = call.next("CHANNEL_EXECUTE", Application="bridge")
        call.next("CHANNEL_BRIDGE")
        call.hang_up()
        done = call.ended()

    assert f"loopback/{ECHO}/default" in ring.get("Application-Data")
    assert done.record.transferred_to == ECHO
    assert done.record.outcome == "transferred"


def test_a_transfer_to_a_busy_destination_goes_on_to_on_fail(fs, folder: Path):
    body = """\
      handoff:
        type: transfer
        to: error/user_busy
        ring_timeout: 5s
        on_fail: sorry
      sorry:
        type: hangup
        prompt: "Nobody can take your call."
"""
    with live_ivr(fs, folder, {"default.yaml": flow(body, "handoff")}) as ivr:
        call = ivr.call()
        call.next("CHANNEL_EXECUTE", Application="bridge")
        done_ringing = call.next("CHANNEL_EXECUTE_COMPLETE", Application="bridge")
        sorry = call.next("PLAYBACK_START")
        done = call.ended()

    assert done_ringing.get("variable_originate_disposition") == "USER_BUSY"
    assert spoken(sorry) == "Nobody can take your call."
    assert done.record.path == ["handoff", "sorry"]
    assert done.record.transferred_to is None


class CardService:
    """A JSON web API on 127.0.0.1 that blocks cards and keeps the requests it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self._app, log=None, error_log=None)
        self.server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"reference": "R42", "status": "blocked"}).encode()]


@pytest.fixture
def card_service():
    service = CardService()
    yield service
    service.server.stop()


def test_an_http_node_calls_the_web_api_and_tells_the_caller_its_answer(
    fs, folder: Path, card_service: CardService
):
    body = """\
      block:
        type: http
        source: cards
        save_as: block
        next: blocked
        on_error: sorry
      blocked:
        type: hangup
        prompt: "Your reference is {{ block.reference }}."
        goal: card_blocked
      sorry:
        type: hangup
        prompt: "Sorry."
"""
    data = (
        f'{{cards: {{http: {{url: "{card_service.url}/cards/{{{{ caller }}}}/block", '
        "method: POST, json: {reason: lost}, fields: {reference: reference}}, timeout: 2s}}"
    )
    with live_ivr(fs, folder, {"default.yaml": flow(body, "block", data=data)}) as ivr:
        call = ivr.call(caller="15550001111")
        said = spoken(call.next("PLAYBACK_START"))
        done = call.ended()

    assert card_service.requests == [("POST", "/cards/15550001111/block", {"reason": "lost"})]
    assert said == "Your reference is R42."
    assert done.record.path == ["block", "blocked"]
    assert done.record.outcome == "self_served"


QUEUES = """\
    queues:
      support:
        agents: [1001]
        ring_timeout: 5s
        wrap_up: 1s
"""
AGENTS = f"""\
    agents:
      1001: {{name: Anna, endpoint: loopback/{ECHO}/default}}
"""


def test_a_queue_node_puts_the_caller_through_to_an_agent(fs, folder: Path):
    body = """\
      wait:
        type: queue
        queue: support
        max_wait: 20s
        on_timeout: bye
      bye:
        type: hangup
"""
    files = {"default.yaml": flow(body, "wait"), "queues.yaml": QUEUES, "agents.yaml": AGENTS}
    with live_ivr(fs, folder, files) as ivr:
        call = ivr.call()
        bridged = call.next("CHANNEL_BRIDGE")
        call.hang_up()
        done = call.ended()

    assert bridged.get("Other-Leg-Unique-ID")
    assert done.record.agent == "1001"
    assert done.record.outcome == "answered"


# ---------------------------------------------------------------- a SIP caller's own keys

SIPP_CALLER = Path(__file__).parent / "fixtures" / "sipp_rfc2833_caller.xml"
RFC2833_ONE = "dtmf_2833_1.pcap"
"""RTP telephone-events of the key 1, shipped with sipp (Debian's sip-tester)."""
SIPP_PCAP_DIRS = [
    Path("/usr/share/sip-tester"),
    Path("/usr/share/sipp"),
    Path("/usr/share/sipp/pcap"),
]


def sipp_and_its_pcaps() -> tuple[str, Path]:
    """sipp and the folder of its RFC 2833 recordings; skips the test when there are none."""
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.skip("sipp is not installed (Debian: apt-get install sip-tester; scripts/setup)")
    for folder in SIPP_PCAP_DIRS:
        if (folder / RFC2833_ONE).is_file():
            return sipp, folder
    pytest.skip(f"sipp's {RFC2833_ONE} is in none of {', '.join(map(str, SIPP_PCAP_DIRS))}")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_key_a_sip_caller_presses_in_its_rtp_reaches_the_menu(fs, folder: Path):
    # A trunk's call comes to the external profile, unauthenticated, in the public context:
    # our public/00_ivr_controller.xml hands the number on to the IVR's extension, which
    # sends it to the global controller (a SIP call carries no ivr_controller of its own).
    sipp, pcaps = sipp_and_its_pcaps()
    host, _, port = fs.global_getvar("ivr_controller").rpartition(":")
    sip_port = fs.global_getvar("external_sip_port")
    # MENU_AFTER's menu, with a ten-second tone.
    body = MENU_AFTER.replace("{sound: tone5}", "{sound: tone10}")
    with live_ivr(
        fs, folder, {"default.yaml": flow(body, "menu")}, listen=(host, int(port))
    ) as ivr:
        call = ivr.arriving()
        # Through gevent's subprocess: the controller's greenlets run while sipp calls.
        caller = subprocess.Popen(
            [sipp, f"127.0.0.1:{sip_port}", "-sf", str(SIPP_CALLER), "-s", IVR_NUMBER]
            + ["-m", "1", "-i", "127.0.0.1", "-mp", str(free_udp_port()), "-nostdin"]
            + ["-timeout", "30", "-timeout_error"],
            cwd=pcaps,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            prompt = call.next("PLAYBACK_START")
            key = call.next("DTMF", DTMF_Digit="1")
            stopped = call.next("PLAYBACK_STOP")
            done = call.ended()
            output, _ = caller.communicate(timeout=30)
        finally:
            if caller.poll() is None:
                caller.kill()
                caller.wait()

    assert caller.returncode == 0, output.decode(errors="replace")[-2000:]  # it got the BYE
    assert prompt.get("Channel-Name", "").startswith("sofia/external/")
    assert key.get("DTMF-Source") == "RTP"
    assert stopped.get("Playback-Status") == "break"
    assert done.record.caller == "15550001111"
    assert done.record.path == ["menu", "chosen"]
    assert done.record.outcome == "self_served"
