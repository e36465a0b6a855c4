"""`adm-kiosk`: the kiosk's command line.

Each subcommand lives in its own module under `kiosk.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`. New commands
are found by listing that package, so adding one touches no shared file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from . import commands
from .device_lock import DeviceLockError
from .logging_setup import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adm-kiosk", description="Anjungan Dukcapil Mandiri kiosk controller")
    parser.add_argument("--config", help="kiosk.toml (default: /etc/adm-kiosk/kiosk.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except DeviceLockError as exc:
        # Every command that owns the devices takes the lock before it opens one: refused here,
        # it has changed nothing (kiosk/device_lock.py).
        words = " ".join(str(w) for w in (args.command, getattr(args, "action", None)) if w)
        print(f"adm-kiosk {words}: {exc}", file=sys.stderr)
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())
