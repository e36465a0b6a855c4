"""Crash recovery decided by the card printer's own counters, end to end.

The Evolis simulator runs in the test process behind a real TCP socket (the kiosk reaches it
at socket://127.0.0.1:PORT through pyserial), so it outlives the kiosk's SIGKILL the way a
real card printer outlives a power cut of the PC. `adm-kiosk session` is killed
(ADM_KIOSK_CRASH_AT) either right after `sending` is journaled, before any byte of the card
reaches the printer, or at `sent`, after the card came out but before `printed` is
journaled; or it is SIGKILLed by the test while the card is inside the printer mid-print
(a slowed simulator, killed once it has taken some panels). The kiosk then starts again;
recovery reads the counters, and where the card is, over the same socket.
"""

import json

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from kiosk import recovery
from tests.fixtures.crash import (crashed_session, dinas_record, kiosk_session, kk_and_kia_citizen, restart,
                                  session_command, sigkill_when)
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import write_kiosk_config


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


def kia_outcome(proc):
    [outcome] = [d for d in json.loads(proc.stdout)["documents"] if d["kind"] == "KIA"]
    return outcome


def card_count(simulator):
    return simulator.snapshot()["cards"]


def test_killed_before_the_card_is_sent_releases_the_document(reference_server, tmp_path, card_printer):
    simulator, url = card_printer
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    crashed_session(config, citizen, "KIA", "sending")
    assert card_count(simulator) == 0 and "Ss" not in simulator.log     # the printer never saw the card

    after = restart(config)
    recovered, jobs, outbox, history = after.recovered, after.jobs, after.outbox, after.history
    assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "failed", False)]
    [job] = jobs
    assert (job.state, job.reason, job.review) == ("failed", "interrupted", False)
    assert job.counters_before["cards_inserted"] == 0
    assert history[job.job_id] == ["created", "reserved", "sending", "failed"]
    assert [(r["state"], r["outcome"]) for r in outbox] == [("printing", "accepted"), ("failed", "accepted")]
    dinas_jobs, status, events = dinas_record(reference_server, kia)
    assert dinas_jobs == ["failed"] and status == "ready"
    assert [(e["state"], e["reason"]) for e in events] == [("printing", None), ("failed", "interrupted")]
    assert json.loads(events[-1]["detail"]) == {"recovered": True, "review": False, "stage": "sending"}

    # printable again: the next session prints it, with exactly one card
    again = kiosk_session(config, citizen, "KIA")
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert kia_outcome(again)["result"] == "printed"
    assert card_count(simulator) == 1 and simulator.snapshot()["rejected"] == 0
    assert dinas_record(reference_server, kia)[:2] == (["failed", "printed"], "printed")


def test_killed_after_the_card_went_through_settles_it_printed(reference_server, tmp_path, card_printer):
    simulator, url = card_printer
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    crashed_session(config, citizen, "KIA", "sent")
    assert card_count(simulator) == 1 and simulator.snapshot()["card"] is None   # the card is out
    assert len(simulator.decoded) == 1 and simulator.written                    # and it was printed

    after = restart(config)
    recovered, jobs, outbox, history = after.recovered, after.jobs, after.outbox, after.history
    assert [(r.was, r.now, r.review) for r in recovered] == [("sending", "printed", True)]
    [job] = jobs
    assert (job.state, job.reason, job.review) == ("printed", "recovered", True)
    assert (job.counters_before["cards_inserted"], job.counters_after["cards_inserted"]) == (0, 1)
    assert history[job.job_id] == ["created", "reserved", "sending", "printed"]
    assert [(r["state"], r["outcome"]) for r in outbox] == [("printing", "accepted"), ("printed", "accepted")]
    dinas_jobs, status, events = dinas_record(reference_server, kia)
    assert dinas_jobs == ["printed"] and status == "printed"
    assert [e["state"] for e in events] == ["printing", "printed"]
    detail = json.loads(events[-1]["detail"])
    assert detail["recovered"] is True and detail["review"] is True
    assert (detail["counters_before"]["cards_inserted"], detail["counters_now"]["cards_inserted"]) == (0, 1)

    # already printed: the next session is not offered it, and no second card is fed
    again = kiosk_session(config, citizen, "KIA")
    assert again.returncode == 1, again.stdout + again.stderr[-2000:]
    outcome = kia_outcome(again)
    assert (outcome["result"], outcome["reason"]) == ("unavailable", "document.unavailable.already_printed")
    assert card_count(simulator) == 1 and simulator.log.count("Ss") == 1
    assert dinas_record(reference_server, kia)[:2] == (["printed"], "printed")


@pytest.fixture
def slow_card_printer(tmp_path):
    """The card printer taking 0.25 s a panel, so a card stays inside long enough to kill the
    kiosk mid-print."""
    simulator = EvolisSimulator(out_dir=tmp_path / "cards", panel_seconds=0.25)
    with serve_socket(simulator) as link:
        yield simulator, link.url


