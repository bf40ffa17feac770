"""``ivr prompts build``: every static prompt pre-rendered, missing recordings reported."""

from pathlib import Path
from textwrap import dedent

import numpy as np

from ivr.cli import main
from ivr.prompts import audio

FLOWS = Path(__file__).parents[1] / "flows"

HOTLINE = """
flow: hotline
language: en
languages: [en, ru]
voice: en-us
start: pick
nodes:
  pick:
    type: menu
    prompt:
      - {text: "For English press 1.", language: en}
      - {text: "Для русского нажмите 2.", language: ru}
    choices: {1: welcome, 2: to_ru}
    on_fail: welcome
  to_ru: {type: language, language: ru, next: welcome}
  welcome:
    type: play
    prompt:
      en: [{sound: welcome, text: "Welcome."}, {say: money, value: "12.5", currency: EUR}]
      ru: [{sound: welcome, text: "Добро пожаловать."}, "Ваш номер {{ caller }}."]
    next: bye
  bye: {type: hangup, prompt: {en: {sound: goodbye}, ru: {sound: goodbye}}}
"""


def project(tmp_path, flow=HOTLINE, tenants=None):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hotline.yaml").write_text(dedent(flow))
    if tenants:
        (flows / "tenants.yaml").write_text(dedent(tenants))
    return flows


def build(capsys, tmp_path, flows, *options):
    code = main(
        [
            "prompts",
            "build",
            str(flows),
            "--prompt-cache",
            str(tmp_path / "cache"),
            "--sounds",
            str(tmp_path / "sounds"),
            *options,
        ]
    )
    return code, capsys.readouterr().out


def test_every_static_prompt_is_rendered_and_missing_recordings_are_reported(tmp_path, capsys):
    code, out = build(capsys, tmp_path, project(tmp_path))
    assert code == 0
    assert "hotline: en (en-us), ru" in out
    assert "Recordings missing, spoken by TTS from their text instead (2):" in out
    assert "'welcome' (en): " + str(tmp_path / "sounds/en/8000/welcome.wav") in out
    assert "'welcome' (ru): " + str(tmp_path / "sounds/ru/8000/welcome.wav") in out
    assert "Recordings missing with no text: callers hear nothing there (2):" in out
    assert "'goodbye' (ru)" in out
    assert "Rendered on calls, then cached (they use variables) (1):" in out
    assert "'Ваш номер {{ caller }}.' (ru)" in out
    texts = {p.read_text(encoding="utf-8") for p in (tmp_path / "cache").rglob("*.txt")}
    assert {"For English press 1.", "Для русского нажмите 2.", "Welcome.", "Добро пожаловать."} <= (
        texts
    )
    assert {"twelve", "euros", "and", "fifty", "cents", "twelve euros and fifty cents"} <= texts


def test_a_second_build_finds_everything_in_the_cache(tmp_path, capsys):
    flows = project(tmp_path)
    build(capsys, tmp_path, flows)
    code, out = build(capsys, tmp_path, flows)
    assert code == 0
    assert " 0 rendered now, " in out


def test_a_recording_that_exists_is_not_reported_and_nothing_is_rendered_for_it(tmp_path, capsys):
    rate = 8000
    t = np.arange(rate) / rate
    for language in ("en", "ru"):
        folder = tmp_path / "sounds" / language / str(rate)
        folder.mkdir(parents=True)
        speech = (0.126 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)  # -21 dBFS RMS
        audio.write_wav(folder / "welcome.wav", speech, rate)
        audio.write_wav(folder / "goodbye.wav", speech / 10, rate)  # 20 dB too quiet
    code, out = build(capsys, tmp_path, project(tmp_path))
    assert code == 0
    assert "Recordings missing" not in out
    texts = {p.read_text(encoding="utf-8") for p in (tmp_path / "cache").rglob("*.txt")}
    assert "Welcome." not in texts
    assert "Recordings more than 3 dB from the prompts' level (-21 dBFS):" in out
    assert "goodbye.wav: -41.0 dBFS" in out
    assert "welcome.wav" not in out.partition("prompts' level")[2]


def test_a_wideband_build_renders_at_16000_hz(tmp_path, capsys):
    code, _ = build(capsys, tmp_path, project(tmp_path), "--rate", "16000")
    assert code == 0
    rates = {audio.read_wav(p)[1] for p in (tmp_path / "cache").rglob("*.wav")}
    assert rates == {16000}


def test_a_tenants_voice_is_checked_and_a_voice_that_is_not_installed_fails_the_build(
    tmp_path, capsys
):
    tenants = 'tenants:\n  acme: {name: Acme, numbers: ["100"], flow: hotline, voice: en-xx}\n'
    code, out = build(capsys, tmp_path, project(tmp_path, tenants=tenants))
    assert code == 1
    assert "error: " in out and "voice 'en-xx' is not installed (voices for en:" in out
    assert "Traceback" not in out


def test_flows_with_mistakes_are_not_built(tmp_path, capsys):
    broken = HOTLINE.replace("type: hangup", "type: hang_up")
    code = main(["prompts", "build", str(project(tmp_path, broken))])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown node type 'hang_up'" in err


def test_the_example_flows_are_built_with_every_language_and_tenant_voice(tmp_path, capsys):
    code, out = build(capsys, tmp_path, FLOWS)
    assert code == 0
    assert "trakia_mobile: en (en-us), bg, ru; tenant trakia: bg (bg+f2), en (en-us), ru" in out
    assert "error:" not in out
