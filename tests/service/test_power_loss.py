"""Issue 13, point 5: power loss at random points.

Whole sessions of `adm-kiosk session`, each SIGKILLed at a moment drawn uniformly over the
session's wall time (not at the journal's named transitions), then the kiosk starts again.
The parts, each real:
- the reference dinas on loopback HTTP, in this process;
- the card printer simulator in a process of its own (`adm-kiosk simulate card-printer
  --socket`), reached over TCP, so a card it was given keeps printing after the kiosk dies,
  as a real printer does; it takes mechanical time (a card is out ~1.2 s after `Ss`);
- the A4 printer simulator (IPP over loopback HTTP, `devices.sim.a4`) in this process, so it
  too outlives the kiosk with its queue and job history, as CUPS does; a page takes 0.3 s;
- the kiosk in a process of its own (tests/fixtures/power_loss_kiosk.py), which records the
  span it is in (journal write, dinas call, card print, outbox delivery ...) so each kill is
  counted by phase.

After a kill the kiosk restarts: most often here, in this process, checked at once; for
RESTART_BY_NEXT_SESSION of the kills, by the next session's own start-up, whose recovery (a
card waited for or rejected, events delivered) the next kill can interrupt in turn. At each
restart here recovery must leave no job open, the outbox must drain, the dinas and the journal must agree on every job
(tests/fixtures/reconcile.py), and the cards the printer finished (counted at the
simulator's output folder) must equal the card jobs the kiosk journaled `printed`, and the KK
pages the A4 printer put out the KK jobs printed; every card the printer took and did not
finish must be one the kiosk counted spoiled. A citizen
whose document a kill released comes back in a later session. At the end every document
left is printed in plain sessions, and then every KIA issued has exactly one finished card
and every KK one page.
docs/POWER_LOSS.md says what counts as printed twice, and why.

    ADM_POWER_LOSS_SESSIONS=200 (make powerloss; `make test` runs 10)
    ADM_POWER_LOSS_SEED=N       (printed by every run; the same seed draws the same kills)
"""

from __future__ import annotations

import collections
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.sim.a4 import SimulatedA4Printer
from kiosk import recovery
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.session_headless import run_headless_session
from tests.fixtures.dinas_server import seeded_server
from tests.fixtures.kiosk import family_of_three, write_kiosk_config
from tests.fixtures.power_loss_kiosk import GO, GRACE_ENV, READY, open_spans, phase_of
from tests.fixtures.reconcile import reconcile

REPO = Path(__file__).resolve().parents[2]
SESSIONS = int(os.environ.get("ADM_POWER_LOSS_SESSIONS", "10"))
SEED = int(os.environ.get("ADM_POWER_LOSS_SEED") or random.SystemRandom().randrange(1, 10**6))
KINDS = ("KIA", "KK+KIA", "family")     # a family: KK + 2 KIA, the A4 and card printers in parallel
# The simulated card printer: 6 panels at 0.05 s each on the wire, then the card is out
# 28 s x 0.03 (plus a cold start on the first card) + 0.1 s after `Ss`: most of a card's
# time comes after its last panel, as on a real printer.
TIME_SCALE = 0.03
CARD_PRINTER = ("--panel-seconds", "0.05", "--card-seconds", "0.1", "--speed", "realistic",
                "--time-scale", str(TIME_SCALE), "--cards", "100000", "--ribbon-prints", "100000")
# Recovery's grace for a card found inside, in the ratio production has to a real card
# (6 s to a 28 s colour card), so that a card still printing outlasts it here too.
CARD_OUT_GRACE_S = recovery.CARD_OUT_GRACE_S * TIME_SCALE
# The share of kills whose restart is the next session's own start-up rather than a checked
# restart here: its recovery (a card waited for, rejected ...) can then be killed too.
RESTART_BY_NEXT_SESSION = 0.4
OUTCOMES = {"accepted", "rejected:not_found"}     # not_found: the reservation never reached the dinas


@dataclass(eq=False)
class Citizen:
    kind: str
    nik: str
    pin: str
    documents: list[dict]


