"""A family's wait (issue 13): from the PIN accepted (the documents screen) to the last
document out, for a KK and two KIAs, with the printer simulators at realistic speed on a
scaled clock, the printers in parallel and, side by side in the same run, one after another;
on the local link and on the lossy village link (tests/fixtures/lossy_link.py).

    python -m benchmarks.bench_family_wait [--scale 0.05] [--no-lossy]

Figures are printed scaled (as measured) and in real-time equivalents (divided by the scale).
The goal: the wait <= 1.05 x the slowest printer's own time (here the card printer: the two
KIAs from the first on the printer to the last out) + the dinas round trips. The link's
latency and stalls are real time, not scaled: on the lossy link the real-time equivalent of
the printers' share is exact, the dinas share is as measured.
"""

from __future__ import annotations

import argparse
import base64
import logging
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import requests

from benchmarks.bench_memory import DinasProcess
from benchmarks.support import recorded_pin

POLL = {"card_printer": "poll_interval = 0.05", "a4_printer": "poll_interval = 0.05"}


def family_application(url: str, admin_token: str, serial: int) -> tuple[str, str]:
    """A new KK + 2 KIA application for family 3 of the seed; (nik, request_no)."""
    from dinas.documents import kia_pdf, kk_pdf
    from dinas.seed import demo_families

    family = demo_families()[2][0]
    nik = f"32732162108{serial // 9999 % 10}{serial % 9999 + 1:04d}"
    pdfs = [("KK", kk_pdf(family, "Disdukcapil")), ("KIA", kia_pdf(family, family.members[2], "Disdukcapil")),
            ("KIA", kia_pdf(family, family.members[3], "Disdukcapil"))]
    reply = requests.post(f"{url}/admin/applications", timeout=30, headers={"Authorization": f"Bearer {admin_token}"},
                          json={"nik": nik, "name": "Bench Keluarga", "phone": "081200000000",
                                "documents": [{"kind": k, "title": k, "pdf_base64": base64.b64encode(p).decode()}
                                              for k, p in pdfs]})
    reply.raise_for_status()
    return nik, reply.json()["request_no"]


def one_wait(directory: Path, dinas: DinasProcess, dinas_url: str, scale: float, parallel: bool, serial: int) -> dict:
    from kiosk.app import KioskRuntime
    from kiosk.config import load_config
    from kiosk.session_headless import run_headless_session
    from kiosk.session_model import Screen
    from tests.fixtures.kiosk import write_kiosk_config

    nik, request_no = family_application(dinas.url, dinas.seed["admin_token"], serial)
    pin = recorded_pin(directory / "dinas.db", request_no)
    speed = f"speed=realistic&time_scale={scale}"
    server = SimpleNamespace(kiosks=dinas.seed["kiosks"], url=dinas_url)
    here = directory / f"kiosk-{serial}"
    runtime = KioskRuntime.from_config(load_config(write_kiosk_config(
        server, here, card=speed, a4=speed, receipt=speed, options=POLL)))
    runtime.start()
    runtime.engine._print_run.parallel = parallel
    views: list = []
    unsubscribe = runtime.engine.subscribe(lambda view: views.append((time.monotonic(), view)))
    try:
        result = run_headless_session(runtime.engine, nik=nik, pin=pin, timeout=120, print_timeout=600)
    finally:
        unsubscribe()
        runtime.stop(flush_timeout=30)
    pin_ok = next(t for t, v in views if v.screen == Screen.DOCUMENTS)
    out = next(t for t, v in views if v.steps and all(s.document_id in v.outcomes for s in v.steps))
    card_first = next(t for t, v in views if any(s.kind == "KIA" and s.step not in ("fetching", "reserving")
                                                 for s in v.steps))
    card_out = next(t for t, v in views if v.steps and all(s.document_id in v.outcomes
                                                           for s in v.steps if s.kind == "KIA"))
    return {"ok": result.ok, "wait": out - pin_ok, "card": card_out - card_first}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="time_scale of the printer simulators")
    parser.add_argument("--no-lossy", action="store_true", help="the local link only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from tests.fixtures.lossy_link import VILLAGE, LossyLink

    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="bench-family-") as tmp:
        directory = Path(tmp)
        dinas = DinasProcess(directory)
        try:
            links = [("local", None)] + ([] if args.no_lossy else [("lossy village", VILLAGE)])
            serial = 0
            for name, faults in links:
                link = LossyLink(dinas.url, faults) if faults else None
                try:
                    for parallel in (True, False):
                        figures = one_wait(directory, dinas, link.url if link else dinas.url, args.scale,
                                           parallel, serial)
                        serial += 1
                        failed |= not figures["ok"]
                        rows.append((name, "parallel" if parallel else "one after another", figures))
                finally:
                    if link:
                        link.close()
        finally:
            dinas.stop()
    s = args.scale
    print(f"a family's wait, KK + 2 KIA, PIN accepted -> last document out; printers at realistic speed "
          f"x{s} (real-time equivalents = measured / {s})")
    print(f"  {'link':14s} {'printing':18s} {'wait':>8s} {'(real)':>9s} {'card printer':>13s} {'(real)':>9s} "
          f"{'wait/card':>9s}  {'rest, as measured':>17s}")
    for name, mode, f in rows:
        print(f"  {name:14s} {mode:18s} {f['wait']:7.2f}s {f['wait'] / s:8.1f}s {f['card']:12.2f}s "
              f"{f['card'] / s:8.1f}s {f['wait'] / f['card']:9.2f}  {f['wait'] - f['card']:16.2f}s"
              f"{'' if f['ok'] else '   NOT ALL PRINTED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
