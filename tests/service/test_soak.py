"""Issue 13, point 4: whole sessions back to back, mixed as benchmarks/bench_memory.py mixes
them (KK, KIA, both, wrong PIN, cancel, idle timeout, plus families of three), with 5 % of
connections reset on the way to the dinas and a one-shot card printer fault before 5 % of the
sessions. Afterwards every job is final at both ends and the kiosk and the dinas agree job by
job (tests/fixtures/reconcile.py, printed), the outbox is empty and no card was spent twice.
The report also gives memory from the end of the warm-up (a fifth of the sessions, at most
200) to the last session, read every 100 sessions (benchmarks/memory_readings.py), and sessions
a minute; see docs/PERFORMANCE.md. The dinas runs in a child process, so the figure is the
kiosk's with its simulated printers and the lossy link (both small and bounded).

`make test` runs SOAK_SESSIONS=50 (the default); `make soak` runs 1,000."""

import dataclasses
import os
import random
import time

import pytest

from benchmarks.bench_memory import MIX, PRINTS, Planned, empty_simulators, run_session
from benchmarks.memory_readings import HEADER, read_memory
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.journal import PAGE_CACHE_KIB
from tests.fixtures.dinas_server import seeded_server_in_child
from tests.fixtures.kiosk import family_of_three, write_kiosk_config
from tests.fixtures.lossy_link import LinkFaults, LossyLink
from tests.fixtures.reconcile import reconcile