def kill_mid_card(config, citizen, simulator, panels=2, timeout=60.0):
    """Run a session and SIGKILL it once the printer has taken `panels` of the card."""
    command, env = session_command(config, citizen, "KIA")
    sigkill_when(command, env, lambda: simulator.snapshot()["panels"] >= panels,
                 "the card printer to get the card's panels", timeout=timeout)


def finished_cards(tmp_path):
    return sorted(p.name for p in (tmp_path / "cards").glob("card-*-front.png") if "-rejected" not in p.name)


def test_killed_mid_card_rejects_the_card_and_releases_the_document(reference_server, tmp_path,
                                                                    slow_card_printer, monkeypatch):
    simulator, url = slow_card_printer
    monkeypatch.setattr(recovery, "CARD_OUT_GRACE_S", 0.5)     # the card is not moving: no need to wait 6 s
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    kill_mid_card(config, citizen, simulator)
    held = simulator.snapshot()
    assert held["card"] == "in" and held["cards"] == 1 and held["rejected"] == 0    # half printed, inside
    assert 2 <= held["panels"] < 7 and "Se" not in simulator.log

    after = restart(config)
    assert [(r.was, r.now, r.review) for r in after.recovered] == [("sending", "failed", True)]
    snapshot = simulator.snapshot()
    assert snapshot["rejected"] == 1 and snapshot["card"] is None and simulator.log.count("Ser") == 1
    assert after.statuses["card_printer"].usable          # the printer is free for the next card
    [job] = after.jobs
    assert (job.state, job.reason, job.review) == ("failed", "interrupted", True)
    assert after.history[job.job_id] == ["created", "reserved", "sending", "failed"]
    assert after.counters["KIA"] == {"failed": 1, "cards_spoiled": 1}
    [audit] = after.audit
    assert (audit["actor"], audit["action"]) == ("kiosk", "card_rejected")
    assert audit["detail"]["job_id"] == job.job_id and audit["detail"]["outcome"] == "rejected"
    assert [(r["state"], r["outcome"]) for r in after.outbox] == [("printing", "accepted"), ("failed", "accepted")]
    dinas_jobs, status, events = dinas_record(reference_server, kia)
    assert dinas_jobs == ["failed"] and status == "ready"     # printable again
    assert [(e["state"], e["reason"]) for e in events] == [("printing", None), ("failed", "interrupted")]
    detail = json.loads(events[-1]["detail"])
    assert (detail["recovered"], detail["review"], detail["card"]) == (True, True, "rejected")
    assert finished_cards(tmp_path) == []                 # no finished card came out

    # the next session prints the KIA with exactly one more card, and nothing twice
    again = kiosk_session(config, citizen, "KIA")
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert kia_outcome(again)["result"] == "printed"
    snapshot = simulator.snapshot()
    assert (snapshot["cards"], snapshot["rejected"], snapshot["card"]) == (2, 1, None)
    assert simulator.log.count("Ss") == 2 and simulator.log.count("Se") == 1
    assert finished_cards(tmp_path) == ["card-0002-front.png"]
    assert dinas_record(reference_server, kia)[:2] == (["failed", "printed"], "printed")


@pytest.fixture
def long_card_printer(tmp_path):
    """The card printer taking 3 s from its last panel to the card out: a card it has whole
    outlasts recovery's grace, as a real 30 s colour card outlasts the 6 s one."""
    simulator = EvolisSimulator(out_dir=tmp_path / "cards", card_seconds=3.0)
    with serve_socket(simulator) as link:
        yield simulator, link.url


def test_killed_once_the_printer_has_the_whole_card_waits_for_it(reference_server, tmp_path, long_card_printer,
                                                                 monkeypatch):
    """Killed right after the driver journaled CARD_WHOLE (after `Se`): the printer is still
    printing. Recovery must wait for the card and settle it printed, not reject it after
    the grace (a good card thrown away, and the citizen's print lost)."""
    simulator, url = long_card_printer
    monkeypatch.setattr(recovery, "CARD_OUT_GRACE_S", 0.5)
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, url)

    crashed_session(config, citizen, "KIA", "device_job")
    assert simulator.snapshot()["card"] == "out_pending"           # still printing, on its own

    after = restart(config)
    assert [(r.was, r.now, r.review) for r in after.recovered] == [("sending", "printed", True)]
    [job] = after.jobs
    assert job.device_job == {"card": "whole"}
    snapshot = simulator.snapshot()
    assert (snapshot["cards"], snapshot["rejected"], snapshot["card"]) == (1, 0, None) and "Ser" not in simulator.log
    assert finished_cards(tmp_path) == ["card-0001-front.png"]
    assert after.counters["KIA"] == {"printed": 1}
    assert dinas_record(reference_server, kia)[:2] == (["printed"], "printed")
