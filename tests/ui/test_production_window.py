"""The production window: `adm-kiosk run` in kiosk mode on a bare X server (Xvfb, no window
manager, as systemd/adm-kiosk.service starts it under xinit), in portrait and landscape,
with a serial QR scanner on a socket.

What is checked is the X server's own picture of its root window (`xwd -root`), not Kivy's
read-back: on a server with no window manager, SDL's fullscreen mode left an 800x600 white box
on black while Kivy's read-back showed a perfect attract screen. The X grab must show the
attract screen's marks across the whole screen and match, pixel for pixel but for antialiased
edges, Kivy's own read-back of the same attract screen drawn in the test
window from the same configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from PIL import Image

from devices.sim.scanner import ScannerSimulator
from devices.sim.serve import serve_socket
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import write_kiosk_config
from tests.kiosk_process import REPO, KioskProcess
from tests.ui.harness import LANDSCAPE, PORTRAIT
from tests.ui.rig import kiosk_ui  # noqa: F401
from tests.x_screen import Xvfb, attract_screen_problems, difference_share, save
from ui.x_display import root_window_size

pytestmark = pytest.mark.ui

ORIENTATIONS = {"portrait": PORTRAIT, "landscape": LANDSCAPE}
# The test window's Kivy metrics (tests/ui/harness.py), so that both pictures are drawn alike.
SAME_METRICS = {"KIVY_DPI": "96", "KIVY_METRICS_DENSITY": "1"}
SHOWN_WITHIN_S = 5.0      # READY=1 to the attract screen on the X screen (the budget is 3 s from start)
MAX_DIFFERENCE = 0.01     # antialiased edges


def wait_for_attract(screen: Xvfb, timeout: float = SHOWN_WITHIN_S) -> tuple[Image.Image, list[str]]:
    deadline = time.monotonic() + timeout
    while True:
        grab = screen.grab()
        problems = attract_screen_problems(grab, screen.size)
        if not problems or time.monotonic() > deadline:
            return grab, problems
        time.sleep(0.1)


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_kiosk_mode_shows_the_attract_screen_on_a_bare_x_server(orientation, reference_server,  # noqa: F811
                                                                 kiosk_ui, tmp_path, artifacts_dir):  # noqa: F811
    size = ORIENTATIONS[orientation]
    scanner = ScannerSimulator()
    with serve_socket(scanner) as scanner_link, Xvfb(size) as screen:
        config = write_kiosk_config(reference_server, tmp_path / "kiosk", scanner=scanner_link.url)
        with KioskProcess(config, screen.display, tmp_path / "run", env=SAME_METRICS) as kiosk:
            kiosk.wait_ready()
            grab, problems = wait_for_attract(screen)
            save(grab, artifacts_dir / "ui" / f"xserver-{orientation}-attract.png")
            assert not problems, f"the X screen does not show the attract screen: {problems}"

            # Kivy's read-back of the same attract screen, drawn by the same core and config.
            rig = kiosk_ui(size=size)
            rig.driver.wait_for_screen("attract")
            rig.driver.app.sound_level = "medium"    # the sound chip as the kiosk starts
            readback = Image.open(rig.driver.screenshot(artifacts_dir / "ui" / f"readback-{orientation}-attract.png"))
            share = difference_share(grab, readback)
            assert share <= MAX_DIFFERENCE, f"{share:.1%} of the X screen differs from Kivy's read-back"

            if orientation == "portrait":
                a_citizen_comes_in(screen, scanner, reference_server, readback, artifacts_dir)
            assert kiosk.stop() == 0, kiosk.errors()[-2000:]


def a_citizen_comes_in(screen: Xvfb, scanner: ScannerSimulator, server, attract: Image.Image,
                       artifacts_dir) -> None:
    """The whole way in: the WhatsApp QR on the serial scanner, then the PIN on the keyboard,
    typed on an X server with no window manager to give the window the focus. The X screen
    leaves the attract screen, and the dinas sees the session that the scan and the PIN opened."""
    citizen = server.citizens[0]
    scanner.scan(f"ADM1:{citizen['request_no']}")
    deadline = time.monotonic() + 10
    while not attract_screen_problems(grab := screen.grab(), screen.size) and time.monotonic() < deadline:
        time.sleep(0.1)
    save(grab, artifacts_dir / "ui" / "xserver-portrait-after-scan.png")
    assert attract_screen_problems(grab, screen.size), "the scan did not leave the attract screen"
    assert difference_share(grab, attract) > 0.1
    keys = {"DISPLAY": screen.display}
    subprocess.run(["xdotool", "type", "--delay", "120", citizen["pin"]], env=keys, check=True, timeout=10)
    subprocess.run(["xdotool", "key", "Return"], env=keys, check=True, timeout=10)
    query = "SELECT session_id FROM sessions WHERE request_no = ?"
    deadline = time.monotonic() + 15
    while not server.query(query, citizen["request_no"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.query(query, citizen["request_no"]), "no dinas session from the scan and the typed PIN"
    time.sleep(1.0)      # the documents screen, for a person to look at
    save(screen.grab(), artifacts_dir / "ui" / "xserver-portrait-after-pin.png")


def test_the_white_box_of_a_fullscreen_mode_without_window_manager_fails_the_check():
    """What the glass showed before: SDL's 800x600 window in the middle of a black screen."""
    size = PORTRAIT
    grab = Image.new("RGB", size, "black")
    grab.paste(Image.new("RGB", (800, 600), "white"), ((size[0] - 800) // 2, (size[1] - 600) // 2))
    problems = attract_screen_problems(grab, size)
    assert any("header" in p for p in problems) and any("Start" in p for p in problems)
    assert attract_screen_problems(Image.new("RGB", size, "white"), size)
    assert attract_screen_problems(Image.new("RGB", LANDSCAPE, "white"), size) == [
        "the X screen is 1280x800, expected 1080x1920"]


def test_the_root_window_size_is_read_from_the_x_server():
    with Xvfb(LANDSCAPE) as screen:
        assert root_window_size(screen.display) == LANDSCAPE
    assert root_window_size(":4999") is None      # no X server there: kiosk mode falls back, no crash


@pytest.mark.parametrize("display, expected", [
    ("root", "fullscreen=0 borderless=1 position=custom left=0 top=0 width=1280 height=800"),
    (None, "fullscreen=auto borderless=1 position=auto"),
])
def test_kiosk_mode_sizes_the_window_to_the_x_screen_or_falls_back(display, expected, tmp_path):
    """What kiosk mode asks of Kivy before the window exists: with an X server, a borderless
    window at 0,0 the size of its screen; with none to ask, the window system's fullscreen."""
    probe = ("from ui import kiosk_mode; kiosk_mode.configure(fullscreen=True); from kivy.config import Config; "
             "keys = ['fullscreen', 'borderless', 'position'] + (['left', 'top', 'width', 'height'] "
             "if Config.get('graphics', 'position') == 'custom' else []); "
             "print(' '.join(f'{k}={Config.get(\"graphics\", k)}' for k in keys))")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(KIVY_HOME=str(tmp_path), KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_FILELOG="1")
    with Xvfb(LANDSCAPE) as screen:
        if display == "root":
            env["DISPLAY"] = screen.display
        result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
    assert ("no X screen size to read" in result.stderr) == (display is None)


def test_the_running_kiosk_service_owns_the_devices(reference_server, tmp_path):  # noqa: F811
    """`adm-kiosk run` as systemd starts it holds the device lock (kiosk/device_lock.py) for as
    long as it runs: a second `run` and `config sync --once` are refused at once with its pid,
    exit 75 and the unit to stop; once it stopped, `config sync --once` runs."""
    with Xvfb(LANDSCAPE) as screen:
        config = write_kiosk_config(reference_server, tmp_path / "kiosk")
        command = [sys.executable, "-m", "kiosk.cli", "--config", str(config)]
        with KioskProcess(config, screen.display, tmp_path / "run", env=SAME_METRICS) as kiosk:
            kiosk.wait_ready()
            second = subprocess.run([*command, "run"], cwd=REPO, env={**os.environ, "DISPLAY": screen.display},
                                    capture_output=True, text=True, timeout=30)
            sync = subprocess.run([*command, "config", "sync", "--once"], cwd=REPO, capture_output=True, text=True,
                                  timeout=30)
            for refused in (second, sync):
                assert refused.returncode == 75, refused.stderr[-2000:]
                assert f"pid {kiosk.process.pid} (adm-kiosk run, since " in refused.stderr
                assert "sudo systemctl stop adm-kiosk" in refused.stderr
            assert kiosk.process.poll() is None
            assert kiosk.stop() == 0, kiosk.errors()[-2000:]
    after = subprocess.run([*command, "config", "sync", "--once", "--device-timeout", "5"], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert after.returncode == 0 and "config sync: the dinas holds no configuration" in after.stdout, after.stderr
