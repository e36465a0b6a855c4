"""The dinas server's heartbeat throughput: the highest rate held for a minute at p99 <= 100 ms.

    python -m benchmarks.bench_dinas_throughput [--duration 60] [--probe 10] [--configs sqlite:1,postgresql:2,postgresql:4]

For each configuration (backend:workers), a fresh database with enough kiosks that none passes
its rate limit (10 heartbeats a minute each at the highest rate tried), `adm-dinas serve
--workers N` in its own process, and an open-loop load: heartbeat i is due at start + i/rate,
and its latency counts from when it was due (a client that falls behind shows as latency, not
as a lower rate). The client is asyncio over 64 keep-alive connections on loopback, light
enough to share the cores with the server. Rates step up in `--probe`-second runs until p99
passes 100 ms or a reply fails; the best rate then runs for `--duration` seconds (stepping down
if it no longer holds). A failed probe is run once more before the search stops (other work
on shared cores). Bounded: at most 2 x len(RATES) probes and 3 holds per config.
PostgreSQL is a throwaway cluster with fsync on (tests/fixtures/postgres.py).
The goal is 50,000 kiosks a minute (833/s).

Each run also says what a heartbeat cost in CPU: the server's processes (gunicorn's master
and workers), PostgreSQL's (postmaster and backends) and this load generator's, in CPU
milliseconds per heartbeat answered, from their process times; and the machine's load
average (1 min) at the start and end of the run. Those costs, not the rate held on a shared
box, say what a machine with more cores will take.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_heartbeats import free_port, heartbeat, register, start_server
from benchmarks.support import process_tree_cpu

BUDGET_P99_MS = 100.0
GOAL_PER_SECOND = 50_000 / 60
RATES = (50, 100, 150, 200, 250, 300, 400, 500, 650, 833, 1000, 1250)
CONNECTIONS = 64
PER_KIOSK_PER_MINUTE = 10


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


def _request(port: int, kiosk_id: str, token: str, n: int) -> bytes:
    body = json.dumps(heartbeat(kiosk_id, n)).encode()
    return (f"POST /api/v1/kiosk/heartbeat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _load(port: int, kiosks: list[tuple[str, str]], rate: float, seconds: float) -> tuple[list[float], int]:
    total = int(rate * seconds)
    requests = [_request(port, *kiosks[i % len(kiosks)], i) for i in range(total)]
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    start = time.perf_counter() + 0.2

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    status = await asyncio.wait_for(_one(reader, writer, requests[i]), 10)
                except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    failures += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - due)
                failures += status != 200
        finally:
            writer.close()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return latencies, failures


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(port: int, kiosks: list[tuple[str, str]], rate: float, seconds: float,
            watch: dict[str, int] | None = None) -> dict:
    """One open-loop run; `watch` names process trees ({"server": pid, "db": pid}) whose CPU
    time per heartbeat is reported with the client's own."""
    watch = watch or {}
    load_before = os.getloadavg()[0]
    before = {name: process_tree_cpu(pid) for name, pid in watch.items()}
    client_before = _client_cpu()
    latencies, failures = asyncio.run(_load(port, kiosks, rate, seconds))
    cpu = {f"{name}_cpu_ms": (process_tree_cpu(pid) - before[name]) * 1000 / max(1, len(latencies))
           for name, pid in watch.items()}
    cpu["client_cpu_ms"] = (_client_cpu() - client_before) * 1000 / max(1, len(latencies))
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [0.0] * 99
    return {"rate": rate, "seconds": seconds, "sent": len(ms) + failures, "failures": failures,
            "p50": q[49], "p99": q[98], "max": ms[-1] if ms else 0.0,
            "held": failures == 0 and q[98] <= BUDGET_P99_MS, **cpu,
            "load": (load_before, os.getloadavg()[0])}


def _show(config: str, result: dict, label: str) -> None:
    costs = ", ".join(f"{key.removesuffix('_cpu_ms')} {value:.2f}" for key, value in result.items()
                      if key.endswith("_cpu_ms"))
    print(f"  {config} {label} {result['rate']:>5.0f}/s for {result['seconds']:.0f} s: p50 {result['p50']:6.1f} "
          f"p99 {result['p99']:7.1f} max {result['max']:7.1f} ms, {result['failures']} failed "
          f"-> {'held' if result['held'] else 'not held'}; CPU ms/heartbeat: {costs}; "
          f"load {result['load'][0]:.1f}->{result['load'][1]:.1f}", flush=True)


def run_config(backend: str, workers: int, duration: float, probe: float,
               rates: tuple[int, ...] = RATES) -> dict | None:
    kiosk_count = int(max(RATES) * 60 / PER_KIOSK_PER_MINUTE)
    config = f"{backend}:{workers}w"
    with tempfile.TemporaryDirectory(prefix="bench-dinas-") as directory:
        key = str(Path(directory) / "dinas.key")
        cluster = None
        if backend == "postgresql":
            from tests.fixtures.postgres import PostgresCluster
            cluster = PostgresCluster(durable=True)
            db = cluster.new_database()
        else:
            db = str(Path(directory) / "dinas.db")
        try:
            kiosks = register(db, kiosk_count, key)
            port = free_port()
            server = start_server(db, port, workers=workers, key=key)
            watch = {"server": server.pid}
            if cluster is not None:
                watch["db"] = int((cluster.data / "postmaster.pid").read_text().split()[0])
            try:
                measure(port, kiosks, 50, 2)                       # warm the pools
                best = None
                for rate in rates:
                    # A probe that fails is tried once more: other work on the cores can cost
                    # one 10-second window its p99.
                    for attempt in ("probe", "again"):
                        result = measure(port, kiosks, rate, probe, watch)
                        _show(config, result, attempt)
                        if result["held"]:
                            break
                    if not result["held"]:
                        break
                    best = rate
                candidates = [r for r in rates if r <= (best or rates[0])][::-1][:3]
                for rate in candidates:
                    result = measure(port, kiosks, rate, duration, watch)
                    _show(config, result, "hold ")
                    if result["held"]:
                        return {"config": config, **result}
                return None
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            if cluster is not None:
                cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--probe", type=float, default=10.0)
    parser.add_argument("--configs", default="sqlite:1,postgresql:2,postgresql:4")
    parser.add_argument("--rates", default=",".join(map(str, RATES)),
                        help="the rates to step through, heartbeats/s (e.g. 200 for one fixed rate)")
    args = parser.parse_args()
    held = []
    for item in args.configs.split(","):
        backend, workers = item.split(":")
        result = run_config(backend, int(workers), args.duration, args.probe,
                            tuple(int(r) for r in args.rates.split(",")))
        held.append(result)
        if result is None:
            print(f"{item}: no rate held p99 <= {BUDGET_P99_MS:.0f} ms")
        else:
            print(f"{result['config']}: {result['rate']:.0f} heartbeats/s held {result['seconds']:.0f} s "
                  f"(p50 {result['p50']:.1f}, p99 {result['p99']:.1f} ms) = {result['rate'] * 60:,.0f} kiosks/min "
                  f"(goal {GOAL_PER_SECOND:.0f}/s)", flush=True)
            _show(result["config"], result, "held ")
    # Over budget means not even a 5,000-kiosk fleet's minute (83/s) held anywhere.
    return 0 if all(r is not None and r["rate"] >= 5000 / 60 for r in held) else 1


if __name__ == "__main__":
    sys.exit(main())
