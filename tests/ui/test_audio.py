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
