"""`make demo` (`python -m kiosk.demo`): the kiosk against the reference dinas server and
simulated devices, from a fresh database in ./demo-output/.

It starts `adm-dinas serve` on 127.0.0.1:8765, seeds the demo, writes the kiosk's token and
kiosk.toml, lists the demo citizens, then runs one whole headless session per citizen through
the SessionEngine and prints the outcomes. The server then keeps running until Ctrl-C, or the
demo exits at once with --headless-once (for tests).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

from . import demo_support as demo
from .commands.run import window_command
from .logging_setup import configure_logging


def run_citizens(config_path, seed_data) -> bool:
    from .app import KioskRuntime
    from .config import load_config
    from .session_headless import run_headless_session

    runtime = KioskRuntime.from_config(load_config(config_path), owner="python -m kiosk.demo")
    ok = True
    try:
        engine = runtime.start()
        for citizen in seed_data["citizens"]:
            result = run_headless_session(engine, nik=citizen["nik"], pin=citizen["pin"])
            ok &= result.ok
            outcomes = ", ".join(f"{d.kind} {d.result}{f' ({d.reason})' if d.reason else ''}"
                                 for d in result.documents) or (result.message.key if result.message else "")
            print(f"  {citizen['name']}: {outcomes}; receipt {'printed' if result.receipt_printed else 'not printed'}")
    finally:
        runtime.stop(flush_timeout=10)
    print(f"  events still waiting for the dinas: {runtime.final_outbox_depth}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo-output", help="the demo's folder (emptied first)")
    parser.add_argument("--port", type=int, default=demo.DEFAULT_PORT, help="the dinas server's port")
    parser.add_argument("--headless-once", action="store_true", help="exit after the headless sessions")
    parser.add_argument("--no-window", action="store_true",
                        help="headless sessions instead of the kiosk window (the default when there is no display)")
    args = parser.parse_args(argv)
    configure_logging(logging.WARNING)

    paths = demo.fresh_output(args.output)
    seed_data = demo.seed(paths)
    with demo.DinasProcess(paths, args.port) as server:
        config_path = demo.write_config(paths, seed_data, server.url)
        print(demo.describe(seed_data, paths, server.url))
        if not (args.headless_once or args.no_window) and os.environ.get("DISPLAY"):
            # The kiosk window (ui/): type a citizen's NIK and PIN from the list above.
            print(f"\nThe kiosk window is open; printed cards and KKs land in {paths.printed}.")
            window = window_command(str(config_path), windowed=True, size="1280x800")
            return subprocess.call(window)
        print("\nA whole session for each citizen, headless, through the session engine:")
        ok = run_citizens(config_path, seed_data)
        if args.headless_once:
            return 0 if ok else 1
        print(f"\nThe dinas server keeps running at {server.url}; Ctrl-C to stop.")
        try:
            server.wait()
        except KeyboardInterrupt:
            print("\nstopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
