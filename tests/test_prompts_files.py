"""Prompt files: recordings over TTS, the content-addressed cache, one rendering per new prompt."""

import logging
import threading
import time

import gevent
import numpy as np
import pytest

from ivr.prompts import audio
from ivr.prompts.files import PromptFiles
from ivr.prompts.pieces import spoken_value
from ivr.prompts.tts import UnknownVoice
from ivr.runtime.channel import ChannelError, Utterance


class ToneSpeaker:
    """A stand-in TTS engine: a tone per text after a pause, taking ``seconds`` of real time."""

    version = "tone 1"
    words_per_minute = 160

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.spoken: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def start(self) -> str:
        return self.version

    def voice_id(self, language, voice):
        if voice == "nobody":
            raise UnknownVoice("voice 'nobody' is not installed (voices for en: en, en-us)")
        return f"{voice or language}-voice"

    def synthesize(self, text, voice_id):
        with self.lock:
            time.sleep(self.seconds)
            self.spoken.append((text, voice_id))
        rate = 22050
        t = np.arange(int(rate * 0.3)) / rate
        tone = 0.05 * np.sin(2 * np.pi * (300 + 10 * len(text)) * t)
        lead = np.zeros(int(rate * 0.5))
        return np.concatenate([lead, tone, lead]).astype(np.float32), rate


@pytest.fixture
def speaker():
    return ToneSpeaker()


@pytest.fixture
def files(tmp_path, speaker):
    return PromptFiles(tmp_path / "cache", tmp_path / "sounds", speaker=speaker)


