"""A4 crash safety against a real CUPS: the kiosk dies while CUPS still holds the KK.

`adm-kiosk session` prints a KK to a private cupsd (tests/fixtures/cups.py) whose queue holds
every new job (`job-hold-until-default=indefinite`: the printer looks fine, the job waits,
as behind a slow or busy printer). The test SIGKILLs the kiosk once CUPS holds the job and
the journal has its IPP job id, then starts the kiosk again. Recovery must cancel a job CUPS
still holds BEFORE the document is released for another try (so that KK never comes out
later with no citizen there), and settle `printed` a job CUPS completed meanwhile. A job the
crash left without a journaled id is found by its job-name.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

from devices import ipp
from kiosk.devices_runtime import DeviceBoard
from kiosk.journal import Journal
from kiosk.recovery import recover
from printer_drivers.a4 import A4Printer
from printer_drivers.ipp import IppClient
from tests.fixtures.crash import (dinas_record, kiosk_session, kk_and_kia_citizen, restart, session_command,
                                  sigkill_when)
from tests.fixtures.cups import _private_bus, a4_pdf, cups_server, free_port, wait_for_port  # noqa: F401
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import write_kiosk_config

pytestmark = pytest.mark.cups
_queues = itertools.count(1)


@pytest.fixture
def holding_queue(cups_server):
    """A cups-pdf queue of its own that holds every job until released."""
    name = f"KK-HOLD-{next(_queues)}"
    url = cups_server.add_queue(name, f"cups-pdf:/{cups_server.instance}")
    cups_server.run("lpadmin", "-p", name, "-o", "job-hold-until-default=indefinite")
    client = IppClient(url, timeout=5)
    yield SimpleNamespace(name=name, url=url, client=client, server=cups_server)
    client.close()


def queue_jobs(queue, which="not-completed"):
    return {attrs["job-id"][0]: attrs for attrs in queue.client.jobs(which, ("job-id", "job-name", "job-state"))}


def job_state(queue, ipp_job_id):
    reply = queue.client.call(ipp.GET_JOB_ATTRIBUTES, {"job-id": ipp.Attr.of(ipp.INTEGER, ipp_job_id),
                                                       "requesting-user-name": ipp.Attr.of(ipp.NAME, "test")})
    return reply.value(ipp.JOB_GROUP, "job-state") if reply.ok else reply.code


def kiosk_config(server, directory, queue):
    path = write_kiosk_config(server, directory, card="none", a4="none", receipt="none")
    with path.open("a") as config:
        config.write(f'\n[devices.a4_printer]\nurl = "{queue.url}?poll_interval=0.1&job_timeout=120"\n')
    return path


def journaled_device_job(config_dir):
    path = config_dir / "state" / "journal.sqlite"
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    try:
        row = db.execute("SELECT device_job FROM jobs WHERE kind = 'KK'").fetchone()
    except sqlite3.OperationalError:         # not created yet
        return None
    finally:
        db.close()
    return json.loads(row[0]) if row and row[0] else None


def kill_while_held(config, citizen, queue, timeout=60.0):
    """Run a KK session; SIGKILL it once CUPS holds its job and the journal has the job's id."""
    held_id = []

    def held() -> bool:
        ref = journaled_device_job(config.parent)
        jobs = queue_jobs(queue)
        if ref and ref["ipp_job_id"] in jobs and jobs[ref["ipp_job_id"]]["job-state"][0] == ipp.JOB_HELD:
            held_id.append(ref["ipp_job_id"])
        return bool(held_id)
    command, env = session_command(config, citizen, "KK")
    sigkill_when(command, env, held, "CUPS to hold the kiosk's job", timeout=timeout, interval=0.05)
    return held_id[0]


def outputs(queue):
    """What cups-pdf has written (by name and time: it may reuse a name)."""
    return {(p.name, p.stat().st_mtime_ns) for p in queue.server.out_dir.glob("*.pdf")}