class CardPrinterProcess:
    """`adm-kiosk simulate card-printer --socket 0` in its own process group."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "simulate", "card-printer", "--socket", "0", "--out", str(out_dir),
             *CARD_PRINTER], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline()
        assert "socket://" in line, f"the card printer simulator did not start: {line}"
        self.url = line.rsplit(" ", 1)[-1].strip()

    def finished_cards(self) -> int:
        return sum(1 for p in self.out_dir.glob("card-*-front.png") if "-rejected" not in p.name)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.stdout.read().strip().splitlines()[-1:]


class TracedKiosk:
    """One kiosk process, imported and waiting for its session (tests/fixtures/power_loss_kiosk.py)."""

    def __init__(self, trace: Path) -> None:
        self.trace, self.stderr = trace, trace.with_suffix(".stderr")
        env = {**os.environ, GRACE_ENV: str(CARD_OUT_GRACE_S)}
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen([sys.executable, "-m", "tests.fixtures.power_loss_kiosk", str(trace)],
                                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=stderr, text=True, env=env)

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def go(self, config: Path, citizen: Citizen) -> float:
        line = self.process.stdout.readline().strip()
        assert line == READY, f"the kiosk process did not start: {line} {self.errors()[-2000:]}"
        args = ["--config", str(config), "session", "--nik", citizen.nik, "--pin", citizen.pin, "--json"]
        self.process.stdin.write(f"{GO} {json.dumps(args)}\n")
        self.process.stdin.flush()
        return time.monotonic()

    def run_until(self, deadline: float) -> bool:
        """SIGKILL at `deadline` (monotonic); True when killed, False when it ended first."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(min(0.005, max(deadline - time.monotonic(), 0)))
        killed = self.process.poll() is None
        if killed:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        return killed

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out + self.errors()[-3000:]


RECOVERED = re.compile(r"recovered job \S+ \((\w+)\) left in (\w+): (\w+)( for review)? \((.*)\)$")


def recovered_in(kiosk: TracedKiosk) -> list[tuple[str, str, bool, str]]:
    """What the process's own start-up recovery settled, from its log (kiosk.recovery)."""
    return [(m.group(2), m.group(3), bool(m.group(4)), m.group(5))
            for m in map(RECOVERED.search, kiosk.errors().splitlines()) if m]


def sample_documents() -> dict[str, bytes]:
    from dinas.documents import kia_pdf, kk_pdf
    from dinas.seed import demo_families
    family = demo_families()[2][0]
    return {"KK": kk_pdf(family, "Disdukcapil"), "KIA": kia_pdf(family, family.members[3], "Disdukcapil")}


class Applications:
    """New applications at the dinas, one per citizen."""

    def __init__(self, server) -> None:
        self.server, self.pdfs = server, sample_documents()
        self.issued: list[Citizen] = []

    def new(self, kind: str) -> Citizen:
        serial = len(self.issued) + 1
        if kind == "family":
            family = family_of_three(self.server, serial)
            citizen = Citizen(kind, family["nik"], family["pin"], family["documents"])
        else:
            nik = f"32730217059{serial // 9999 % 10}{serial % 9999 + 1:04d}"
            kinds = ("KIA",) if kind == "KIA" else ("KK", "KIA")
            reply = self.server.issue(nik, "Uji Listrik Padam", "081200000000",
                                      [(k, k, self.pdfs[k]) for k in kinds])
            citizen = Citizen(kind, nik, self.server.pin_for(reply["request_no"]), reply["documents"])
        self.issued.append(citizen)
        return citizen


def ready_documents(server, citizen: Citizen) -> int:
    ids = [d["id"] for d in citizen.documents]
    marks = ",".join("?" * len(ids))
    return server.query(f"SELECT COUNT(*) AS n FROM documents WHERE id IN ({marks}) AND status != 'printed'",
                        *ids)[0]["n"]


def pages(a4: SimulatedA4Printer) -> int:
    return sum(1 for _ in a4.out_dir.glob("*.pdf"))


