"""Crash consistency: `adm-kiosk session` is SIGKILLed right after each journal transition
(the ADM_KIOSK_CRASH_AT test hook in kiosk/journal.py), then the kiosk starts again,
recovery settles what was left, and the dinas ends in the right state with nothing lost."""

import pytest

from tests.fixtures.crash import crashed_session, dinas_record, kiosk_session, restart
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with, write_kiosk_config


def dinas_state(server, citizen):
    """The citizen's one document at the dinas: its jobs' states and its status."""
    return dinas_record(server, citizen["documents"][0]["id"])[:2]


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
    crashed_session(config, citizen, None, transition)

    after = restart(config)
    recovered, jobs, outbox = after.recovered, after.jobs, after.outbox
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
        proc = kiosk_session(config, citizen)
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
        crashed_session(config, citizen, None, "sent")
        assert len(list(a4.out_dir.glob("*.pdf"))) == 1 and a4.jobs == {}      # out, and purged

        after = restart(config)
        recovered, jobs, outbox = after.recovered, after.jobs, after.outbox
        assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "printed", True)]
        assert [(j.state, j.review) for j in jobs] == [("printed", True)]
        assert [r["state"] for r in outbox] == ["printing", "printed"]
        assert dinas_state(reference_server, citizen) == (["printed"], "printed")

        again = kiosk_session(config, citizen)
        assert again.returncode == 1, again.stdout + again.stderr[-2000:]        # nothing left to print
        assert len(list(a4.out_dir.glob("*.pdf"))) == 1                           # one page, ever
    finally:
        a4.stop()