def test_a_job_cups_still_holds_is_cancelled_before_the_kk_is_released(reference_server, cups_server,
                                                                        holding_queue, tmp_path):
    citizen, kk = kk_and_kia_citizen(reference_server, "KK")
    config = kiosk_config(reference_server, tmp_path, holding_queue)
    printed_before = outputs(holding_queue)

    ipp_job_id = kill_while_held(config, citizen, holding_queue)
    assert job_state(holding_queue, ipp_job_id) == ipp.JOB_HELD          # CUPS outlived the kiosk
    assert dinas_record(reference_server, kk)[:2] == (["printing"], "reserved")

    after = restart(config)
    assert [(r.was, r.now, r.review) for r in after.recovered] == [("sending", "failed", False)]
    # cancelled and purged: CUPS no longer has the job, so it can never print
    assert job_state(holding_queue, ipp_job_id) == ipp.NOT_FOUND
    assert cups_server.spool_files(ipp_job_id) == []
    jobs, status, events = dinas_record(reference_server, kk)
    assert (jobs, status) == (["failed"], "ready")
    assert [(e["state"], e["reason"]) for e in events] == [("printing", None), ("failed", "interrupted")]
    detail = json.loads(events[-1]["detail"])
    assert (detail["print_server"], detail["was"], detail["review"]) == ("canceled", "pending-held", False)

    # released for another try: the next session prints it, and exactly one copy comes out
    cups_server.run("lpadmin", "-p", holding_queue.name, "-o", "job-hold-until-default=no-hold")
    again = kiosk_session(config, citizen, "KK")
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert dinas_record(reference_server, kk)[:2] == (["failed", "printed"], "printed")
    assert len(set(outputs(holding_queue)) - set(printed_before)) == 1


def test_a_job_cups_completed_while_the_kiosk_was_down_is_settled_printed(reference_server, cups_server,
                                                                          holding_queue, tmp_path):
    citizen, kk = kk_and_kia_citizen(reference_server, "KK")
    config = kiosk_config(reference_server, tmp_path, holding_queue)

    printed_before = outputs(holding_queue)
    ipp_job_id = kill_while_held(config, citizen, holding_queue)
    cups_server.run("lp", "-i", str(ipp_job_id), "-H", "resume")        # the printer gets to it after all
    deadline = time.monotonic() + 20
    while job_state(holding_queue, ipp_job_id) != ipp.JOB_COMPLETED:
        assert time.monotonic() < deadline, "CUPS did not complete the released job"
        time.sleep(0.05)
    assert len(set(outputs(holding_queue)) - set(printed_before)) == 1     # the page came out

    after = restart(config)
    assert [(r.was, r.now, r.review) for r in after.recovered] == [("sending", "printed", True)]
    [job] = after.jobs
    assert (job.state, job.review, job.device_job["ipp_job_id"]) == ("printed", True, ipp_job_id)
    assert job_state(holding_queue, ipp_job_id) == ipp.NOT_FOUND          # purged: no copy left in the spool
    assert cups_server.spool_files(ipp_job_id) == []
    jobs, status, events = dinas_record(reference_server, kk)
    assert (jobs, status) == (["printed"], "printed")                     # never offered again
    assert json.loads(events[-1]["detail"])["print_server"] == "completed"


def test_a_job_sent_before_its_id_was_journaled_is_found_by_name_and_cancelled(holding_queue, tmp_path):
    """The crash came between CUPS accepting the job and the journal write of its id."""
    journal = Journal(tmp_path / "journal.sqlite")
    journal.create_job("job-lost-id", "doc-1", "KK", "a4_printer")
    journal.transition("job-lost-id", "sending")
    reply = holding_queue.client.print_job(a4_pdf(), "KK-job-lost-id")
    assert reply.ok
    ipp_job_id = reply.value(ipp.JOB_GROUP, "job-id")
    other = holding_queue.client.print_job(a4_pdf(), "KK-someone-else").value(ipp.JOB_GROUP, "job-id")
    board = DeviceBoard({"a4_printer": A4Printer(holding_queue.url, timeout=5)}).start()
    try:
        [settled] = recover(journal, board)
    finally:
        board.stop()
    assert (settled.now, settled.review) == ("failed", False)
    assert job_state(holding_queue, ipp_job_id) == ipp.NOT_FOUND
    assert job_state(holding_queue, other) == ipp.JOB_HELD                 # another job is left alone
    holding_queue.client.cancel_job(other, purge=True)


