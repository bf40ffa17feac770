"""The call's language and voice: language nodes, tenants, fixed-language parts, recordings."""

import datetime as dt
from textwrap import dedent

import numpy as np
from flowkit import build, call, hear, press, said

from ivr.cli import main
from ivr.prompts import audio
from ivr.prompts.voices import voice_for
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel

FLOW = """
flow: t
language: en
languages: [en, ru, bg]
voice: en-us
start: pick
nodes:
  pick:
    type: menu
    prompt:
      - {text: "For English press 1.", language: en}
      - {text: "Для русского нажмите 2.", language: ru}
      - {text: "За български натиснете 3.", language: bg}
    choices: {1: to_en, 2: to_ru, 3: to_bg}
    attempts: 1
    on_fail: info
  to_en: {type: language, language: en, next: info}
  to_ru: {type: language, language: ru, next: info}
  to_bg: {type: language, language: bg, voice: "bg+f2", next: info}
  info:
    type: play
    prompt:
      en: ["You owe", {say: money, value: "2", currency: RUB}]
      ru: ["Вы должны", {say: money, value: "2", currency: RUB}]
      bg: ["Дължите", {say: money, value: "2", currency: RUB}]
    next: bye
  bye: {type: hangup, prompt: {en: "Goodbye.", ru: "До свидания.", bg: "Довиждане."}}
"""
TENANTS = """
tenants:
  sofia: {name: Sofia Bank, numbers: ["359"], flow: t, language: bg, voice: "bg+m3"}
  london: {name: London Bank, numbers: ["44"], flow: t, voice: en-gb}
"""


def a_call(project, tenant=None):
    channel = MemoryChannel(CallInfo("c"), start=dt.datetime(2026, 11, 23, tzinfo=dt.UTC), steps=[])
    flow = project.flows["t"]
    return Call(CallServices(project), flow, channel, project.tenants.get(tenant))


def voices(call, node):
    prompt = call.flow.nodes[node].opts["prompt"]
    return [(u.language, u.voice) for u in call.utterances(prompt)]


def test_each_part_of_the_language_menu_is_spoken_in_its_own_language_and_voice(tmp_path):
    call_ = a_call(build(tmp_path, FLOW, **{"tenants.yaml": TENANTS}), "sofia")
    assert voices(call_, "pick") == [("en", "en-us"), ("ru", None), ("bg", "bg+m3")]


def test_after_switching_language_every_prompt_and_value_follows_it(tmp_path):
    result = call(build(tmp_path, FLOW), press("2"))
    assert said(result)[-3:] == ["Вы должны", "два рубля", "До свидания."]


def test_without_a_choice_the_flows_language_speaks(tmp_path):
    result = call(build(tmp_path, FLOW))
    assert said(result)[3:] == ["You owe", "two roubles", "Goodbye."]


def test_a_bulgarian_caller_hears_roubles_in_bulgarian(tmp_path):
    result = call(build(tmp_path, FLOW), press("3"), hear("Дължите две рубли"))
    assert result.passed, result.failures


def test_a_language_node_without_a_voice_uses_that_languages_voice_not_the_previous_one(tmp_path):
    call_ = a_call(build(tmp_path, FLOW))
    call_.set_language("ru")
    assert voices(call_, "bye") == [("ru", None)]
    call_.set_language("en")
    assert voices(call_, "bye") == [("en", "en-us")]  # the flow's voice for its language
    call_.set_language("bg", "bg+f2")
    assert voices(call_, "bye") == [("bg", "bg+f2")]


def test_a_tenants_language_and_voice_apply_from_the_start(tmp_path):
    project = build(tmp_path, FLOW, **{"tenants.yaml": TENANTS})
    sofia = a_call(project, "sofia")
    assert (sofia.language, sofia.voice) == ("bg", "bg+m3")
    london = a_call(project, "london")
    assert (london.language, london.voice) == ("en", "en-gb")
    london.set_language("ru")
    assert london.voice is None  # a tenant's English voice never speaks Russian


