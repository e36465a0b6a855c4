"""Faults at each step of a print: the citizen gets the right outcome, the dinas the right
events, and no card is spent twice. The network faults go through `FaultyNetwork`, a real
HTTP hop in front of the reference server that drops chosen requests."""

import pytest

from kiosk.session_headless import ViewWaiter, run_headless_session
from kiosk.session_model import Screen
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import FaultyNetwork, citizen_with, kiosk_runtimes, write_kiosk_config

RESERVE = r"/sessions/[^/]+/jobs$"
DOWNLOAD = r"/documents/"
EVENTS = r"/events$"


@pytest.fixture
def network(reference_server):
    hop = FaultyNetwork(reference_server.url)
    yield hop
    hop.close()


@pytest.fixture
def kiosk(reference_server, network, tmp_path):
    with kiosk_runtimes() as start_runtime:
        yield lambda directory="kiosk", **options: start_runtime(
            write_kiosk_config(reference_server, tmp_path / directory, dinas_url=network.url, **options))


def dinas_jobs(server, citizen):
    ids = [d["id"] for d in citizen["documents"]]
    marks = ",".join("?" * len(ids))
    return server.query(f"SELECT j.state, d.kind FROM jobs j JOIN documents d ON d.id = j.document_id"
                        f" WHERE j.document_id IN ({marks})", *ids)


def document_status(server, citizen):
    rows = server.query("SELECT kind, status FROM documents WHERE request_no = ?", citizen["request_no"])
    return {r["kind"]: r["status"] for r in rows}


def cards(runtime):
    return runtime.devices.submit("card_printer", runtime.devices.printer("card_printer").counters).result(10)


def test_network_down_during_fetch(reference_server, network, kiosk):
    citizen = citizen_with(reference_server, "KK")
    runtime = kiosk()
    network.block(DOWNLOAD)
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    assert [(d.result, d.reason) for d in result.documents] == [("failed", "network")]
    assert result.message.key == "done.some_failed"
    assert dinas_jobs(reference_server, citizen) == [] and runtime.journal.jobs() == []
    network.unblock()
    assert run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"]).ok


def test_network_down_during_reserve(reference_server, network, kiosk):
    citizen = citizen_with(reference_server, "KIA")
    runtime = kiosk()
    network.block(RESERVE)
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    assert [(d.result, d.reason) for d in result.documents] == [("failed", "network")]
    assert cards(runtime)["cards_inserted"] == 0
    assert runtime.outbox.flush(15)
    # the dinas never saw the job: the release event is answered not_found and closed
    assert [r["outcome"] for r in runtime.journal.outbox_rows()] == ["rejected:not_found"]
    assert document_status(reference_server, citizen) == {"KIA": "ready"}
    network.unblock()
    assert run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"]).ok
    assert cards(runtime)["cards_inserted"] == 1


def test_network_down_when_reporting_then_the_outbox_delivers(reference_server, network, kiosk):
    citizen = citizen_with(reference_server, "KK", "KIA")
    runtime = kiosk()
    network.block(EVENTS)
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    assert result.ok                                       # the citizen has both documents
    assert not runtime.outbox.flush(0.5) and runtime.outbox.depth() == 4
    assert {r["state"] for r in dinas_jobs(reference_server, citizen)} == {"reserved"}
    network.unblock()
    assert runtime.outbox.flush(30)
    assert {r["state"] for r in dinas_jobs(reference_server, citizen)} == {"printed"}
    assert document_status(reference_server, citizen) == {"KK": "printed", "KIA": "printed"}


def test_the_outbox_delivers_after_a_restart(reference_server, network, kiosk):
    citizen = citizen_with(reference_server, "KK")
    first = kiosk("kiosk")
    network.block(EVENTS)
    assert run_headless_session(first.engine, nik=citizen["nik"], pin=citizen["pin"]).ok
    first.stop()
    assert first.final_outbox_depth == 2
    network.unblock()
    second = kiosk("kiosk")
    assert second.outbox.flush(30)
    assert document_status(reference_server, citizen) == {"KK": "printed"}


def test_card_printer_fault_before_printing_makes_kia_unavailable(reference_server, kiosk):
    citizen = citizen_with(reference_server, "KK", "KIA")
    runtime = kiosk(card="faults=feeder_empty")
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    outcomes = {d.kind: (d.result, d.reason) for d in result.documents}
    assert outcomes["KK"] == ("printed", None)
    assert outcomes["KIA"][0] == "unavailable" and outcomes["KIA"][1] == "document.unavailable.printer"
    assert cards(runtime)["cards_inserted"] == 0


