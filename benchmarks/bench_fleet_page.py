"""The fleet page (/admin) for a province and for a country: how long the admin waits.

    python -m benchmarks bench_fleet_page                       # 500 and 5,000 kiosks
    python -m benchmarks.bench_fleet_page --kiosks 200 2000     # other sizes

For each size: the kiosks are registered in a fresh database, `adm-dinas serve` starts in its
own process, every kiosk sends one realistic heartbeat over HTTP (four devices; one kiosk in
ten with a supply low, one in twenty with a ribbon out and its alarm; today's counts), then an
admin logs in through the form and each page is fetched `--repeat` times over loopback:
the whole fleet (page 1 of 100 cards), "needs action", one group, one kiosk, its chart.
Prints the median and the worst per page. Budget, the whole-fleet page's median: <= 1 s for a
province (up to 1,000 kiosks), <= 3 s for a country's 5,000. (Since schema version 4 the page
filters and orders on flags kept on each kiosk's row, so it reads one count per group and its
own 100 kiosks; before, every kiosk's last heartbeat was read and parsed on each view.)
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from benchmarks.bench_heartbeats import admin_token, free_port, register, start_server

PROVINCE_KIOSKS = 1000


def budget_ms(kiosks: int) -> float:
    return 1000.0 if kiosks <= PROVINCE_KIOSKS else 3000.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _device(role: str, supplies: dict[str, str], faults: list[dict] | None = None) -> dict:
    return {"device": role, "state": "user_error" if faults else "ready", "faults": faults or [],
            "capabilities": {"model": "sim"}, "updated_at": time.time(),
            "supplies": {name: {"level": level, "count": None} for name, level in supplies.items()}}


def heartbeat(kiosk_id: str, n: int) -> dict:
    ribbon = "out" if n % 20 == 0 else "full"
    alarm = [{"code": "ribbon_out", "severity": "alarm", "message": {"id": "Pita printer kartu habis",
                                                                   "en": "Card printer ribbon is out"},
              "detail": ""}] if ribbon == "out" else []
    return {"kiosk_id": kiosk_id, "software_version": "0.1.0", "config_version": 3, "uptime_s": 3600.0 + n,
            "devices": {"card_printer": _device("card_printer", {"cards": "low" if n % 10 == 1 else "full",
                                                                 "ribbon": ribbon}, alarm),
                        "a4_printer": _device("a4_printer", {"paper_a4": "full", "toner": "full"}),
                        "receipt_printer": _device("receipt_printer", {"receipt_paper": "full"}),
                        "scanner": _device("scanner", {})},
            "counters": {"day": time.strftime("%Y-%m-%d"),
                         "today": {"KK": {"printed": n % 40, "failed": n % 3}, "KIA": {"printed": n % 17}},
                         "card_stock": {"loaded": 200, "used": 20, "remaining": 180, "since": None}},
            "outbox_depth": n % 4, "last_faults": alarm[:1]}


def send_heartbeats(base: str, kiosks: list[tuple[str, str]], threads: int = 8) -> None:
    chunks = [kiosks[i::threads] for i in range(threads)]
    failures: list[str] = []

    def worker(chunk: list[tuple[str, str]]) -> None:
        with requests.Session() as session:
            for n, (kiosk_id, token) in enumerate(chunk):
                reply = session.post(f"{base}/api/v1/kiosk/heartbeat", json=heartbeat(kiosk_id, n),
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
                if reply.status_code != 200:
                    failures.append(f"{kiosk_id}: {reply.status_code}")
    workers = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} heartbeats refused, e.g. {failures[0]}")


def admin_session(base: str, admin_token: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/admin/login", timeout=30)
    reply = session.post(f"{base}/admin/login", timeout=30, allow_redirects=False,
                         data={"csrf_token": CSRF.search(form.text).group(1), "token": admin_token})
    if reply.status_code != 303:
        raise RuntimeError(f"login failed: {reply.status_code}")
    return session


def time_pages(base: str, session: requests.Session, kiosk_id: str, repeat: int) -> dict[str, list[float]]:
    pages = {"fleet": "/admin/", "needs action": "/admin/?show=needs", "one group": "/admin/?group=g7",
             "one kiosk": f"/admin/kiosks/{kiosk_id}", "chart": f"/admin/kiosks/{kiosk_id}/chart.svg"}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(repeat):
        for name, path in pages.items():
            started = time.perf_counter()
            reply = session.get(f"{base}{path}", timeout=60, allow_redirects=False)
            timings[name].append((time.perf_counter() - started) * 1000)
            if reply.status_code != 200:
                raise RuntimeError(f"{path} answered {reply.status_code}")
    return timings


def run(count: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        db_path = str(Path(directory) / "dinas.db")
        kiosks = register(db_path, count)
        token = admin_token(db_path)
        port = free_port()
        server = start_server(db_path, port)
        base = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            send_heartbeats(base, kiosks)
            print(f"{count} kiosks: heartbeats sent in {time.perf_counter() - started:.1f} s")
            timings = time_pages(base, admin_session(base, token), kiosks[1][0], repeat)
        finally:
            server.terminate()
            server.wait(10)
    for name, values in timings.items():
        print(f"  {name:<13} median {statistics.median(values):7.1f} ms   worst {max(values):7.1f} ms")
    return statistics.median(timings["fleet"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    over = []
    for count in args.kiosks:
        median = run(count, args.repeat)
        verdict = "within" if median <= budget_ms(count) else "OVER"
        print(f"whole-fleet page at {count} kiosks: median {median:.0f} ms, {verdict} the "
              f"{budget_ms(count):.0f} ms budget")
        if median > budget_ms(count):
            over.append(count)
    return 1 if over else 0

if __name__ == "__main__":
    raise SystemExit(main())
