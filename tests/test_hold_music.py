"""The project's own hold music is valid telephone audio that loops without a click."""

import math
import wave
from array import array
from pathlib import Path

import pytest

from ivr.prompts.music import write_hold_music

MUSIC = Path(__file__).resolve().parents[1] / "sounds" / "music"
FULL_SCALE = 32768
FRESH_SECONDS = 4.0


def dbfs(amplitude: float) -> float:
    return 20 * math.log10(max(amplitude, 1) / FULL_SCALE)


def read_samples(path: Path):
    # wave returns frames in native byte order, which is what array("h") expects.
    with wave.open(str(path)) as audio:
        params = audio.getparams()
        return params, array("h", audio.readframes(params.nframes))


@pytest.fixture(scope="module")
def fresh_music(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    write_hold_music(folder, seconds=FRESH_SECONDS)
    return folder


@pytest.fixture(
    params=[("committed", 8000), ("committed", 16000), ("fresh", 8000), ("fresh", 16000)],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def hold_music(request, fresh_music) -> tuple[int, Path]:
    origin, rate = request.param
    folder = MUSIC if origin == "committed" else fresh_music
    return rate, folder / str(rate) / "ivr-hold.wav"


def test_hold_music_is_mono_16_bit_pcm_at_its_folder_rate(hold_music):
    rate, path = hold_music
    params, _ = read_samples(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, rate)
    assert params.comptype == "NONE"


def test_hold_music_is_audible_not_silence(hold_music):
    _, path = hold_music
    _, samples = read_samples(path)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert dbfs(rms) > -30


def test_hold_music_peaks_below_minus_6_dbfs(hold_music):
    _, path = hold_music
    _, samples = read_samples(path)
    assert dbfs(max(abs(s) for s in samples)) < -6


def test_hold_music_starts_and_ends_in_silence_so_the_loop_does_not_click(hold_music):
    rate, path = hold_music
    _, samples = read_samples(path)
    edge = rate // 100  # 10 ms
    assert dbfs(max(abs(s) for s in samples[:edge])) < -40
    assert dbfs(max(abs(s) for s in samples[-edge:])) < -40
    assert samples[0] == samples[-1] == 0


@pytest.mark.parametrize("rate", [8000, 16000])
def test_committed_hold_music_is_small_enough_to_keep_in_git(rate):
    assert (MUSIC / str(rate) / "ivr-hold.wav").stat().st_size < 1_000_000


def test_write_hold_music_returns_one_file_per_rate_of_the_requested_length(tmp_path):
    paths = write_hold_music(tmp_path, seconds=2.5)
    assert paths == [tmp_path / "8000" / "ivr-hold.wav", tmp_path / "16000" / "ivr-hold.wav"]
    for path in paths:
        params, _ = read_samples(path)
        assert params.nframes == int(2.5 * params.framerate)


def test_write_hold_music_refuses_a_loop_too_short_for_the_chords(tmp_path):
    with pytest.raises(ValueError, match="at least 2 seconds"):
        write_hold_music(tmp_path, seconds=1)
