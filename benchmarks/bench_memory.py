"""Resident memory of the kiosk core over many sessions (ARCHITECTURE §9: steady <= 200 MB,
growth over 500 sessions <= 5 MB; issue 13: <= 1 MB per 500).

    python -m benchmarks.bench_memory [--warmup 200] [--sessions 500] [--every 100] [--trace FRAMES] [--top 10]

The reference dinas server runs in a child process on loopback (so its memory is not
counted); the kiosk core runs here: `KioskRuntime` with the zero-latency simulated printers,
driven headless through the SessionEngine. A realistic mix of sessions: most print (a KK on
the A4 printer, a KIA on the card printer, or both, each with a receipt), some enter a wrong
PIN, some cancel on the documents screen, some walk away and time out (a 2 s idle timeout
here). After `--warmup` sessions (200: until the journal's page cache, the URL caches and the
allocator's arenas have reached their bounds; docs/PERFORMANCE.md says why that is fair),
memory is read, then every `--every` sessions, `--sessions` in all: resident (RSS, PSS,
anonymous), malloc's bytes in use and free, SQLite's, threads, fds and gc's objects
(benchmarks/memory_readings.py), each after a full `gc.collect()`. Then the object types
that grew most, and with `--trace` the Python allocation sites that did (tracemalloc over
the measured sessions, by traceback).

Exit 1 when steady or growth is over budget (not judged under tracemalloc), or when a
session did not end as planned (the figures would then not describe the mix); 0 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import requests

from benchmarks.memory_readings import HEADER, MemoryReading, objects_by_type, read_memory, type_growth
from benchmarks.support import recorded_pin, write_kiosk_config

STEADY_BUDGET_MB = 200.0
GROWTH_BUDGET_MB = 5.0
IDLE_TIMEOUT_S = 2
GOAL_MB_PER_500 = 1.0
WARMUP = 200
# One cycle of the mix; most citizens print.
MIX = ("kk", "kia", "kk", "both", "kk", "wrong_pin", "kia", "kk", "cancel", "both",
       "kk", "kia", "kk", "idle", "both", "kk", "wrong_pin", "kia", "kk", "cancel")
PRINTS = {"kk": ("KK",), "kia": ("KIA",), "both": ("KK", "KIA")}


# --- the dinas, in a child process ----------------------------------------------------------

def serve_dinas(db_path: str) -> int:
    """Child process: seed the demo (unless `db_path` is a seeded database already, with its
    key beside it), serve on a free loopback port, print one JSON line {url, seed}, and stop
    when the parent closes our stdin (also when the parent dies)."""
    from werkzeug.serving import make_server

    from dinas.seed import seed_demo
    from dinas.server import create_app

    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # one line per request otherwise
    seed = None if Path(db_path).exists() else seed_demo(db_path)
    # The per-kiosk limit (30 tries a minute) guards against guessing; one bench kiosk runs
    # far more sessions than a real one could.
    server = make_server("127.0.0.1", 0, create_app(db_path, session_attempts_per_minute=100_000),
                         threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}/api/v1", "seed": seed}), flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


class DinasProcess:
    """The reference dinas in a child process, on `db` (directory/dinas.db, seeded by the
    child when it does not exist yet): its memory is not the kiosk's."""

    def __init__(self, directory: Path, db: str | Path | None = None) -> None:
        self.db = str(db or directory / "dinas.db")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_memory", "--serve-dinas", self.db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise SystemExit("the dinas server did not start (its error is above)")
        ready = json.loads(line)
        self.url, self.seed = ready["url"], ready["seed"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process.stdout.close()


# --- applications ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Planned:
    kind: str            # a key of PRINTS, or wrong_pin, cancel, idle
    nik: str
    pin: str


def new_nik(serial: int) -> str:
    """A well-formed NIK no demo citizen has: a Kota Bandung district, born 17 May 199x,
    then a serial (never 0000)."""
    return f"32730217059{serial // 9999 % 10}{serial % 9999 + 1:04d}"


def issue_all(url: str, admin_token: str, plan: list[str], pdfs: dict[str, bytes], db_path: Path) -> list[Planned]:
    """One application per session that needs a right PIN (a printed document cannot be
    printed again); a wrong-PIN session uses a NIK with no application, which the dinas
    answers exactly like a wrong PIN."""
    import base64
    encoded = {kind: base64.b64encode(pdf).decode() for kind, pdf in pdfs.items()}
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {admin_token}"
    planned = []
    for serial, kind in enumerate(plan):
        nik = new_nik(serial)
        if kind == "wrong_pin":
            planned.append(Planned(kind, nik, f"{secrets.randbelow(10**6):06d}"))
            continue
        kinds = PRINTS.get(kind, ("KK", "KIA"))
        reply = http.post(f"{url}/admin/applications", timeout=30, json={
            "nik": nik, "name": "Bench Memori", "phone": "081200000000",
            "documents": [{"kind": k, "title": k, "pdf_base64": encoded[k]} for k in kinds]})
        if reply.status_code != 201:
            raise SystemExit(f"issuing an application failed: {reply.status_code} {reply.text[:200]}")
        pin = recorded_pin(db_path, reply.json()["request_no"])
        planned.append(Planned(kind, nik, pin))
    http.close()
    return planned


# --- the kiosk ------------------------------------------------------------------------------

def start_kiosk(directory: Path, url: str, kiosk: dict, printed_out: bool = True):
    from kiosk.app import KioskRuntime
    from kiosk.config import load_config

    cfg = load_config(write_kiosk_config(directory, url, kiosk, card_options="cards=100000&ribbon_prints=100000",
                                         printed_out=printed_out))
    # kiosk.toml allows 30 s at least; the walk-away sessions would dominate the run.
    cfg = dataclasses.replace(cfg, settings=dataclasses.replace(cfg.settings, idle_timeout_s=IDLE_TIMEOUT_S))
    runtime = KioskRuntime.from_config(cfg)
    runtime.start()
    return runtime


def sample_pdfs(runtime, citizen: dict) -> dict[str, bytes]:
    session = runtime.client.open_session(nik=citizen["nik"], pin=citizen["pin"])
    pdfs = {d.kind: runtime.client.download_document(session.session_id, d) for d in session.documents}
    runtime.client.end_session(session.session_id)
    return pdfs


def empty_simulators(runtime) -> None:
    """The simulators keep every card, receipt line and status query they saw, for tests
    to inspect; a real printer keeps those in its own memory, not the kiosk's."""
    card = runtime.devices.printer("card_printer").simulator
    receipt = runtime.devices.printer("receipt_printer").simulator
    card.forget_output()
    receipt.forget_output()


def run_session(engine, planned: Planned) -> tuple[bool, str]:
    """(ended as planned, what happened)."""
    from kiosk.session_headless import run_headless_session

    if planned.kind in PRINTS:
        result = run_headless_session(engine, nik=planned.nik, pin=planned.pin, kinds=PRINTS[planned.kind])
        printed = sorted(d.kind for d in result.documents if d.result == "printed")
        receipt = "+receipt" if result.receipt_printed else ""
        return (result.ok and printed == sorted(PRINTS[planned.kind]) and bool(receipt),
                f"{result.screen} {'+'.join(printed) or 'nothing'} printed{receipt}")
    if planned.kind == "wrong_pin":
        result = run_headless_session(engine, nik=planned.nik, pin=planned.pin)
        key = result.message.key if result.message else ""
        return result.screen == "pin" and key == "pin.no_match", f"{result.screen} {key}"
    return leave_documents(engine, planned)


def leave_documents(engine, planned: Planned) -> tuple[bool, str]:
    """Reach the documents screen, then cancel there or walk away until the idle timeout."""
    from kiosk.session_headless import ViewWaiter
    from kiosk.session_model import Screen

    waiter = ViewWaiter(engine)
    try:
        waiter.wait_screen(Screen.ATTRACT, timeout=30)
        engine.start()
        waiter.wait_screen(Screen.IDENTIFY, timeout=30)
        engine.submit_nik(planned.nik)
        waiter.wait_screen(Screen.PIN, timeout=30)
        engine.submit_pin(planned.pin)
        view = waiter.wait_screen(Screen.DOCUMENTS, timeout=30)
        engine.wait_idle(30)           # let the downloads and previews finish, as a reader would
        before = len(waiter.views)     # before the cancel: its attract view may come at once
        if planned.kind == "cancel":
            engine.cancel()
        waiter.wait_for(lambda v: len(waiter.views) > before and v.screen == Screen.ATTRACT,
                        timeout=IDLE_TIMEOUT_S + 30)
        return bool(view.documents), f"{planned.kind} on documents"
    finally:
        waiter.unsubscribe()


# --- measuring ------------------------------------------------------------------------------

class Runner:
    def __init__(self, engine, runtime, planned: list[Planned]) -> None:
        self.engine, self.runtime = engine, runtime
        self.planned = iter(planned)
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.unexpected: list[str] = []

    def run(self, count: int, record: bool = True) -> None:
        for _ in range(count):
            planned = next(self.planned)
            as_planned, what = run_session(self.engine, planned)
            empty_simulators(self.runtime)
            if record:
                self.outcomes[f"{planned.kind}: {what}"] += 1
            if not as_planned:
                self.unexpected.append(f"{planned.kind}: {what}")


def traced_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> list[str]:
    """The `top` call sites (by traceback) whose live Python memory grew most between two
    snapshots. The first snapshot is taken after some sessions under tracing: what the kiosk
    holds from one session to the next (the last job on each device worker, say) is then in
    both and cancels out."""
    growth = after.compare_to(before, "traceback")
    lines = [f"  {sum(stat.size_diff for stat in growth) / 1024:+.1f} kB of live traced memory in all"]
    for stat in growth[:top]:
        frames = [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback
                  if "tracemalloc" not in frame.filename][-4:]
        lines.append(f"  {stat.size_diff / 1024:+9.1f} kB {stat.count_diff:+6d} blocks  "
                     + " <- ".join(reversed(frames)))
    return lines


def measure(runner: Runner, sessions: int, every: int, trace: int, top: int,
            on_reading: Callable[[int, MemoryReading], None]) -> tuple[list, list[str]]:
    """Run `sessions` sessions, reading memory before and every `every` sessions; with `trace`
    (frames kept per allocation) under tracemalloc from the first reading on (2 to 5 times
    slower, and its own bookkeeping is resident too: read `traced`, not RSS, in such a run). Returns the readings
    and the lines that explain the growth: objects by type, and the traced sites."""
    if trace:
        tracemalloc.start(trace)
    readings = [(0, read_memory())]
    on_reading(*readings[0])
    types_before = objects_by_type()
    snapshot = tracemalloc.take_snapshot() if trace else None
    done = 0
    while done < sessions:
        step = min(every or sessions, sessions - done)
        runner.run(step)
        done += step
        readings.append((done, read_memory()))
        on_reading(*readings[-1])
    lines = ["  gc-tracked objects that grew most, by type (count now):",
             *type_growth(types_before, objects_by_type(), top)]
    if trace:
        lines += [f"  tracemalloc over the {sessions} sessions, top {top} sites:",
                  *traced_growth(snapshot, tracemalloc.take_snapshot(), top)]
        tracemalloc.stop()
    return readings, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500, help="sessions measured after the warm-up")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="sessions before the first reading")
    parser.add_argument("--every", type=int, default=100, help="sessions between readings (0: start and end only)")
    parser.add_argument("--trace", type=int, default=0, metavar="FRAMES",
                        help="the measured sessions under tracemalloc keeping FRAMES frames: which Python sites grew")
    parser.add_argument("--top", type=int, default=10, help="growth sites and types to list")
    parser.add_argument("--serve-dinas", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_dinas:
        return serve_dinas(args.serve_dinas)
    if args.sessions < 1 or args.warmup < 0 or args.every < 0:
        parser.error("--sessions must be at least 1, --warmup and --every not negative")
    logging.basicConfig(level=logging.ERROR)

    started = time.monotonic()
    plan = [MIX[i % len(MIX)] for i in range(args.warmup + args.sessions)]
    print(f"kiosk core memory, {args.sessions} sessions after {args.warmup} to warm up (zero-latency "
          f"simulators, local dinas in its own process{', under tracemalloc' if args.trace else ''}); "
          f"budget steady <= {STEADY_BUDGET_MB:.0f} MB, growth <= {GROWTH_BUDGET_MB:.0f} MB "
          f"(issue 13: <= {GOAL_MB_PER_500:.0f} MB per 500)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        directory = Path(tmp)
        dinas = DinasProcess(directory)
        runtime = None
        try:
            runtime = start_kiosk(directory, dinas.url, dinas.seed["kiosks"][0])
            both = next(c for c in dinas.seed["citizens"] if len(c["documents"]) == 2)
            planned = issue_all(dinas.url, dinas.seed["admin_token"], plan, sample_pdfs(runtime, both),
                                directory / "dinas.db")
            issued_at = time.monotonic()
            runner = Runner(runtime.engine, runtime, planned)
            runner.run(args.warmup, record=False)
            print(HEADER, flush=True)
            measured_at = time.monotonic()
            readings, explained = measure(runner, args.sessions, args.every, args.trace, args.top,
                                          lambda done, r: print(r.row(str(args.warmup + done)), flush=True))
            finished_at = time.monotonic()
        finally:
            if runtime is not None:
                runtime.stop(flush_timeout=10)
            dinas.stop()

    first, last = readings[0][1], readings[-1][1]
    growth_mb = last.rss_mb - first.rss_mb
    print("  sessions by outcome:")
    for what, count in sorted(runner.outcomes.items()):
        print(f"    {count:4d}  {what}")
    print(f"  RSS steady   {first.rss_mb:7.1f} MB   {'within' if first.rss_mb <= STEADY_BUDGET_MB else 'OVER'} budget")
    print(f"  RSS after    {last.rss_mb:7.1f} MB   (PSS {first.pss_kb / 1024:.1f} -> {last.pss_kb / 1024:.1f} MB)")
    print(f"  growth       {growth_mb:+7.2f} MB   {'within' if growth_mb <= GROWTH_BUDGET_MB else 'OVER'} budget; "
          f"{growth_mb * 500 / args.sessions:+.2f} MB per 500 sessions "
          f"({growth_mb * 1024 / args.sessions:+.1f} kB a session)")
    print(f"  time         {finished_at - measured_at:7.1f} s for the measured sessions "
          f"({(finished_at - measured_at) / args.sessions * 1000:.0f} ms each); "
          f"{issued_at - started:.1f} s to start and issue, {time.monotonic() - started:.1f} s in all")
    print("\n".join(explained))
    if runner.unexpected:
        print(f"  {len(runner.unexpected)} session(s) did not end as planned, e.g.: "
              + "; ".join(sorted(set(runner.unexpected))[:5]))
    over = first.rss_mb > STEADY_BUDGET_MB or (growth_mb > GROWTH_BUDGET_MB and not args.trace)
    return 1 if over or runner.unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
