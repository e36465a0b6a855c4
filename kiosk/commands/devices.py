"""`adm-kiosk devices`: the serial ports and USB devices on this kiosk, the known ones
marked, and which configured device is which. Needs no configuration file: with --config
(or when the default file exists) it also checks each configured device URL."""

from __future__ import annotations

import argparse
import json
import sys

from devices.discovery import discover, format_discovery


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices", help="list serial ports and USB devices and match them to the configuration")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _configured_urls(config_path: str | None) -> tuple[dict[str, str], list[str]]:
    """{role: url} from the kiosk configuration, and notes on why there is none."""
    try:
        from kiosk.config import DEFAULT_CONFIG_PATH, load_config
    except ImportError:
        return {}, ["configuration support is not installed: configured devices not checked"]
    if config_path is None and not DEFAULT_CONFIG_PATH.exists():
        return {}, []
    config = load_config(config_path)        # ConfigError says what is wrong, by key
    return {role: device.url for role, device in config.devices.items()}, []


def run(args: argparse.Namespace) -> int:
    config_path = getattr(args, "config", None)
    try:
        configured, notes = _configured_urls(config_path)
    except ValueError as exc:
        if config_path is not None:
            print(f"adm-kiosk devices: {exc}", file=sys.stderr)
            return 2
        configured, notes = {}, [f"default configuration not used: {exc}"]
    found = discover(configured)
    found.notes.extend(notes)
    if args.json:
        print(json.dumps(found.as_dict(), indent=2))
    else:
        print(format_discovery(found))
    return 0
