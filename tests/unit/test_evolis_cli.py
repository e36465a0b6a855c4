"""`adm-kiosk simulate card-printer` and `adm-kiosk simulate decode-card`."""

import signal
import subprocess
import sys

import pytest

from devices.status import DeviceState
from kiosk.cli import main
from printer_drivers.evolis.printer import EvolisPrinter
from tests.conftest import REPO


def test_decode_card_writes_panels_and_composite(evolis_testdata, tmp_path, capsys):
    assert main(["simulate", "decode-card", str(evolis_testdata / "evolis-card-text.evolis"), "--out", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(p.split("/")[-1] for p in written) == ["evolis-card-text-front-k.png", "evolis-card-text-front.png"]
    assert (tmp_path / "evolis-card-text-front.png").stat().st_size > 1000


def test_decode_card_refuses_bad_input(tmp_path, capsys):
    missing = tmp_path / "nope.evolis"
    assert main(["simulate", "decode-card", str(missing), "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    truncated = tmp_path / "cut.evolis"
    truncated.write_bytes(b"\x1bPr;k\r\x1bSs\r\x1bSr\r\x1bDbc;k;2;500;\x00\x00")
    assert main(["simulate", "decode-card", str(truncated), "--out", str(tmp_path)]) == 1
    assert "not a valid card stream" in capsys.readouterr().err
    empty = tmp_path / "empty.evolis"
    empty.write_bytes(b"\x1bRfv\r" + bytes(20))
    assert main(["simulate", "decode-card", str(empty), "--out", str(tmp_path)]) == 1
    assert "no panel" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


def test_unknown_fault_is_refused(capsys):
    assert main(["simulate", "card-printer", "--faults", "gremlins"]) == 2
    assert "unknown card printer fault" in capsys.readouterr().err


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_card_printer_serves_until_stopped(tmp_path, stop_signal):
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "simulate", "card-printer", "--socket", "0", "--faults", "feeder_empty",
         "--panel-seconds", "0", "--card-seconds", "0", "--out", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("socket://127.0.0.1:"), first
        printer = EvolisPrinter(url, timeout=2.0)
        status = printer.status()
        printer.close()
        assert status.state == DeviceState.USER_ERROR and status.capabilities["model"]
        process.send_signal(stop_signal)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0 and "0 card(s) printed" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_speed_and_answer_options_are_refused(capsys):
    assert main(["simulate", "card-printer", "--speed", "realistic", "--time-scale", "-1"]) == 2
    assert "time scale must be a number >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "card-printer", "--answers", "loud"])
    assert "invalid choice: 'loud'" in capsys.readouterr().err
