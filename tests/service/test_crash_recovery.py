"""Crash consistency: `adm-kiosk session` is SIGKILLed right after each journal transition
(the ADM_KIOSK_CRASH_AT test hook in kiosk/journal.py), then the kiosk starts again,
recovery settles what was left, and the dinas ends in the right state with nothing lost."""

import os
import subprocess
import sys

import pytest

from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.journal import CRASH_ENV
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with, write_kiosk_config


def crash_session(config, citizen, transition):
    env = {**os.environ, CRASH_ENV: transition}
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "session",
                           "--nik", citizen["nik"], "--pin", citizen["pin"]],
                          env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == -9, f"did not crash at {transition}: {proc.returncode} {proc.stderr[-2000:]}"


def restart(config):
    runtime = KioskRuntime.from_config(load_config(config), outbox_base_delay=0.05)
    runtime.start()
    try:
        assert runtime.outbox.flush(20), runtime.journal.outbox_rows()
        return runtime.recovered, runtime.journal.jobs(), runtime.journal.outbox_rows()
    finally:
        runtime.stop()


def dinas_state(server, citizen):
    document_id = citizen["documents"][0]["id"]
    jobs = server.query("SELECT state FROM jobs WHERE document_id = ?", document_id)
    status = server.query("SELECT status FROM documents WHERE id = ?", document_id)[0]["status"]
    return [j["state"] for j in jobs], status


# (kind, transition, card faults) -> (dinas job states, document status, kiosk job state, review, outcomes)
CASES = {
    "kia-created": ("KIA", "created", "", [], "ready", "failed", False, ["rejected:not_found"]),
    "kia-reserved": ("KIA", "reserved", "", ["failed"], "ready", "failed", False, ["accepted"]),
    "kia-sending": ("KIA", "sending", "", ["failed"], "ready", "failed", False, ["accepted", "accepted"]),
    "kia-printed": ("KIA", "printed", "", ["printed"], "printed", "printed", False, ["accepted", "accepted"]),
    # the in-process card simulator dies with the kiosk, so a crash mid-print took no card
    "kia-delivered-printing": ("KIA", "delivered_printing", "", ["failed"], "ready", "failed", False,
                               ["accepted", "accepted"]),
    "kia-delivered-printed": ("KIA", "delivered_printed", "", ["printed"], "printed", "printed", False,
                              ["accepted", "accepted"]),
    "kia-failed": ("KIA", "failed", "faults=ribbon_out", ["failed"], "ready", "failed", False,
                   ["accepted", "accepted"]),
    "kk-sending": ("KK", "sending", "", ["failed"], "ready", "failed", True, ["accepted", "accepted"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sigkill_at_each_transition_then_recovery(reference_server, tmp_path, case):
    kind, transition, faults, dinas_jobs, doc_status, kiosk_state, review, outcomes = CASES[case]
    citizen = citizen_with(reference_server, kind)
    config = write_kiosk_config(reference_server, tmp_path, card=faults)
    crash_session(config, citizen, transition)

    recovered, jobs, outbox = restart(config)
    assert len(jobs) == 1 and jobs[0].state == kiosk_state and jobs[0].review == review
    if kiosk_state == "failed" and transition != "failed":
        was = transition if transition in ("created", "reserved", "sending") else "sending"
        assert [(r.was, r.now) for r in recovered] == [(was, kiosk_state)]
    else:
        assert recovered == []
    assert [r["outcome"] for r in outbox] == outcomes and all(r["delivered_at"] for r in outbox)
    assert dinas_state(reference_server, citizen) == (dinas_jobs, doc_status)

    if doc_status == "ready":
        # a document that was not printed can be printed again, once
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "session",
                               "--nik", citizen["nik"], "--pin", citizen["pin"]],
                              capture_output=True, text=True, timeout=90)
        if not faults:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert dinas_state(reference_server, citizen)[1] == "printed"


def test_a_kk_killed_after_the_print_server_completed_it_is_not_printed_again(reference_server, tmp_path):
    """The A4 printer (an IPP print server that outlives the kiosk, as CUPS does) completed
    the KK and the driver purged it from the server's history; the kiosk died before
    `printed` was journaled (the `sent` hook). The page is out: recovery must settle the job
    printed from what the driver journaled, not `failed` for a job the server no longer
    knows, which would release the KK and print it a second time."""
    from devices.sim.a4 import SimulatedA4Printer

    a4 = SimulatedA4Printer(tmp_path / "pages")
    try:
        citizen = citizen_with(reference_server, "KK")
        config = write_kiosk_config(reference_server, tmp_path, card="none", a4="none")
        with config.open("a") as text:
            text.write(f'\n[devices.a4_printer]\nurl = "{a4.printer_uri}?poll_interval=0.05"\n')
        crash_session(config, citizen, "sent")
        assert len(list(a4.out_dir.glob("*.pdf"))) == 1 and a4.jobs == {}      # out, and purged

        recovered, jobs, outbox = restart(config)
        assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "printed", True)]
        assert [(j.state, j.review) for j in jobs] == [("printed", True)]
        assert [r["state"] for r in outbox] == ["printing", "printed"]
        assert dinas_state(reference_server, citizen) == (["printed"], "printed")

        again = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "session",
                                "--nik", citizen["nik"], "--pin", citizen["pin"]],
                               capture_output=True, text=True, timeout=90)
        assert again.returncode == 1, again.stdout + again.stderr[-2000:]        # nothing left to print
        assert len(list(a4.out_dir.glob("*.pdf"))) == 1                           # one page, ever
    finally:
        a4.stop()