def test_voice_for_prefers_the_tenant_then_the_flow_for_their_own_languages(tmp_path):
    project = build(tmp_path, FLOW, **{"tenants.yaml": TENANTS})
    flow, sofia, london = project.flows["t"], project.tenants["sofia"], project.tenants["london"]
    assert voice_for("bg", flow, sofia) == "bg+m3"
    assert voice_for("en", flow, sofia) == "en-us"
    assert voice_for("en", flow, london) == "en-gb"
    assert voice_for("en-gb", flow, None) == "en-us"
    assert voice_for("ru", flow, None) is None


def validate(tmp_path, capsys, flow):
    (tmp_path / "flow.yaml").write_text(dedent(flow))
    code = main(["validate", str(tmp_path / "flow.yaml")])
    return code, capsys.readouterr().out


def test_validate_reports_a_prompt_missing_in_a_language_the_flow_offers(tmp_path, capsys):
    code, out = validate(tmp_path, capsys, FLOW.replace(', bg: "Довиждане."', ""))
    assert code == 1
    assert "prompt has no text for bg, which the flow offers" in out


def test_validate_reports_text_in_one_language_in_a_flow_of_several(tmp_path, capsys):
    flow = FLOW.replace(
        'prompt: {en: "Goodbye.", ru: "До свидания.", bg: "Довиждане."}', 'prompt: "Goodbye."'
    )
    code, out = validate(tmp_path, capsys, flow)
    assert code == 1
    assert (
        "prompt has text in one language, but the flow offers en, ru, bg: write it per language "
        "({en: ..., ru: ..., bg: ...}), or fix a part's language with {text: ..., language: ...}"
    ) in out


def test_a_value_or_a_recording_without_text_needs_no_translation(tmp_path, capsys):
    flow = FLOW.replace(
        'prompt: {en: "Goodbye.", ru: "До свидания.", bg: "Довиждане."}',
        'prompt: [{sound: goodbye}, {say: number, value: "{{ 1 + 1 }}"}]',
    )
    code, out = validate(tmp_path, capsys, flow)
    assert code == 0, out


def test_validate_reports_a_part_in_a_language_the_flow_does_not_offer(tmp_path, capsys):
    code, out = validate(tmp_path, capsys, FLOW.replace("language: bg}", "language: de}"))
    assert code == 1
    assert "prompt has a part in 'de' but the flow offers only en, ru, bg" in out


def test_validate_reports_say_options_that_cannot_be_said(tmp_path, capsys):
    flow = FLOW.replace("currency: RUB}]\n      ru", "currency: RUR}]\n      ru").replace(
        '["Дължите", {say: money, value: "2", currency: RUB}]',
        '["Дължите", {say: money, value: "2", gender: feminine}]',
    )
    code, out = validate(tmp_path, capsys, flow)
    assert code == 1
    assert "'RUR' is not a currency that can be said; use one of: USD, EUR, GBP, BGN, RUB" in out
    assert "'gender:' goes with 'say: number' or 'say: ordinal' only" in out


def test_a_text_part_needs_its_language(tmp_path, capsys):
    code, out = validate(tmp_path, capsys, FLOW.replace(", language: ru}", "}"))
    assert code == 1
    assert "a 'text:' part needs the 'language:' it is spoken in" in out


def test_a_tenants_own_recording_plays_on_its_calls_through_freeswitch(tmp_path, capsys):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hello.yaml").write_text(
        dedent(
            """
            flow: hello
            start: hi
            nodes:
              hi: {type: hangup, prompt: {sound: welcome, text: "Welcome, said by TTS."}}
            """
        )
    )
    (flows / "tenants.yaml").write_text(
        'tenants:\n  acme: {name: Acme, numbers: ["100"], flow: hello}\n'
    )
    own = tmp_path / "sounds" / "tenants" / "acme" / "en" / "8000"
    own.mkdir(parents=True)

    audio.write_wav(own / "welcome.wav", np.full(8000, 0.1, dtype=np.float32), 8000)
    (own / "welcome.txt").write_text("Welcome to Acme, recorded in our studio.")
    (flows / "hello.test.yaml").write_text(
        dedent(
            """
            flow: hello
            cases:
              - name: the tenant's recording
                dialed: "100"
                steps: [{hear: "recorded in our studio"}]
              - name: a call for no tenant falls back to TTS
                dialed: "999"
                steps: [{hear: "Welcome, said by TTS"}]
            """
        )
    )
    code = main(["test", "--via-esl", str(flows)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 passed, 0 failed" in out
