"""Soak throughput with zero-delay simulators (issue 13): sessions a minute, and where the time goes.

    python -m benchmarks.bench_soak_throughput [--sessions 200] [--warmup 20] [--printed-out]

bench_memory's set-up and mix (KK, KIA, both, wrong PIN, cancel, idle timeout at 2 s): the
reference dinas in its own process on loopback, the kiosk core here (`KioskRuntime`, headless)
with the zero-latency printer simulators, which here keep what they print in memory only
(`--printed-out`: written to files as in the soak, where the card simulator's PNGs take
0.4-0.8 s of every card). Prints sessions a minute, each kind of session's
wall time, the kiosk's and the dinas's CPU a session, and a table of phases (dinas calls,
previews, card imaging, device I/O, journal, outbox) timed by wrapping the functions that do
them (benchmarks/phase_timing.py: exclusive wall and CPU time, summed over every thread).

Exit 1 when a session did not end as planned (the figures would then not describe the mix).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.bench_memory import MIX, DinasProcess, empty_simulators, issue_all, run_session, sample_pdfs, \
    start_kiosk
from benchmarks.phase_timing import PhaseTimer

JOURNAL_WRITES = ("create_job", "transition", "note_device_job", "enqueue", "count", "audit",
                  "mark_delivered", "mark_attempt_failed")
JOURNAL_READS = ("job", "open_jobs", "next_event", "next_attempt_at", "outbox_depth", "outbox_summary",
                 "counters", "stock")


def instrument(phases: PhaseTimer) -> None:
    import kiosk.session_steps
    import printer_drivers.receipt
    from kiosk.dinas_client import DinasClient
    from kiosk.journal import Journal
    from kiosk.orchestrator import PrintOrchestrator
    from kiosk.outbox import Outbox
    from printer_drivers.a4 import A4Printer
    from printer_drivers.evolis.printer import EvolisPrinter
    from printer_drivers.evolis.protocol import EvolisLink
    from printer_drivers.receipt import ReceiptPrinter

    for name, phase in (("open_session", "dinas: open session"), ("download_document", "dinas: download"),
                        ("reserve_job", "dinas: reserve"), ("end_session", "dinas: end session"),
                        ("post_event", "dinas: job events (outbox)"), ("heartbeat", "dinas: heartbeat"),
                        ("fetch_config", "dinas: remote configuration")):
        phases.wrap(DinasClient, name, phase)
    phases.wrap(kiosk.session_steps, "render_preview", "previews: render")
    phases.wrap(kiosk.session_steps, "blur_preview", "previews: blur")
    phases.wrap(EvolisPrinter, "prepare", "card imaging (rasterise, separate, encode)")
    phases.wrap(EvolisPrinter, "print_prepared", "card printer: commands (device I/O)")
    phases.wrap(EvolisLink, "download", "card printer: sending the panels")
    phases.wrap(EvolisPrinter, "_wait_until_card_out", "card printer: polling for the card out")
    phases.wrap(EvolisPrinter, "status", "card printer: status polls")
    phases.wrap(EvolisPrinter, "counters", "card printer: counters")
    phases.wrap(A4Printer, "prepare", "A4: open the PDF, count pages")
    phases.wrap(A4Printer, "print_prepared", "A4 printer: print over IPP, follow the job")
    phases.wrap(A4Printer, "status", "A4 printer: status polls")
    phases.wrap(printer_drivers.receipt, "compose_receipt", "receipt: compose (QR, ESC/POS)")
    phases.wrap(ReceiptPrinter, "print_receipt", "receipt printer: print (device I/O)")
    phases.wrap(ReceiptPrinter, "status", "receipt printer: status polls")
    phases.wrap(PrintOrchestrator, "stage", "print lanes: staging (its own part)")
    phases.wrap(PrintOrchestrator, "send", "print lanes: waiting on the device workers")
    phases.wrap(Outbox, "deliver_next", "outbox (its own part)")
    for name in JOURNAL_WRITES:
        phases.wrap(Journal, name, "journal: writes (sqlite, fsync)")
    for name in JOURNAL_READS:
        phases.wrap(Journal, name, "journal: reads")


def cpu_s_of(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions measured after the warm-up")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--printed-out", action="store_true",
                        help="let the simulators write the cards (PNGs) and pages, as the soak's do")
    args = parser.parse_args()
    if args.sessions < 1 or args.warmup < 0:
        parser.error("--sessions must be at least 1 and --warmup not negative")
    logging.basicConfig(level=logging.ERROR)

    phases = PhaseTimer()
    instrument(phases)
    plan = [MIX[i % len(MIX)] for i in range(args.warmup + args.sessions)]
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    unexpected: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        directory = Path(tmp)
        dinas = DinasProcess(directory)
        runtime = None
        try:
            runtime = start_kiosk(directory, dinas.url, dinas.seed["kiosks"][0], printed_out=args.printed_out)
            both = next(c for c in dinas.seed["citizens"] if len(c["documents"]) == 2)
            planned = issue_all(dinas.url, dinas.seed["admin_token"], plan, sample_pdfs(runtime, both),
                                directory / "dinas.db")
            for each in planned[:args.warmup]:
                run_session(runtime.engine, each)
                empty_simulators(runtime)
            runtime.outbox.flush(30)
            phases.reset()
            started, cpu_started = time.monotonic(), time.process_time()
            dinas_cpu_started = cpu_s_of(dinas.process.pid)
            for each in planned[args.warmup:]:
                began = time.monotonic()
                as_planned, what = run_session(runtime.engine, each)
                by_kind[each.kind].append(time.monotonic() - began)
                empty_simulators(runtime)
                if not as_planned:
                    unexpected.append(f"{each.kind}: {what}")
            wall = time.monotonic() - started
            cpu = time.process_time() - cpu_started
            dinas_cpu = cpu_s_of(dinas.process.pid) - dinas_cpu_started
        finally:
            if runtime is not None:
                runtime.stop(flush_timeout=10)
            dinas.stop()
            phases.unwrap()

    n = args.sessions
    load = os.getloadavg()
    print(f"soak throughput, {n} sessions after {args.warmup} to warm up (bench_memory's mix, zero-delay "
          f"simulators, local dinas in its own process); load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"  {n / wall * 60:.1f} sessions a minute ({wall / n * 1000:.0f} ms each, {wall:.1f} s in all)")
    print(f"  CPU a session: kiosk {cpu / n * 1000:.0f} ms (all its threads), dinas {dinas_cpu / n * 1000:.0f} ms")
    print("  wall time by kind of session:")
    for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
        print(f"    {kind:10s} {len(times):4d} sessions, median {statistics.median(times) * 1000:6.0f} ms, "
              f"{sum(times) / wall * 100:4.1f} % of the run")
    print("  phases (exclusive; summed over threads, which overlap):")
    print("\n".join(phases.table(n)))
    if unexpected:
        print(f"  {len(unexpected)} session(s) did not end as planned, e.g.: " + "; ".join(sorted(set(unexpected))[:5]))
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