def test_card_printer_fault_during_printing(reference_server, kiosk):
    citizen = citizen_with(reference_server, "KIA")
    runtime = kiosk(card="faults=ribbon_out")
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    assert [(d.result, d.reason) for d in result.documents] == [("failed", "ribbon_out")]
    assert not result.receipt_printed
    assert runtime.outbox.flush(10)
    assert [r["state"] for r in runtime.journal.outbox_rows()] == ["printing", "failed"]
    assert dinas_jobs(reference_server, citizen)[0]["state"] == "failed"
    assert document_status(reference_server, citizen) == {"KIA": "ready"}     # printable again
    assert cards(runtime)["cards_inserted"] == 1                                # one card, not two
    assert runtime.journal.counters()["KIA"] == {"failed": 1, "cards_spoiled": 1}


def test_a4_fault_during_printing_keeps_the_card(reference_server, kiosk):
    citizen = citizen_with(reference_server, "KK", "KIA")
    runtime = kiosk(a4="job_fault=media-jam")
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    outcomes = {d.kind: d.result for d in result.documents}
    assert outcomes == {"KK": "failed", "KIA": "printed"}
    assert runtime.outbox.flush(10)
    assert document_status(reference_server, citizen) == {"KK": "ready", "KIA": "printed"}


def test_printed_elsewhere_while_the_citizen_looked(reference_server, kiosk):
    citizen = citizen_with(reference_server, "KK")
    here, there = kiosk("here"), kiosk("there", kiosk_index=1)
    views = ViewWaiter(here.engine)
    here.engine.start()
    here.engine.submit_nik(citizen["nik"])
    views.wait_screen(Screen.PIN)
    here.engine.submit_pin(citizen["pin"])
    views.wait_screen(Screen.DOCUMENTS)
    assert run_headless_session(there.engine, nik=citizen["nik"], pin=citizen["pin"]).ok
    here.engine.review()
    views.wait_screen(Screen.CONFIRM)
    here.engine.confirm()
    done = views.wait_screen(Screen.DONE)
    assert set(done.outcomes.values()) == {"failed"}
    assert done.steps[0].message.key in ("print.failed.already_printed", "print.failed.session_expired")
    assert here.journal.jobs()[0].reason in ("already_printed", "session_expired")
    assert here.outbox.depth() == 0                        # a refused reservation has nothing to report


def serve_instead(server, document_id: str, pdf: bytes) -> None:
    """Make the dinas hold `pdf` for the document, with its size and sha256 to match: a
    document that passes every integrity check and yet cannot become a card (the dinas's own
    checks refuse such a file at issue time, so it is put in behind them)."""
    import hashlib

    from dinas.db import Database

    sealed = server.vault().seal(pdf)
    database = Database(server.db, pool_size=1)
    try:
        with database.write() as connection:
            connection.run("UPDATE documents SET sealed_pdf = :sealed, size = :size, sha256 = :sha WHERE id = :d",
                           sealed=sealed, size=len(pdf), sha=hashlib.sha256(pdf).hexdigest(), d=document_id)
    finally:
        database.dispose()


def test_a_verified_kia_that_cannot_become_a_card_fails_before_sending(reference_server, kiosk, caplog):
    import logging

    from tests.fixtures.evolis import drawn_pdf, text_page

    citizen = citizen_with(reference_server, "KIA")
    # Three card-sized pages: the preview (page 1) renders, the card driver takes two sides at most.
    serve_instead(reference_server, citizen["documents"][0]["id"], drawn_pdf(text_page(), text_page(), text_page()))
    runtime = kiosk()
    cards_before = cards(runtime)["cards_inserted"]
    caplog.set_level(logging.INFO)
    result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
    assert [(d.result, d.reason) for d in result.documents] == [("failed", "too_many_pages")]
    assert result.message.key == "done.some_failed"
    assert cards(runtime)["cards_inserted"] == cards_before                   # no card moved
    job = runtime.journal.jobs()[0]
    assert (job.state, job.reason) == ("failed", "too_many_pages")
    assert runtime.journal.history(job.job_id) == ["created", "reserved", "failed"]   # never `sending`
    assert runtime.outbox.flush(10)
    assert [r["state"] for r in runtime.journal.outbox_rows()] == ["failed"]    # no `printing` event
    assert dinas_jobs(reference_server, citizen)[0]["state"] == "failed"
    assert document_status(reference_server, citizen) == {"KIA": "ready"}     # released
    assert runtime.journal.counters()["KIA"] == {"failed": 1}
    warnings = [r for r in caplog.records if r.name == "kiosk.orchestrator" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "too_many_pages" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
    assert citizen["nik"] not in caplog.text
