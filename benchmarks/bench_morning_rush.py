"""A morning rush on the dinas server: 200 kiosks each running a citizen's session at once.

    python -m benchmarks.bench_morning_rush [--kiosks 200] [--backend postgresql] [--workers 4]

A fresh database gets 200 kiosks and one application per kiosk (a KK), issued through the
admin API; the PINs come from the recorded WhatsApp outbox, as the notifier is the only one to
get them. Then every kiosk, on its own thread and released together, runs the session a kiosk
runs: open the session (NIK + PIN), download the PDF (and check its sha256), reserve the print,
report `printing` and `printed`, end the session. Prints p50/p99 per call and every error.
Passes when no call failed and every document was printed exactly once; the latencies are
the figures to record (200 arrivals at one instant queue behind the workers' threads).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

from benchmarks.bench_heartbeats import admin_token, bench_database, register, serving
from dinas.documents import kk_pdf
from dinas.seed import demo_families
from dinas.storage import open_store

CALLS = ("open_session", "download", "reserve", "printing", "printed", "end_session")


def nik(serial: int) -> str:
    return f"327302{1 + serial % 28:02d}{1 + serial // 28 % 12:02d}80{1 + serial // 336:04d}"


def issue_all(url: str, admin_token: str, count: int) -> list[str]:
    pdf = base64.b64encode(kk_pdf(demo_families()[0][0], "Disdukcapil")).decode()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {admin_token}"
    request_nos = []
    for serial in range(count):
        reply = http.post(f"{url}/admin/applications", timeout=60, json={
            "nik": nik(serial), "name": "Rush Pagi", "phone": "081200000000",
            "documents": [{"kind": "KK", "title": "Kartu Keluarga", "pdf_base64": pdf}]})
        if reply.status_code != 201:
            raise SystemExit(f"issuing an application failed: {reply.status_code} {reply.text[:200]}")
        request_nos.append(reply.json()["request_no"])
    return request_nos


def pins(db: str, key: str) -> dict[str, str]:
    """request_no -> PIN, from the recorded outbox (the gateway's copy)."""
    import re

    from dinas.db import Database
    from dinas.notifier import RecordingNotifier
    from dinas.vault import Vault, load_or_create_secret

    database = Database(db, pool_size=1)
    try:
        messages = RecordingNotifier(database, Vault(load_or_create_secret(key, may_create=False))).messages()
    finally:
        database.dispose()
    return {m.request_no: re.search(r"PIN: \*([0-9]{6})\*", m.text).group(1) for m in messages}


def session(url: str, token: str, serial: int, pin: str, barrier: threading.Barrier,
            timings: dict[str, list[float]], errors: list[str], lock: threading.Lock) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def timed(name: str, method: str, path: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        reply = http.request(method, f"{url}{path}", timeout=60, **kwargs)
        with lock:
            timings[name].append((time.perf_counter() - started) * 1000)
            if reply.status_code >= 300:
                errors.append(f"{name} {reply.status_code} {reply.text[:120]}")
        return reply

    barrier.wait(timeout=120)
    opened = timed("open_session", "POST", "/kiosk/sessions", json={"nik": nik(serial), "pin": pin})
    if opened.status_code != 201:
        return
    sid, document = opened.json()["session_id"], opened.json()["documents"][0]
    pdf = timed("download", "GET", f"/kiosk/sessions/{sid}/documents/{document['id']}")
    if hashlib.sha256(pdf.content).hexdigest() != document["sha256"]:
        with lock:
            errors.append("download: sha256 mismatch")
        return
    job_id = str(uuid.uuid4())
    timed("reserve", "POST", f"/kiosk/sessions/{sid}/jobs", json={"job_id": job_id, "document_id": document["id"]})
    for state in ("printing", "printed"):
        timed(state, "POST", f"/kiosk/jobs/{job_id}/events",
              json={"event_id": str(uuid.uuid4()), "state": state, "at": "2026-12-01T07:30:00Z"})
    timed("end_session", "DELETE", f"/kiosk/sessions/{sid}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rush-") as directory:
        key = str(Path(directory) / "dinas.key")
        with bench_database(args.backend, Path(directory)) as (db, _cluster):
            kiosks = register(db, args.kiosks, key)
            token = admin_token(db, key)
            with serving(db, workers=args.workers, key=key) as (_server, port):
                url = f"http://127.0.0.1:{port}/api/v1"
                request_nos = issue_all(url, token, args.kiosks)
                by_request = pins(db, key)
                timings: dict[str, list[float]] = defaultdict(list)
                errors: list[str] = []
                lock = threading.Lock()
                barrier = threading.Barrier(args.kiosks)
                threads = [threading.Thread(target=session, args=(url, kiosks[i][1], i, by_request[request_nos[i]],
                                                                   barrier, timings, errors, lock))
                           for i in range(args.kiosks)]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - started
                store = open_store(db, key_path=key)
                with store.database.session() as connection:
                    printed = connection.value("SELECT COUNT(*) FROM documents WHERE status = 'printed'")
                store.close()
    print(f"morning rush: {args.kiosks} kiosks at once on {args.backend}, {args.workers} workers, {wall:.1f} s; "
          f"{printed} documents printed, {len(errors)} errors")
    for name in CALLS:
        ms = sorted(timings[name])
        if len(ms) < 2:
            print(f"  {name:<13} no calls")
            continue
        q = statistics.quantiles(ms, n=100, method="inclusive")
        print(f"  {name:<13} n={len(ms):<4} p50 {q[49]:7.1f} ms  p99 {q[98]:7.1f} ms  max {ms[-1]:7.1f} ms")
    for error in sorted(set(errors))[:10]:
        print(f"  error: {error}")
    ok = not errors and printed == args.kiosks
    print(f"every session done, every document printed once: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
