"""`adm-kiosk session`: one whole citizen session, headless, for tests and field checks.

    adm-kiosk --config kiosk.toml session --nik 3201014501900003 --pin 123456 [--documents KK,KIA] [--json]
    adm-kiosk --config kiosk.toml session --request-no REQ-20261122-ABC123 --pin - < pin.txt

It starts the kiosk core (devices, crash recovery, outbox) and drives the same SessionEngine
the screen does. Exit 0 when every chosen document printed, 1 when one failed or the dinas
refused the session, 2 for bad arguments or configuration, 75 when another process owns the
kiosk's devices (kiosk/device_lock.py: refused before anything is opened). `--pin -` reads
the PIN from standard input, so it need not appear in the process list.
"""

from __future__ import annotations

import argparse
import json
import sys

from printer_drivers.registry import kind_codes

from ..config import ConfigError, load_config
from ..nik import mask_nik


def register(subparsers) -> None:
    parser = subparsers.add_parser("session", help="run one whole citizen session without the screen")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--nik", help="the citizen's 16-digit NIK")
    who.add_argument("--request-no", help="the request number from the WhatsApp QR (e.g. REQ-20261122-ABC123)")
    parser.add_argument("--pin", required=True, help="the 6-digit PIN, or - to read it from standard input")
    parser.add_argument("--documents", type=_kinds, default=None,
                        help=f"comma-separated kinds to print ({','.join(kind_codes())}); default: every available one")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each step (default 30)")
    parser.add_argument("--flush-timeout", type=float, default=10.0,
                        help="seconds to wait for the dinas to receive the events before exiting (default 10)")
    parser.set_defaults(func=run)


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip().upper() for k in text.split(",") if k.strip())
    wrong = [k for k in kinds if k not in kind_codes()]
    if not kinds or wrong:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(kind_codes())}, "
                                         f"got {text!r}")
    return kinds


def run(args) -> int:
    from ..app import KioskRuntime
    from ..session_headless import run_headless_session

    pin = sys.stdin.readline().strip() if args.pin == "-" else args.pin
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    runtime = KioskRuntime.from_config(cfg, owner="adm-kiosk session")
    try:
        engine = runtime.start()
        for settled in runtime.recovered:
            print(f"recovered job {settled.job_id} ({settled.kind}) from {settled.was}: {settled.now}"
                  f"{' (review)' if settled.review else ''}", file=sys.stderr)
        result = run_headless_session(engine, pin=pin, nik=args.nik, request_no=args.request_no,
                                      kinds=args.documents, timeout=args.timeout)
    except TimeoutError as exc:
        print(f"session did not finish: {exc}", file=sys.stderr)
        runtime.stop(flush_timeout=args.flush_timeout)
        return 1
    del pin
    runtime.stop(flush_timeout=args.flush_timeout)
    depth = runtime.final_outbox_depth
    if args.json:
        print(json.dumps({**result.as_dict(), "outbox_depth": depth}, indent=2))
    else:
        _print_text(result, args, depth)
    return 0 if result.ok else 1


def _print_text(result, args, depth: int) -> None:
    who = mask_nik(args.nik) if args.nik else args.request_no
    print(f"session for {who}: {result.screen}" + (f" ({result.message.key})" if result.message else ""))
    for document in result.documents:
        reason = f" ({document.reason})" if document.reason else ""
        print(f"  {document.kind:4} {document.title}: {document.result}{reason}")
    print(f"  receipt: {'printed' if result.receipt_printed else 'not printed (help QR shown)'}")
    print(f"  events waiting for the dinas: {depth}")