def recording(sounds, relative, seconds=0.5, rate=8000):
    path = sounds / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    audio.write_wav(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path


def test_a_text_prompt_is_rendered_once_and_then_served_from_the_cache(files, speaker):
    first = files.path_for(Utterance("Welcome to Acme Bank.", "en", "en-us"))
    second = files.path_for(Utterance("Welcome to Acme Bank.", "en", "en-us"))
    assert first == second
    assert speaker.spoken == [("Welcome to Acme Bank.", "en-us-voice")]
    assert files.stats.renders == 1


def test_the_prompt_cache_metric_counts_a_miss_then_hits(files):
    from ivr.prompts.files import PROMPT_CACHE

    def count(result):
        return PROMPT_CACHE.counter.labels(result=result)._value.get()

    hits, misses = count("hit"), count("miss")
    for _ in range(3):
        files.path_for(Utterance("Thank you for holding.", "en", "en-us"))
    assert (count("miss") - misses, count("hit") - hits) == (1, 2)


def test_a_rendering_is_mono_16_bit_at_the_configured_rate_with_its_words_beside_it(tmp_path):
    for rate in (8000, 16000):
        files = PromptFiles(tmp_path / str(rate), tmp_path / "sounds", rate, speaker=ToneSpeaker())
        path = files.render("Hello.", "en", None)
        samples, got_rate = audio.read_wav(path)
        assert got_rate == rate
        assert path.with_suffix(".txt").read_text(encoding="utf-8") == "Hello."
        assert audio.active_level(samples, rate) == pytest.approx(audio.LEVEL_DBFS, abs=0.5)


def test_leading_silence_is_trimmed_from_a_rendering(files):
    samples, rate = audio.read_wav(files.render("Hello.", "en", None))
    assert len(samples) / rate < 0.3 + audio.LEAD_SECONDS + 0.3


@pytest.mark.parametrize(
    ("change", "value"),
    [("text", "Goodbye."), ("language", "ru"), ("voice", "en-gb")],
)
def test_changing_what_is_said_or_who_says_it_never_serves_a_stale_file(files, change, value):
    said = {"text": "Hello.", "language": "en", "voice": "en-us"}
    first = files.render(said["text"], said["language"], said["voice"])
    said[change] = value
    assert files.render(said["text"], said["language"], said["voice"]) != first


def test_the_cache_key_covers_engine_speaking_rate_sample_rate_and_level(tmp_path):
    def key(**options):
        speaker = ToneSpeaker()
        speaker.version = options.pop("version", "tone 1")
        speaker.words_per_minute = options.pop("wpm", 160)
        files = PromptFiles(tmp_path, tmp_path, speaker=speaker, **options)
        return files.key("prompt", "Hello.", "en", "en-voice")

    base = key()
    assert len({base, key(version="tone 2"), key(wpm=140), key(rate=16000), key(level=-18)}) == 5


def test_two_calls_needing_the_same_new_prompt_render_it_once(tmp_path):
    speaker = ToneSpeaker(seconds=0.2)
    files = PromptFiles(tmp_path / "cache", tmp_path / "sounds", speaker=speaker)
    calls = [gevent.spawn(files.render, "Please hold.", "en", None) for _ in range(5)]
    gevent.joinall(calls, raise_error=True)
    assert len({call.value for call in calls}) == 1
    assert len(speaker.spoken) == 1


def test_other_calls_go_on_while_a_prompt_renders(tmp_path):
    rendering, other_call_ran = threading.Event(), threading.Event()

    class WaitsForAnotherCall(ToneSpeaker):
        def synthesize(self, text, voice_id):
            rendering.set()
            # Were the render to hold up every call, the other one could not run until it ended.
            if not other_call_ran.wait(30):
                raise ChannelError("no other call ran while the prompt rendered")
            return super().synthesize(text, voice_id)

    def other_call():
        while not rendering.is_set():
            gevent.sleep(0.01)
        other_call_ran.set()

    files = PromptFiles(tmp_path / "cache", tmp_path / "sounds", speaker=WaitsForAnotherCall())
    other = gevent.spawn(other_call)
    assert files.render("A long prompt.", "en", None).exists()
    assert other.dead


def test_a_failed_rendering_fails_every_call_waiting_for_it_and_is_retried_later(tmp_path):
    class Broken(ToneSpeaker):
        def synthesize(self, text, voice_id):
            time.sleep(0.1)
            raise ChannelError("the TTS engine failed")

    files = PromptFiles(tmp_path / "cache", tmp_path / "sounds", speaker=Broken())
    calls = [gevent.spawn(files.render, "Hello.", "en", None) for _ in range(3)]
    gevent.joinall(calls)
    assert all(isinstance(call.exception, ChannelError) for call in calls)
    files.speaker = ToneSpeaker()
    assert files.render("Hello.", "en", None).exists()


def test_a_recording_overrides_tts(files, tmp_path, speaker):
    wav = recording(tmp_path / "sounds", "en/8000/welcome.wav")
    path = files.path_for(Utterance("Welcome.", "en", None, sound="welcome"))
    assert path == str(wav)
    assert speaker.spoken == []


def test_a_recording_is_found_without_a_rate_folder_too(files, tmp_path):
    wav = recording(tmp_path / "sounds", "bg/welcome.wav")
    assert files.path_for(Utterance("", "bg", None, sound="welcome")) == str(wav)


def test_a_wideband_cache_prefers_the_16000_hz_recording(tmp_path):
    recording(tmp_path / "sounds", "en/8000/welcome.wav")
    wide = recording(tmp_path / "sounds", "en/16000/welcome.wav", rate=16000)
    files = PromptFiles(tmp_path / "cache", tmp_path / "sounds", 16000, speaker=ToneSpeaker())
    assert files.recording("welcome", "en") == wide


def test_a_missing_recording_with_text_falls_back_to_tts(files, speaker):
    path = files.path_for(Utterance("Welcome.", "ru", None, sound="welcome"))
    assert path.endswith(".wav") and "/cache/ru/" in path
    assert speaker.spoken == [("Welcome.", "ru-voice")]


def test_a_missing_recording_without_text_is_logged_and_its_expected_path_played(
    files, tmp_path, caplog
):
    with caplog.at_level(logging.WARNING, "ivr.prompts"):
        path = files.path_for(Utterance("", "en", None, sound="welcome"))
    assert path == str(tmp_path / "sounds" / "en" / "8000" / "welcome.wav")
    assert "recording 'welcome' is missing for en" in caplog.text


def test_a_tenants_own_recording_comes_before_the_shared_one(files, tmp_path):
    recording(tmp_path / "sounds", "en/8000/welcome.wav")
    own = recording(tmp_path / "sounds", "tenants/acme/en/8000/welcome.wav")
    tenant_files = files.for_tenant("acme")
    assert tenant_files.path_for(Utterance("", "en", None, sound="welcome")) == str(own)
    assert files.path_for(Utterance("", "en", None, sound="welcome")) != str(own)


def test_a_recording_added_or_removed_while_serving_is_noticed_on_the_next_prompt(files, tmp_path):
    welcome = Utterance("Welcome.", "en", None, sound="welcome")
    tenant_files = files.for_tenant("acme")
    spoken = tenant_files.path_for(welcome)
    assert "/cache/en/" in spoken
    own = recording(tmp_path / "sounds", "tenants/acme/en/8000/welcome.wav")
    assert files.for_tenant("acme").path_for(welcome) == str(own)
    own.unlink()
    assert files.for_tenant("acme").path_for(welcome) == spoken


def test_a_tenant_view_shares_the_cache_and_its_renderings(files, speaker):
    files.for_tenant("acme").render("Hello.", "en", None)
    files.render("Hello.", "en", None)
    assert len(speaker.spoken) == 1
    assert files.stats.renders == 1


def test_a_value_is_joined_from_pieces_rendered_once_each(files, speaker):
    files.path_for(spoken_value("money", "21.21", "ru", None))
    assert sorted(text for text, _ in speaker.spoken) == sorted(
        ["двадцать", "один", "рубль", "одна", "копейка"]
    )
    speaker.spoken.clear()
    path = files.path_for(spoken_value("money", "1.21", "ru", None))
    assert speaker.spoken == []  # every piece is already there: no TTS run
    assert open(path.replace(".wav", ".txt"), encoding="utf-8").read() == (
        "один рубль двадцать одна копейка"
    )


def test_a_voice_that_is_not_installed_is_logged_and_the_languages_voice_speaks(
    files, speaker, caplog
):
    with caplog.at_level(logging.ERROR, "ivr.prompts"):
        files.render("Hello.", "en", "nobody")
    assert speaker.spoken == [("Hello.", "en-voice")]
    assert "voice 'nobody' is not installed" in caplog.text


def test_only_8000_and_16000_hz_are_offered(tmp_path):
    with pytest.raises(ValueError, match="use one of"):
        PromptFiles(tmp_path, tmp_path, 44100)
