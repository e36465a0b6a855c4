"""Starts the kiosk: the core from its kiosk.toml, then the window over it (`adm-kiosk run`).

Kivy reads its configuration and the command line when it is first imported, so the kiosk
settings and Kivy's environment are set here before anything imports Kivy. Kivy's own logging
is routed into Python's (KIVY_LOG_MODE=PYTHON) so the masking filter sees every line, and its
log files are off: nothing about a citizen is written to disk.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

log = logging.getLogger(__name__)



def prepare_kivy(*, windowed: bool, size: tuple[int, int] | None) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_WINDOW", "sdl2")
    from . import kiosk_mode
    kiosk_mode.configure(fullscreen=not windowed, size=size)


def run_window(engine, *, windowed: bool = False, size: tuple[int, int] | None = None, staff_desk=None) -> None:
    """Blocks until the window closes (only a signal or a technician action closes it)."""
    prepare_kivy(windowed=windowed, size=size)
    from kivy.clock import Clock

    from .app import KioskApp
    app = KioskApp(engine, hide_cursor=not windowed, staff_desk=staff_desk)
    # systemd stops the kiosk with SIGTERM: leave the UI loop cleanly so that the core can
    # hand its last events to the outbox before the process ends.
    stop = lambda *_args: Clock.schedule_once(lambda _dt: app.stop(), 0)  # noqa: E731
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_kiosk(config_path: str | None, *, windowed: bool = False, size: tuple[int, int] | None = None) -> int:
    from kiosk.app import KioskRuntime
    from kiosk.config import ConfigError, load_config
    from kiosk.device_lock import SERVICE, DeviceLockError
    from kiosk.staff_desk import StaffDesk

    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        print(f"adm-kiosk run: {exc}", file=sys.stderr)
        return 2
    try:
        runtime = KioskRuntime.from_config(cfg, owner=SERVICE)
    except DeviceLockError as exc:           # before the window and any device: nothing opened
        print(f"adm-kiosk run: {exc}", file=sys.stderr)
        return exc.exit_status
    try:
        engine = runtime.start()
        run_window(engine, windowed=windowed, size=size, staff_desk=StaffDesk(runtime))
    finally:
        runtime.stop(flush_timeout=5)
    return 0
