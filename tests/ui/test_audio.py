"""Spoken guidance through the real espeak-ng, off the caller's thread."""

from __future__ import annotations

import shutil
import time

import pytest

from ui.audio import Guide


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is a listed Debian dependency")
def test_speaks_indonesian_into_a_wave_file(tmp_path):
    wav = tmp_path / "guide.wav"
    guide = Guide(extra_args=["-w", str(wav)])
    assert guide.command("Halo", "id")[1:3] == ["-v", "id"]
    guide.say("Selamat datang. Sentuh tombol Mulai.", "id")
    assert wait_for(lambda: guide.spoken == 1 and wav.exists() and wav.stat().st_size > 10_000)
    assert wait_for(lambda: guide._current is None)
    assert wav.read_bytes()[:4] == b"RIFF"
    guide.close()


def test_switched_off_or_missing_espeak_is_silent(tmp_path):
    off = Guide(enabled=False)
    off.say("Halo")
    missing = Guide(executable="espeak-ng-that-is-not-installed")
    assert not missing.available
    missing.say("Halo")
    time.sleep(0.2)
    assert off.spoken == 0 and missing.spoken == 0
    assert off._thread is None and missing._thread is None


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is a listed Debian dependency")
def test_a_new_screen_stops_the_sentence_still_playing(tmp_path):
    guide = Guide(extra_args=["-w", str(tmp_path / "a.wav")])
    guide.say("Kalimat panjang " * 40, "id")
    assert wait_for(lambda: guide._current is not None)
    first = guide._current
    guide.say("Selesai", "id")
    assert wait_for(lambda: first.poll() is not None)
    assert wait_for(lambda: guide.spoken == 2)
    guide.close()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is a listed Debian dependency")
@pytest.mark.parametrize("language", ["id", "en"])
def test_a_spoken_message_renders_at_each_volume(tmp_path, language):
    """What the kiosk says for a wrong NIK or PIN, through espeak-ng into a WAV file: the quiet
    volume gives a quieter file than the loud one."""
    import array

    from kiosk.session_model import Message
    from ui.i18n import spoken_message

    sentence = spoken_message(Message("pin.no_match", {"attempts_left": 4, "nik": "320101******0003"}), language)
    assert "******" not in sentence and "bintang" not in sentence
    peaks = {}
    for volume in ("low", "high"):
        wav = tmp_path / f"{volume}.wav"
        guide = Guide(extra_args=["-w", str(wav)], volume=volume)
        guide.say(sentence, language)
        assert wait_for(lambda: guide.spoken == 1 and guide._current is None and wav.exists())
        guide.close()
        samples = array.array("h", wav.read_bytes()[44:])      # 16-bit PCM after the RIFF header
        assert len(samples) > 16000 * 3, "a sentence of several seconds"
        peaks[volume] = max(abs(s) for s in samples)
    assert peaks["low"] < peaks["high"]