SESSIONS = int(os.environ.get("SOAK_SESSIONS", "50"))
FAULT_RATE = 0.05
CARD_FAULTS = ("nack", "garbage")          # one-shot: the next card or answer, then the printer is fine
SOAK_MIX = MIX + ("family",)
WARMUP = min(200, SESSIONS // 5)      # docs/PERFORMANCE.md: what warm-up means and why it is fair
READ_EVERY = 100
# Issue 13's budget: 1 MB per 500 sessions. A short run cannot resolve that (the journal's page
# cache and the allocators settle by a few MB), so it gets a floor far below the 1.1 MB a
# session the allocator's dynamic threshold cost (kiosk/malloc_tuning.py).
GROWTH_MB_PER_500 = 1.0
GROWTH_FLOOR_MB = 6.0
LONG_RUN = 500                        # measured sessions from which resident memory is checked
# What a leak makes grow session by session even where resident memory hides it (the arenas'
# free space absorbs a few kB a session): threads, open files and database connections, gc's
# objects (these wander by about 250 from one reading to the next), SQLite's memory (the
# journal's page cache, kiosk.journal.PAGE_CACHE_KIB, plus its schema and statements).
THREADS_SLACK, FDS_SLACK, OBJECTS_SLACK = 2, 3, 1000
SQLITE_FIXED_KIB = 512


def plan(server, rng) -> list[Planned]:
    made = sample_documents()
    planned = []
    for serial in range(SESSIONS):
        kind = SOAK_MIX[serial % len(SOAK_MIX)]
        nik = f"32730217059{serial // 9999 % 10}{serial % 9999 + 1:04d}"
        if kind == "wrong_pin":
            planned.append(Planned(kind, nik, f"{rng.randrange(10**6):06d}"))
        elif kind == "family":
            family = family_of_three(server, serial)
            planned.append(Planned("family", family["nik"], family["pin"]))
        else:
            kinds = PRINTS.get(kind, ("KK", "KIA"))
            reply = server.issue(nik, "Uji Soak", "081200000000", [(k, k, made[k]) for k in kinds])
            planned.append(Planned(kind, nik, server.pin_for(reply["request_no"])))
    return planned


def sample_documents() -> dict[str, bytes]:
    """One KK and one KIA of the seed's family 3, made once for every application."""
    from dinas.documents import kia_pdf, kk_pdf
    from dinas.seed import demo_families
    family = demo_families()[2][0]
    return {"KK": kk_pdf(family, "Disdukcapil"), "KIA": kia_pdf(family, family.members[3], "Disdukcapil")}


def soak_session(engine, planned: Planned) -> str:
    """What happened. The bench's script expects a fault-free link: a session a fault sent
    elsewhere (an error screen instead of the documents) is ended by hand, as a citizen
    walking away would; it must still get back to the attract screen in time."""
    from kiosk.session_headless import ViewWaiter
    from kiosk.session_model import Screen

    try:
        return run_session(engine, planned)[1]
    except TimeoutError:
        waiter = ViewWaiter(engine)
        try:
            engine.cancel()
            engine.finish()
            waiter.wait_screen(Screen.ATTRACT, Screen.OUT_OF_SERVICE, timeout=30)
        except TimeoutError:
            return "stuck"
        finally:
            waiter.unsubscribe()
        return "ended by hand after a fault"


@pytest.fixture
def reference_server(tmp_path_factory, tmp_path):
    """The reference dinas in its own process (its threads, pool and page caches are not the
    kiosk's memory), without its per-kiosk limit of session attempts (30 a minute, against
    guessing): one soak kiosk runs more sessions than a real one could, and the limit refused
    117 of 1,000 openings once the machine was quiet enough to go past 30 a minute."""
    with seeded_server_in_child(tmp_path_factory, tmp_path / "dinas") as server:
        yield server


@pytest.mark.timeout(120 + 6 * SESSIONS)      # issuing and running grow with the sessions (1 s each, unloaded)
def test_soak(reference_server, tmp_path):
    rng = random.Random(13)
    planned = plan(reference_server, rng)
    link = LossyLink(reference_server.url, LinkFaults(reset_probability=FAULT_RATE, seed=13))
    cfg = load_config(write_kiosk_config(reference_server, tmp_path, dinas_url=link.url,
                                         card="cards=100000&ribbon_prints=100000"))
    cfg = dataclasses.replace(cfg, settings=dataclasses.replace(cfg.settings, idle_timeout_s=2))
    runtime = KioskRuntime.from_config(cfg, outbox_base_delay=0.05)
    runtime.start()
    try:
        card = runtime.devices.printer("card_printer")
        outcomes = []
        readings = {}
        started = time.monotonic()
        for serial, each in enumerate(planned):
            if serial >= WARMUP and (serial - WARMUP) % READ_EVERY == 0:
                readings[serial] = read_memory()
            if rng.random() < FAULT_RATE:
                card.simulator.inject(rng.choice(CARD_FAULTS))
            if each.kind == "family":
                each = Planned("both", each.nik, each.pin)
            outcomes.append(soak_session(runtime.engine, each))
            empty_simulators(runtime)        # what they keep for tests, not what a printer keeps
        readings[SESSIONS], ended_at = read_memory(), time.monotonic()
        link.heal()
        assert runtime.outbox.flush(60), "events left in the outbox"
        assert runtime.outbox.depth() == 0
        check = reconcile(runtime.journal, reference_server.query("SELECT job_id, document_id, state FROM jobs"))
        measured = SESSIONS - WARMUP
        warm, end = readings[WARMUP], readings[SESSIONS]
        growth_mb = end.rss_mb - warm.rss_mb
        print(f"soak: {SESSIONS} sessions, link {link.counters}\n{check.report()}\n"
              f"  {SESSIONS / (ended_at - started) * 60:.1f} sessions a minute "
              f"({(ended_at - started) / SESSIONS * 1000:.0f} ms each)\n"
              f"  resident memory {warm.rss_mb:.1f} MB after {WARMUP} sessions, "
              f"{end.rss_mb:.1f} MB after {SESSIONS}: {growth_mb:+.2f} MB, "
              f"{growth_mb * 500 / measured:+.2f} MB per 500 sessions\n{HEADER}\n"
              + "\n".join(reading.row(str(serial)) for serial, reading in readings.items()))
        assert check.ok, check.report()
        spent = card.counters()["cards_inserted"]
        kias = [j for j in runtime.journal.jobs() if j.kind == "KIA"]
        printed = sum(1 for j in kias if j.state == "printed")
        spoiled_or_refused = sum(1 for j in kias if j.state == "failed" and j.counters_before is not None)
        assert printed <= spent <= printed + spoiled_or_refused, (spent, printed, spoiled_or_refused)
        ended = [what for what in outcomes if what != "stuck"]
        assert len(ended) == SESSIONS, outcomes
        # Resident memory answers the budget over a long run (make soak). A short one, in make
        # test's process after the rest of the suite, moves with the arenas' free space and
        # pytest's log capture more than with any leak (+8.2 MB once in CI, +2.7 MB alone): it
        # checks what the program holds (malloc's in-use bytes) instead.
        held_mb = (end.malloc_used_kb - warm.malloc_used_kb) / 1024
        grown = growth_mb if measured >= LONG_RUN else held_mb
        assert grown <= max(GROWTH_FLOOR_MB, GROWTH_MB_PER_500 * measured / 500), (growth_mb, held_mb)
        assert end.python_threads <= warm.python_threads + THREADS_SLACK, (warm, end)
        assert end.db_files == warm.db_files and end.fds <= warm.fds + FDS_SLACK, (warm, end)
        assert end.gc_objects <= warm.gc_objects + OBJECTS_SLACK, (warm, end)
        assert all(r.sqlite_kb <= PAGE_CACHE_KIB + SQLITE_FIXED_KIB for r in readings.values()), readings
    finally:
        runtime.stop(flush_timeout=10)
        link.close()
