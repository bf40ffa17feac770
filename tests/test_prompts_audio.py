"""Prompt audio processing: trimming, loudness, resampling."""

import numpy as np
import pytest

from ivr.prompts import audio


def tone(rate, seconds, amplitude, lead=0.0, tail=0.0):
    t = np.arange(int(rate * seconds)) / rate
    body = amplitude * np.sin(2 * np.pi * 440 * t)
    return np.concatenate([np.zeros(int(rate * lead)), body, np.zeros(int(rate * tail))]).astype(
        np.float32
    )


def test_silence_before_the_first_sound_is_cut_and_a_short_lead_kept():
    trimmed = audio.trim(tone(8000, 1.0, 0.3, lead=0.8), 8000, tail_seconds=0.0)
    assert len(trimmed) / 8000 == pytest.approx(1.0 + audio.LEAD_SECONDS, abs=0.03)


def test_silence_after_the_last_sound_is_kept_to_the_tail_asked_for():
    trimmed = audio.trim(tone(8000, 1.0, 0.3, tail=2.0), 8000, tail_seconds=0.25)
    assert len(trimmed) / 8000 == pytest.approx(1.25, abs=0.03)


@pytest.mark.parametrize("amplitude", [0.01, 0.1, 0.5])
def test_quiet_and_loud_speech_end_at_the_same_level(amplitude):
    out = audio.normalise(tone(8000, 1.0, amplitude), 8000)
    assert audio.active_level(out, 8000) == pytest.approx(audio.LEVEL_DBFS, abs=0.1)


def test_pauses_do_not_make_speech_count_as_quieter():
    with_pause = np.concatenate([tone(8000, 0.5, 0.1), np.zeros(16000), tone(8000, 0.5, 0.1)])
    assert audio.active_level(with_pause, 8000) == pytest.approx(
        audio.active_level(tone(8000, 1.0, 0.1), 8000), abs=0.2
    )


def test_normalising_never_pushes_peaks_over_the_ceiling():
    spiky = tone(8000, 1.0, 0.01)
    spiky[4000] = 0.9
    out = audio.normalise(spiky, 8000)
    assert audio.peak(out) == pytest.approx(audio.PEAK_CEILING_DBFS, abs=0.01)


def test_silence_stays_silence():
    quiet = np.zeros(8000, dtype=np.float32)
    assert audio.active_level(quiet, 8000) is None
    assert audio.is_silent(audio.normalise(quiet, 8000), 8000)


def test_resampling_keeps_the_duration():
    out = audio.resample(tone(22050, 1.0, 0.3), 22050, 8000)
    assert len(out) == pytest.approx(8000, abs=2)


def test_a_wav_is_written_and_read_back_as_mono_16_bit(tmp_path):
    path = tmp_path / "a.wav"
    audio.write_wav(path, tone(16000, 0.5, 0.25), 16000)
    samples, rate = audio.read_wav(path)
    assert rate == 16000
    assert audio.peak(samples) == pytest.approx(20 * np.log10(0.25), abs=0.1)
    assert not list(tmp_path.glob("*.part"))


def test_a_file_that_is_not_a_wav_is_refused_clearly(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    with pytest.raises(audio.AudioError, match="not a readable WAV file"):
        audio.read_wav(path)