def restart_and_check(config: Path, server, card: CardPrinterProcess, a4: SimulatedA4Printer) -> dict:
    """Start the kiosk again, let recovery and the outbox finish, check every invariant."""
    runtime = KioskRuntime.from_config(load_config(config), outbox_base_delay=0.05)
    runtime.start(config_worker=False)
    try:
        journal = runtime.journal
        assert runtime.left_open == [], runtime.recovered
        assert journal.open_jobs() == [], "recovery left jobs open"
        assert runtime.outbox.flush(30), journal.outbox_rows()[-5:]
        outcomes = {row["outcome"] for row in journal.outbox_rows()}
        assert outcomes <= OUTCOMES, outcomes
        check = reconcile(journal, server.query("SELECT job_id, document_id, state FROM jobs"))
        assert check.ok, check.report()
        jobs = journal.jobs()
        printed = sum(1 for j in jobs if j.kind == "KIA" and j.state == "printed")
        kk_printed = sum(1 for j in jobs if j.kind == "KK" and j.state == "printed")
        assert pages(a4) == kk_printed, (pages(a4), kk_printed)      # every page out is a KK printed
        spoiled = sum(kinds.get("KIA", {}).get("cards_spoiled", 0) for kinds in journal.counters_by_day().values())
        inserted = runtime.devices.counters("card_printer")["cards_inserted"]
        finished = card.finished_cards()
        # every finished card is a job journaled printed, and no job printed has no card
        assert finished == printed, (finished, printed)
        # every card the printer took and did not finish, the kiosk counted spoiled
        assert inserted == finished + spoiled, (inserted, finished, spoiled)
        return {"recovered": list(runtime.recovered), "check": check, "printed": printed, "spoiled": spoiled,
                "kk_printed": kk_printed,
                "inserted": inserted, "jobs": len(jobs)}
    finally:
        runtime.stop()


def calibrate(config: Path, kiosks: KioskPool, applications: Applications) -> dict[str, float]:
    """The wall time of one whole session of each kind, never killed (go to exit)."""
    durations = {}
    for kind in KINDS:
        citizen = applications.new(kind)
        started = kiosks.go(config, citizen)
        code, output = kiosks.current.finish()
        durations[kind] = time.monotonic() - started
        assert code == 0, output
    return durations


