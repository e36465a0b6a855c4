"""`adm-kiosk simulate`: the card printer simulator and the stream decoder, for demos,
technicians and captured-stream checks.

    adm-kiosk simulate card-printer [--faults jam_mid_card,ribbon_out] [--out DIR] [--socket PORT]
                                    [--answers words|guide|minimal] [--speed realistic [--time-scale F]]
    adm-kiosk simulate decode-card STREAM.evolis --out DIR

`card-printer` serves the simulator on a pty (or a TCP port) and prints the URL to
configure, then runs until Ctrl-C or SIGTERM. `decode-card` turns a captured command stream into PNG
panels and a composite per side. Exit 0 on success, 1 for a malformed stream, 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from devices.sim.evolis import ANSWER_MODES, FAULTS, EvolisSimulator
from devices.sim.mechanics import CARD_TIMING, SPEEDS, Mechanism
from devices.sim.evolis_decode import StreamError, decode_stream, save_card
from devices.sim.serve import serve_pty, serve_socket


def register(subparsers) -> None:
    parser = subparsers.add_parser("simulate", help="run a device simulator or decode a captured card stream")
    commands = parser.add_subparsers(dest="simulator", metavar="WHAT", required=True)

    card = commands.add_parser("card-printer", help="serve the Evolis card printer simulator until Ctrl-C")
    card.add_argument("--faults", default="", help=f"comma-separated faults to inject: {', '.join(FAULTS)}")
    card.add_argument("--out", type=Path, help="write every printed card here as PNG")
    card.add_argument("--socket", type=int, metavar="PORT",
                      help="serve on 127.0.0.1:PORT (0 picks a free port) instead of a pty")
    card.add_argument("--cards", type=int, default=100, help="blank cards in the feeder (default 100)")
    card.add_argument("--ribbon", default="ymcko", help="ribbon loaded: ymcko, ko, kb … (default ymcko)")
    card.add_argument("--ribbon-prints", type=int, default=200, help="cards left on the ribbon (default 200)")
    card.add_argument("--panel-seconds", type=float, default=1.5, help="time per panel (default 1.5)")
    card.add_argument("--card-seconds", type=float, default=4.0, help="time to finish and eject a card (default 4)")
    card.add_argument("--ack", action="store_true", help="answer in ACK/NACK mode")
    card.add_argument("--answers", choices=ANSWER_MODES, default="words",
                      help="how status reads are answered: words (default), guide (sensor voltages), minimal (OK)")
    card.add_argument("--speed", choices=SPEEDS, default="zero",
                      help="realistic: 20 s a colour side, 8 s a K-only side, warm-ups (added to the times above)")
    card.add_argument("--time-scale", type=float, default=1.0, help="multiplies the realistic times (default 1)")
    card.set_defaults(func=run_card_printer)

    decode = commands.add_parser("decode-card", help="decode a captured Evolis stream into PNG panels")
    decode.add_argument("stream", type=Path, help="the captured command stream (.evolis, .prn …)")
    decode.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    decode.set_defaults(func=run_decode_card)


def run_card_printer(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    try:
        simulator = EvolisSimulator(
            faults=[f for f in args.faults.split(",") if f.strip()], out_dir=args.out, cards=args.cards,
            ribbon=args.ribbon, ribbon_prints=args.ribbon_prints, panel_seconds=args.panel_seconds,
            card_seconds=args.card_seconds, ack_mode=args.ack, answers=args.answers,
            mechanism=Mechanism(CARD_TIMING, args.time_scale if args.speed == "realistic" else 0.0))
    except ValueError as exc:
        print(f"adm-kiosk simulate: {exc}", file=sys.stderr)
        return 2
    serve = serve_socket(simulator, port=args.socket) if args.socket is not None else serve_pty(simulator)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())     # systemd and kill stop it cleanly
    with serve as link:
        print(f"Simulator printer kartu siap / card printer simulator ready: {link.url}", flush=True)
        if args.out:
            print(f"Kartu tercetak disimpan di / printed cards go to: {args.out}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    snapshot = simulator.snapshot()
    print(f"Selesai / stopped: {snapshot['cards']} card(s) printed, {snapshot['rejected']} rejected", flush=True)
    return 0


def run_decode_card(args: argparse.Namespace) -> int:
    try:
        data = args.stream.read_bytes()
    except OSError as exc:
        print(f"adm-kiosk simulate decode-card: cannot read {args.stream}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        cards = decode_stream(data)
    except StreamError as exc:
        print(f"adm-kiosk simulate decode-card: {args.stream} is not a valid card stream: {exc}", file=sys.stderr)
        return 1
    if not cards:
        print(f"adm-kiosk simulate decode-card: {args.stream} holds no panel", file=sys.stderr)
        return 1
    for number, card in enumerate(cards, 1):
        stem = args.stream.stem if len(cards) == 1 else f"{args.stream.stem}-{number}"
        for path in save_card(card, args.out, stem):
            print(path)
    return 0
