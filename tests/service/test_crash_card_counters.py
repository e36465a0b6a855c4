"""Crash recovery decided by the card printer's own counters, end to end.

The Evolis simulator runs in the test process behind a real TCP socket (the kiosk reaches it
at socket://127.0.0.1:PORT through pyserial), so it outlives the kiosk's SIGKILL the way a
real card printer outlives a power cut of the PC. `adm-kiosk session` is killed
(ADM_KIOSK_CRASH_AT) either right after `sending` is journaled, before any byte of the card
reaches the printer, or at `sent`, after the card came out but before `printed` is
journaled. The kiosk then starts again; recovery reads the counters over the same socket.
"""

import json
import os
import subprocess
import sys

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.journal import CRASH_ENV
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with, write_kiosk_config


@pytest.fixture
def card_printer(tmp_path):
    """The card printer simulator on a loopback TCP port, for the whole test."""
    simulator = EvolisSimulator(out_dir=tmp_path / "cards")
    with serve_socket(simulator) as link:
        yield simulator, link.url


def kiosk_config(server, directory, card_url):
    path = write_kiosk_config(server, directory, card="none", receipt="none")   # receipts play no part
    with path.open("a") as config:
        config.write(f'\n[devices.card_printer]\nurl = "{card_url}"\n')
    return path


def session(config, citizen, *, crash_at=None):
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "session",
                           "--nik", citizen["nik"], "--pin", citizen["pin"], "--documents", "KIA", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)


def restart(config):
    """Start the kiosk again (recovery runs), let the outbox drain, stop it."""
    runtime = KioskRuntime.from_config(load_config(config), outbox_base_delay=0.05)
    runtime.start()
    try:
        assert runtime.outbox.flush(20), runtime.journal.outbox_rows()
        return runtime.recovered, runtime.journal.jobs(), runtime.journal.outbox_rows(), \
            {job.job_id: runtime.journal.history(job.job_id) for job in runtime.journal.jobs()}
    finally:
        runtime.stop()


def dinas_view(server, document_id):
    jobs = server.query("SELECT job_id, state FROM jobs WHERE document_id = ? ORDER BY created_at", document_id)
    status = server.query("SELECT status FROM documents WHERE id = ?", document_id)[0]["status"]
    events = server.query("SELECT e.state, e.reason, e.detail FROM job_events e JOIN jobs j USING (job_id)"
                          " WHERE j.document_id = ? ORDER BY e.received_at", document_id)
    return jobs, status, events


def kia_outcome(proc):
    [outcome] = [d for d in json.loads(proc.stdout)["documents"] if d["kind"] == "KIA"]
    return outcome


def card_count(simulator):
    return simulator.snapshot()["cards"]


def test_killed_before_the_card_is_sent_releases_the_document(reference_server, tmp_path, card_printer):
    simulator, url = card_printer
    citizen = citizen_with(reference_server, "KK", "KIA")
    kia = next(d["id"] for d in citizen["documents"] if d["kind"] == "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    crashed = session(config, citizen, crash_at="sending")
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert card_count(simulator) == 0 and "Ss" not in simulator.log     # the printer never saw the card

    recovered, jobs, outbox, history = restart(config)
    assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "failed", False)]
    [job] = jobs
    assert (job.state, job.reason, job.review) == ("failed", "interrupted", False)
    assert job.counters_before["cards_inserted"] == 0
    assert history[job.job_id] == ["created", "reserved", "sending", "failed"]
    assert [(r["state"], r["outcome"]) for r in outbox] == [("printing", "accepted"), ("failed", "accepted")]
    dinas_jobs, status, events = dinas_view(reference_server, kia)
    assert [j["state"] for j in dinas_jobs] == ["failed"] and status == "ready"
    assert [(e["state"], e["reason"]) for e in events] == [("printing", None), ("failed", "interrupted")]
    assert json.loads(events[-1]["detail"]) == {"recovered": True, "review": False, "stage": "sending"}

    # printable again: the next session prints it, with exactly one card
    again = session(config, citizen)
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert kia_outcome(again)["result"] == "printed"
    assert card_count(simulator) == 1 and simulator.snapshot()["rejected"] == 0
    dinas_jobs, status, _ = dinas_view(reference_server, kia)
    assert [j["state"] for j in dinas_jobs] == ["failed", "printed"] and status == "printed"


def test_killed_after_the_card_went_through_settles_it_printed(reference_server, tmp_path, card_printer):
    simulator, url = card_printer
    citizen = citizen_with(reference_server, "KK", "KIA")
    kia = next(d["id"] for d in citizen["documents"] if d["kind"] == "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    crashed = session(config, citizen, crash_at="sent")
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert card_count(simulator) == 1 and simulator.snapshot()["card"] is None   # the card is out
    assert len(simulator.decoded) == 1 and simulator.written                    # and it was printed

    recovered, jobs, outbox, history = restart(config)
    assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "printed", True)]
    [job] = jobs
    assert (job.state, job.reason, job.review) == ("printed", "recovered", True)
    assert (job.counters_before["cards_inserted"], job.counters_after["cards_inserted"]) == (0, 1)
    assert history[job.job_id] == ["created", "reserved", "sending", "printed"]
    assert [(r["state"], r["outcome"]) for r in outbox] == [("printing", "accepted"), ("printed", "accepted")]
    dinas_jobs, status, events = dinas_view(reference_server, kia)
    assert [j["state"] for j in dinas_jobs] == ["printed"] and status == "printed"
    assert [e["state"] for e in events] == ["printing", "printed"]
    detail = json.loads(events[-1]["detail"])
    assert detail["recovered"] is True and detail["review"] is True
    assert (detail["counters_before"]["cards_inserted"], detail["counters_now"]["cards_inserted"]) == (0, 1)

    # already printed: the next session is not offered it, and no second card is fed
    again = session(config, citizen)
    assert again.returncode == 1, again.stdout + again.stderr[-2000:]
    outcome = kia_outcome(again)
    assert (outcome["result"], outcome["reason"]) == ("unavailable", "document.unavailable.already_printed")
    assert card_count(simulator) == 1 and simulator.log.count("Ss") == 1
    dinas_jobs, status, _ = dinas_view(reference_server, kia)
    assert [j["state"] for j in dinas_jobs] == ["printed"] and status == "printed"
