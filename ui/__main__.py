"""`python -m ui`: the kiosk window over the core; `adm-kiosk run` execs this.

    python -m ui [--config FILE] [--windowed] [--size 1080x1920|1280x800]
"""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.logging_setup import configure_logging

from .runner import run_kiosk

SIZES = {"1080x1920": (1080, 1920), "1280x800": (1280, 800)}


def _size(text: str) -> tuple[int, int]:
    if text not in SIZES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(SIZES)}, got {text!r}")
    return SIZES[text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adm-kiosk run", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="kiosk.toml (default: /etc/adm-kiosk/kiosk.toml)")
    parser.add_argument("--windowed", action="store_true",
                        help="a normal window with a cursor instead of fullscreen kiosk mode (development)")
    parser.add_argument("--size", type=_size, default=None,
                        help="window size: 1080x1920 (portrait) or 1280x800 (landscape); default: the screen's")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    return run_kiosk(args.config, windowed=args.windowed, size=args.size)


if __name__ == "__main__":
    sys.exit(main())
