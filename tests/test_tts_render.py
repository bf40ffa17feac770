"""Real text to speech with pyttsx3 and espeak-ng: the files FreeSWITCH will play."""

import wave

import pytest

from ivr.prompts import audio
from ivr.prompts.files import PromptFiles
from ivr.prompts.pieces import spoken_value
from ivr.prompts.tts import Speaker, TtsUnavailable, UnknownVoice
from ivr.runtime.channel import Utterance


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("prompts")


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize(
    ("text", "language", "voice"),
    [
        ("Welcome to Acme Bank.", "en", "en-us"),
        ("Добро пожаловать в Тракия Мобайл.", "ru", None),
        ("Добре дошли в Тракия Мобайл.", "bg", None),
    ],
)
def test_a_rendered_prompt_is_mono_16_bit_pcm_at_the_rate_and_not_silence(
    cache, rate, text, language, voice
):
    files = PromptFiles(cache / str(rate), cache / "sounds", rate)
    path = files.path_for(Utterance(text, language, voice))
    with wave.open(path, "rb") as wav:
        assert wav.getframerate() == rate
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getcomptype() == "NONE"
        assert 0.5 < wav.getnframes() / rate < 10
    samples, _ = audio.read_wav(path)
    assert not audio.is_silent(samples, rate)
    level = audio.active_level(samples, rate)
    # As loud as the other prompts and the hold music to a caller: steps under 3 dB between
    # prompts go unnoticed on a phone line. espeak's peaks vary from run to run, and a prompt
    # whose peaks reach the ceiling stays a little under the level rather than clipping.
    assert level == pytest.approx(audio.LEVEL_DBFS, abs=3.0)
    if level < audio.LEVEL_DBFS - 0.5:
        assert audio.peak(samples) == pytest.approx(audio.PEAK_CEILING_DBFS, abs=0.1)
    assert audio.peak(samples) <= audio.PEAK_CEILING_DBFS + 0.1


def test_a_rendered_prompt_starts_with_speech_not_silence(cache):
    files = PromptFiles(cache / "lead", cache / "sounds")
    samples, rate = audio.read_wav(files.render("Please hold.", "en", "en-us"))
    first = int(rate * (audio.LEAD_SECONDS + 0.03))
    assert audio.peak(samples[:first]) > -40


def test_a_balance_is_joined_from_spoken_pieces(cache):
    files = PromptFiles(cache / "pieces", cache / "sounds")
    path = files.path_for(spoken_value("money", "1234.56", "bg", None))
    samples, rate = audio.read_wav(path)
    assert not audio.is_silent(samples, rate)
    assert len(samples) / rate > 2.0  # eleven words


def test_a_voice_variant_and_a_family_name_are_accepted():
    speaker = Speaker()
    assert speaker.voice_id("en", "en-us+f3").lower() == "gmw/en-us+f3"
    assert speaker.voice_id("ru", None).lower() == "zle/ru"
    assert speaker.voice_id("bg", "zls/bg").lower() == "zls/bg"


def test_an_unknown_voice_is_refused_with_the_voices_of_its_language():
    with pytest.raises(
        UnknownVoice, match=r"voice 'en-xx' is not installed \(voices for en: .*en-us"
    ):
        Speaker().voice_id("en", "en-xx")


def test_an_unknown_variant_is_refused():
    with pytest.raises(UnknownVoice, match="no variant 'nosuch'"):
        Speaker().voice_id("en", "en-us+nosuch")


def test_a_language_no_voice_speaks_is_refused():
    with pytest.raises(UnknownVoice, match="no installed TTS voice speaks 'xx'"):
        Speaker().voice_id("xx", None)


def test_a_missing_espeak_ng_is_reported_with_what_to_install(monkeypatch):
    import pyttsx3

    def no_espeak(driver):
        raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")

    monkeypatch.setattr(pyttsx3, "init", no_espeak)
    with pytest.raises(TtsUnavailable, match=r"install espeak-ng \(apt-get install espeak-ng\)"):
        Speaker().start()
