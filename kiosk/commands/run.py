"""`adm-kiosk run`: the kiosk as citizens see it, the core with its touchscreen window.

    adm-kiosk [--config FILE] run                        # fullscreen kiosk mode
    adm-kiosk [--config FILE] run --windowed --size 1280x800

The window lives in `ui/`, which sits above the core: the core never imports it. This
command replaces itself with `python -m ui` (exec, so the process id stays the same and
systemd's notify and watchdog messages come from the process it started). That process
takes the device lock (kiosk/device_lock.py) before it opens a device or the window: while
another process owns the devices it exits 75 at once, and systemd's `Restart=always` tries
again a few seconds later.
"""

from __future__ import annotations

import os
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run the kiosk with its touchscreen window")
    parser.add_argument("--windowed", action="store_true",
                        help="a normal window with a cursor instead of fullscreen kiosk mode (development)")
    parser.add_argument("--size", help="window size: 1080x1920 (portrait) or 1280x800 (landscape); "
                                       "default: the screen's")
    parser.set_defaults(func=run)


def window_command(config: str | None, *, windowed: bool = False, size: str | None = None,
                   verbose: bool = False) -> list[str]:
    """The command line that starts the kiosk window (also used by the demo)."""
    argv = [sys.executable, "-m", "ui"]
    if config:
        argv += ["--config", config]
    if windowed:
        argv.append("--windowed")
    if size:
        argv += ["--size", size]
    if verbose:
        argv.append("--verbose")
    return argv


def run(args) -> int:
    argv = window_command(args.config, windowed=args.windowed, size=args.size, verbose=args.verbose)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
    return 127   # execv does not return