@pytest.fixture
def slow_eve(_private_bus, tmp_path):
    """An ippeveprinter whose jobs take 60 s, on a fixed port, that a test can kill and start
    again (`.start()`, `.kill()`): a print server that goes away mid-job and comes back."""
    script = tmp_path / "slow.sh"
    script.write_text("#!/bin/sh\nsleep 60\nexit 0\n")
    script.chmod(0o755)
    port = free_port()
    spool = tmp_path / "eve-spool"
    spool.mkdir()
    procs: list[subprocess.Popen] = []

    def start_server():
        log = (tmp_path / f"eve-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(["ippeveprinter", "-p", str(port), "-n", "localhost", "-r", "off", "-f",
                                 "application/pdf", "-c", str(script), "-d", str(spool), "KK-SLOW"],
                                stdout=log, stderr=subprocess.STDOUT, env=_private_bus)
        procs.append(proc)
        wait_for_port(port, proc, tmp_path / "eve.log")

    def kill():
        procs[-1].kill()
        procs[-1].wait(10)
    start_server()
    yield SimpleNamespace(uri=f"ipp://localhost:{port}/ipp/print", start=start_server, kill=kill)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_kk_that_could_not_be_cancelled_stays_reserved_until_its_server_answers(slow_eve, tmp_path):
    """The print server dies mid-job: the driver cannot cancel the job, so the KK is not
    released (a restarted server could print it); once a server answers again, the retry
    between sessions settles the job and only then releases the document."""
    from kiosk.orchestrator import PrintOrchestrator
    from kiosk.outbox import Outbox
    from kiosk.recovery import retry_left_open
    from kiosk.settings import Settings
    from datetime import datetime, timezone
    from tests.fixtures.kiosk import FakeDinas

    dinas = FakeDinas(kinds=("KK",))
    printer = A4Printer(slow_eve.uri, timeout=2, job_timeout=60, poll_interval=0.05)
    board = DeviceBoard({"a4_printer": printer}, poll_interval=0.2).start()
    board.refresh()
    journal = Journal(tmp_path / "journal.sqlite")
    outbox = Outbox(journal, lambda e: dinas.post_event(e.job_id, e.event_id, e.state, e.at))
    kept: list[str] = []
    orchestrator = PrintOrchestrator(dinas, journal, outbox, board, keep_open=kept.append)
    [document] = dinas.documents()
    box: dict = {}
    try:
        thread = threading.Thread(target=lambda: box.update(outcome=orchestrator.print_one(
            "session", document, dinas.pdfs[document.id], Settings(), datetime.now(timezone.utc),
            lambda step, state: None)))
        thread.start()
        deadline = time.monotonic() + 20
        while not (journal.jobs() and journal.jobs()[0].device_job):
            assert time.monotonic() < deadline, "the job never reached the print server"
            time.sleep(0.05)
        slow_eve.kill()                                 # mid-job
        thread.join(60)
        outcome = box["outcome"]
        assert outcome.result == "failed" and kept == [outcome.job_id]
        assert journal.job(outcome.job_id).state == "sending"              # not released
        assert [r["state"] for r in journal.outbox_rows()] == ["printing"]
        assert retry_left_open(journal, board, outbox, kept) == kept        # still no server

        slow_eve.start()                                # back, without the job
        assert retry_left_open(journal, board, outbox, kept) == []
        job = journal.job(outcome.job_id)
        assert (job.state, job.reason, job.review) == ("failed", "interrupted", True)
        assert [r["state"] for r in journal.outbox_rows()] == ["printing", "failed"]
    finally:
        board.stop()