class KioskPool:
    """The next kiosk process is started while the last one is recovered."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.count = directory, 0
        self.current: TracedKiosk | None = None
        self._next = self._spawn()

    def _spawn(self) -> TracedKiosk:
        self.count += 1
        return TracedKiosk(self.directory / f"trace-{self.count:04d}")

    def go(self, config: Path, citizen: Citizen) -> float:
        self.current, self._next = self._next, self._spawn()
        return self.current.go(config, citizen)

    def close(self) -> None:
        for each in (self.current, self._next):
            if each is not None and each.process.poll() is None:
                each.process.kill()
                each.process.wait(10)


def report(phases, open_at_kill, settled, restarts, card, totals, check, durations, elapsed) -> str:
    lines = [f"power loss: {SESSIONS} sessions, seed {SEED} (ADM_POWER_LOSS_SEED={SEED} to repeat), "
             f"{elapsed:.0f} s",
             "  session wall time (unkilled): " + ", ".join(f"{k} {v:.2f} s" for k, v in durations.items()),
             "  kills by phase (the most specific span open at the kill):"]
    lines += [f"    {count:4d}  {phase}" for phase, count in phases.most_common()]
    lines.append("  spans open at the kill (a kill may be in several, on different threads):")
    lines += [f"    {count:4d}  {span}" for span, count in open_at_kill.most_common()]
    lines.append("  restarts: " + ", ".join(f"{count} {how}" for how, count in restarts.most_common()))
    lines.append("  recoveries (journal state at the kill -> settled):")
    lines += [f"    {count:4d}  {was} -> {now}{' (review)' if review else ''}: {why}"
              for (was, now, review, why), count in settled.most_common()]
    lines.append(f"  cards: {totals['inserted']} taken by the printer, {totals['finished']} finished "
                 f"(= {totals['printed']} KIA jobs printed = {totals['kia_documents']} KIA documents), "
                 f"{totals['spoiled']} spoiled; simulator: {' '.join(card)}")
    lines.append(f"  KK pages: {totals['pages']} out (= {totals['kk_printed']} KK jobs printed = "
                 f"{totals['kk_documents']} KK documents)")
    lines.append(check.report())
    return "\n".join(lines)


@pytest.mark.timeout(120 + 15 * SESSIONS)      # the run's length grows with its sessions
def test_power_loss_at_random_points(tmp_path_factory, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="werkzeug")       # a line per request otherwise
    print(f"\npower loss: seed {SEED}, {SESSIONS} sessions")
    rng = random.Random(SEED)
    started = time.monotonic()
    monkeypatch.setattr(recovery, "CARD_OUT_GRACE_S", CARD_OUT_GRACE_S)
    (tmp_path / "dinas").mkdir()
    with seeded_server(tmp_path_factory, tmp_path / "dinas", session_attempts_per_minute=100_000) as server:
        card = CardPrinterProcess(tmp_path / "cards")
        a4 = SimulatedA4Printer(tmp_path / "pages", page_seconds=0.3)
        kiosks = KioskPool(tmp_path)
        try:
            config = write_kiosk_config(server, tmp_path / "kiosk", card="none", a4="none")
            with config.open("a") as text:
                text.write(f'\n[devices.card_printer]\nurl = "{card.url}"\npoll_interval = 0.1\n'
                           f'\n[devices.a4_printer]\nurl = "{a4.printer_uri}?poll_interval=0.1"\n')
            applications = Applications(server)
            durations = calibrate(config, kiosks, applications)
            restart_and_check(config, server, card, a4)

            citizens: collections.deque[Citizen] = collections.deque()
            phases, open_at_kill, settled = collections.Counter(), collections.Counter(), collections.Counter()
            restarts: collections.Counter = collections.Counter()
            spoiled, kills_since_check = 0, []
            for session in range(SESSIONS):
                citizen = citizens.popleft() if citizens and rng.random() < 0.5 else applications.new(rng.choice(KINDS))
                kill_after = rng.uniform(0, durations[citizen.kind])
                kiosk_started = kiosks.go(config, citizen)
                spans = []
                if kiosks.current.run_until(kiosk_started + kill_after):
                    spans = open_spans(kiosks.current.trace)
                    phases[phase_of(spans)] += 1
                    open_at_kill.update(set(spans))
                else:
                    phases["ended before the kill"] += 1
                settled.update(recovered_in(kiosks.current))
                kills_since_check.append(spans)
                if session + 1 < SESSIONS and rng.random() < RESTART_BY_NEXT_SESSION:
                    restarts["by the next session's own start-up"] += 1
                else:
                    restarts["in the test, checked"] += 1
                    after = restart_and_check(config, server, card, a4)
                    settled.update((s.was, s.now, s.review, s.why) for s in after["recovered"])
                    # a card the printer had whole prints on by itself: it is never thrown away
                    assert kills_since_check != [spans] or "card ejecting" not in spans \
                        or after["spoiled"] == spoiled, after["recovered"]
                    spoiled, kills_since_check = after["spoiled"], []
                if ready_documents(server, citizen):
                    citizens.append(citizen)          # released by the kill: the citizen comes back

            # Whatever a kill released is printed now, in plain sessions: each document once.
            runtime = KioskRuntime.from_config(load_config(config), outbox_base_delay=0.05)
            runtime.start(config_worker=False)
            try:
                # (a citizen queued while a job was left open may have had it settled printed since)
                for citizen in [c for c in dict.fromkeys(citizens) if ready_documents(server, c)]:
                    result = run_headless_session(runtime.engine, nik=citizen.nik, pin=citizen.pin, timeout=60)
                    left = [d for d in result.documents if d.reason != "document.unavailable.already_printed"]
                    assert result.screen == "done" and all(d.result == "printed" for d in left), result.as_dict()
                assert runtime.outbox.flush(30)
            finally:
                runtime.stop()
            after = restart_and_check(config, server, card, a4)
        finally:
            kiosks.close()
            simulator_said = card.stop()
            a4.stop()

        issued = [d for citizen in applications.issued for d in citizen.documents]
        statuses = {row["id"]: row["status"] for row in server.query("SELECT id, status FROM documents")}
        assert all(statuses[d["id"]] == "printed" for d in issued), collections.Counter(statuses[d["id"]] for d in issued)
        kia_documents = sum(1 for d in issued if d["kind"] == "KIA")
        kk_documents = sum(1 for d in issued if d["kind"] == "KK")
        totals = {"pages": pages(a4), "kk_printed": after["kk_printed"], "kk_documents": kk_documents,
                  "inserted": after["inserted"], "finished": card.finished_cards(), "printed": after["printed"],
                  "spoiled": after["spoiled"], "kia_documents": kia_documents}
        print(report(phases, open_at_kill, settled, restarts, simulator_said, totals, after["check"], durations,
                     time.monotonic() - started))
        assert totals["finished"] == kia_documents, totals      # exactly one finished card per KIA
        assert totals["pages"] == kk_documents, totals          # and one page per KK
        assert sum(phases.values()) == SESSIONS
