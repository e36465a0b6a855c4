import threading

import pytest

from devices.status import DeviceError, DeviceState, FaultCode, SupplyLevel
from kiosk import dinas_errors as de
from kiosk.session_model import Message, Screen
from printer_drivers import registry
from tests.fixtures.kiosk import NIK, PIN, FakeDinas, rig, settings_with, to_documents  # noqa: F401


def test_attract_lists_what_can_be_printed(rig):
    r = rig()
    assert r.views.wait_screen(Screen.ATTRACT).available_kinds == registry.kind_codes()


def test_whole_session_prints_both_and_forgets_the_citizen(rig):
    r = rig()
    view = to_documents(r)
    assert view.holder_name_masked == "S*** W***" and all(d.available and d.selected for d in view.documents)
    r.engine.wait_idle()
    assert all(d.preview_png and d.preview_png.startswith(b"\x89PNG") for d in r.engine.view.documents)
    r.engine.review()
    r.views.wait_screen(Screen.CONFIRM)
    r.engine.confirm()
    done = r.views.wait_screen(Screen.DONE)
    assert done.outcomes == {"doc-KK": "printed", "doc-KIA": "printed"}
    assert len(r.printers["a4_printer"].printed) == 1 and len(r.printers["card_printer"].printed) == 1
    assert [s for _, s in r.dinas.events] == []          # outbox not started: events wait on disk
    assert r.journal.outbox_depth() == 4                 # printing + printed, twice
    r.engine.finish()
    fresh = r.views.wait_screen(Screen.ATTRACT)
    assert fresh.documents == () and fresh.holder_name_masked == "" and fresh.outcomes == {}
    r.engine.wait_idle()
    assert len(r.dinas.ended) == 1 and r.engine._session is None


def test_invalid_nik_stays_on_identify_with_the_reason(rig):
    r = rig()
    r.engine.start()
    r.engine.submit_nik("12345")
    view = r.views.wait_for(lambda v: v.message is not None)
    assert view.screen == Screen.IDENTIFY and view.message.key == "nik.invalid.length"


def test_wrong_pin_then_right_one(rig):
    r = rig()
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.views.wait_screen(Screen.PIN)
    r.engine.submit_pin("000000")
    view = r.views.wait_for(lambda v: v.message is not None and not v.busy)
    # The dinas cannot tell a wrong NIK from a wrong PIN: the message shows the NIK typed, masked.
    assert view.screen == Screen.PIN and view.message.key == "pin.no_match"
    assert view.message.params == {"attempts_left": 4, "nik": "320101******0003"}
    assert view.nik_masked == "320101******0003" and view.identified_by == "nik"
    r.engine.submit_pin(PIN)
    r.views.wait_screen(Screen.DOCUMENTS)


@pytest.mark.parametrize("by, key", [("nik", "pin.no_tries_left"), ("qr", "pin.no_tries_left_qr")])
def test_the_last_wrong_try_names_what_it_was_for_and_each_message_is_numbered(rig, by, key):
    """The fifth wrong try closes trying for that NIK (or QR): said with the masked NIK, so a
    mistyped one is seen. Every message given gets a new number, the same one again too."""
    r = rig(dinas=FakeDinas(attempts_left=1))
    r.engine.start()
    if by == "nik":
        r.engine.submit_nik("12345")
        first = r.views.wait_for(lambda v: v.message is not None)
        r.engine.submit_nik("12345")
        again = r.views.wait_for(lambda v: v.message_number > first.message_number)
        assert again.message == first.message
        r.engine.submit_nik(NIK)
    else:
        r.engine.submit_scan("ADM1:REQ-20261122-AB12CD")
    r.views.wait_screen(Screen.PIN)
    r.engine.submit_pin("000000")
    view = r.views.wait_screen(Screen.ERROR)
    assert view.message.key == key
    assert view.message.params["nik"] == ("320101******0003" if by == "nik" else "")


def test_repeated_failures_slow_down_on_the_kiosk(rig):
    r = rig(slowdown_base=4.0)
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.engine.submit_pin("000000")
    r.engine.wait_idle()
    r.engine.submit_pin(PIN)
    r.engine.wait_idle()
    assert r.engine.view.message.key == "pin.wait" and r.engine.view.message.params == {"seconds": 4}
    assert r.dinas.pins_seen == ["000000"]               # the early try never left the kiosk
    r.clock[0] += 4
    r.engine.submit_pin(PIN)
    r.views.wait_screen(Screen.DOCUMENTS)


def test_bad_pin_format_is_not_sent(rig):
    r = rig()
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.engine.submit_pin("12a4")
    r.engine.wait_idle()
    assert r.engine.view.message.key == "pin.invalid_format" and r.dinas.pins_seen == []


@pytest.mark.parametrize("error, key, params", [
    (de.Locked(detail="x", retry_after=900), "pin.locked", {"minutes": 15}),
    (de.PinExpired(detail="x"), "pin.expired", {}),
    (de.PinUsed(detail="x"), "pin.used", {}),
    (de.PinBlocked(detail="x"), "pin.blocked", {}),
    (de.DinasUnavailable(detail="x"), "error.network", {}),
    (de.RateLimited(detail="x", retry_after=30), "error.busy", {"seconds": 30}),
    (de.ContractError(detail="x"), "error.dinas", {"code": "contract_violation"}),
])
def test_refusals_show_an_error_screen_that_says_what_to_do(rig, error, key, params):
    r = rig(dinas=FakeDinas(refuse_with=error))
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.engine.submit_pin(PIN)
    view = r.views.wait_screen(Screen.ERROR)
    assert view.message.key == key and dict(view.message.params) == params
    r.engine.finish()
    assert r.views.wait_screen(Screen.ATTRACT).message is None


def test_cancel_while_the_dinas_answers_ends_the_late_session(rig):
    gate = threading.Event()
    r = rig(dinas=FakeDinas(gate=gate))
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.engine.submit_pin(PIN)
    r.views.wait_for(lambda v: v.busy)
    r.engine.cancel()
    r.views.wait_screen(Screen.ATTRACT)
    gate.set()
    r.engine.wait_idle()
    assert r.engine.view.screen == Screen.ATTRACT and len(r.dinas.ended) == 1


def test_idle_timeout_warns_then_drops_the_session(rig):
    r = rig()
    to_documents(r)
    r.clock[0] += 50
    r.engine.tick()
    assert r.views.wait_for(lambda v: v.idle_warning).screen == Screen.DOCUMENTS
    r.engine.touch()
    r.engine.wait_idle()
    assert not r.engine.view.idle_warning
    r.clock[0] += 61
    r.engine.tick()
    view = r.views.wait_screen(Screen.ATTRACT)
    assert view.documents == () and view.idle_deadline is None


def test_a_document_whose_printer_is_down_is_shown_unavailable(rig):
    r = rig()
    r.printers["card_printer"].supply_level = SupplyLevel.OUT
    r.board.refresh()
    view = to_documents(r)
    kia = next(d for d in view.documents if d.kind == "KIA")
    assert not kia.available and not kia.selected
    assert kia.unavailable.key == "document.unavailable.printer" and kia.unavailable.params["fault"] == "feeder_empty"
    r.engine.toggle_document(kia.id)
    r.engine.review()
    r.engine.confirm()
    done = r.views.wait_screen(Screen.DONE)
    assert done.outcomes == {"doc-KK": "printed"} and r.printers["card_printer"].printed == []


def test_kinds_disabled_and_out_of_service(rig):
    r = rig(settings=settings_with(enabled_kinds=("KK",)))
    assert r.views.wait_screen(Screen.ATTRACT).available_kinds == ("KK",)
    r.engine.apply_settings(settings_with(maintenance_mode=True))
    view = r.views.wait_screen(Screen.OUT_OF_SERVICE)
    assert view.message.key == "out_of_service.maintenance"
    r.engine.start()
    r.engine.wait_idle()
    assert r.engine.view.screen == Screen.OUT_OF_SERVICE


def test_no_usable_printer_means_out_of_service_and_recovery_brings_it_back(rig):
    r = rig()
    for role in ("a4_printer", "card_printer"):
        r.printers[role].state = DeviceState.OFFLINE
    r.board.refresh()
    assert r.views.wait_screen(Screen.OUT_OF_SERVICE).message.key == "out_of_service.no_printer"
    r.printers["a4_printer"].state = DeviceState.READY
    r.board.refresh()
    assert r.views.wait_screen(Screen.ATTRACT).available_kinds == registry.kinds_for("a4_printer")


def test_a_print_fault_fails_that_document_only_and_reports_it(rig):
    r = rig()
    r.printers["card_printer"].fail_with = DeviceError(FaultCode.MEDIA_JAM)
    to_documents(r)
    r.engine.review()
    r.engine.confirm()
    done = r.views.wait_screen(Screen.DONE)
    assert done.outcomes == {"doc-KK": "printed", "doc-KIA": "failed"}
    assert done.message.key == "done.some_failed"
    kia_step = next(s for s in done.steps if s.kind == "KIA")
    assert kia_step.state == "failed" and kia_step.message.key == "print.failed.media_jam"
    assert r.journal.counters()["KIA"] == {"failed": 1, "cards_spoiled": 1}
    states = [row["state"] for row in r.journal.outbox_rows()]
    assert states.count("failed") == 1 and states.count("printed") == 1


def test_network_down_at_print_fails_without_reserving(rig):
    r = rig()
    to_documents(r)
    r.engine.wait_idle()
    r.engine.review()
    r.dinas.down = True
    r.engine.confirm()
    done = r.views.wait_screen(Screen.DONE)
    # prefetched bytes are used, so the failure is at the reservation: released via the outbox
    assert set(done.outcomes.values()) == {"failed"}
    assert r.printers["a4_printer"].printed == [] and r.printers["card_printer"].cards_inserted == 0
    assert {row["state"] for row in r.journal.outbox_rows()} == {"failed"}


def test_cancel_during_printing_finishes_the_prints_on_the_way_then_ends(rig):
    """The printers work in parallel (issue 13): the KK and the KIA are both on their way
    when the citizen cancels; neither can be pulled back, so both end, and the done screen
    says to take them (issue 14: the citizen must hear what came out); Selesai ends it."""
    r = rig()
    gate = threading.Event()
    for role in ("a4_printer", "card_printer"):
        original = r.printers[role].print_document

        def slow(job, progress=None, original=original):
            gate.wait(5)
            return original(job, progress)
        r.printers[role].print_document = slow
    to_documents(r)
    r.engine.review()
    r.engine.confirm()
    r.views.wait_for(lambda v: sum(s.step == "sending" and s.state == "active" for s in v.steps) == 2)
    r.engine.cancel()
    gate.set()
    done = r.views.wait_screen(Screen.DONE)
    assert set(done.outcomes.values()) == {"printed"} and done.message == Message("done.all_printed")
    assert len(r.printers["a4_printer"].printed) == 1 and len(r.printers["card_printer"].printed) == 1
    r.engine.finish()
    r.views.wait_screen(Screen.ATTRACT)


def test_print_tapped_at_once_stops_the_prefetch_and_the_lanes_fetch_the_rest(rig):
    """A citizen who taps Print before the previews are made does not wait for them: the
    prefetch keeps the document it has and stops; each lane downloads what is left."""
    r = rig()
    gate, downloads = threading.Event(), []
    original = r.dinas.download_document

    def held(session_id, document):
        downloads.append((threading.current_thread().name, document.kind))
        if len(downloads) == 1:
            gate.wait(5)                   # the prefetch's first download, until Print is tapped
        return original(session_id, document)
    r.dinas.download_document = held
    to_documents(r)
    r.engine.review()
    r.views.wait_screen(Screen.CONFIRM)
    r.engine.confirm()
    r.views.wait_screen(Screen.PRINTING)
    gate.set()
    done = r.views.wait_screen(Screen.DONE)
    assert set(done.outcomes.values()) == {"printed"}
    assert sorted(kind for _, kind in downloads) == ["KIA", "KK"]        # each once
    assert downloads[0][0].startswith("session-io") and downloads[1][0].startswith("print-")
    assert not any(d.preview_png for v in r.views.views for d in v.documents)


def test_the_card_printer_goes_on_while_the_a4_printer_is_busy(rig):
    """One printer held mid-print does not hold the other: the KIA is out, its line of
    progress says so, while the KK still prints."""
    r = rig()
    gate = threading.Event()
    original = r.printers["a4_printer"].print_document

    def slow(job, progress=None):
        gate.wait(5)
        return original(job, progress)
    r.printers["a4_printer"].print_document = slow
    to_documents(r)
    r.engine.review()
    r.engine.confirm()
    view = r.views.wait_for(lambda v: any(p.role == "card_printer" and p.finished for p in v.printers))
    lines = {p.role: p for p in view.printers}
    assert len(r.printers["card_printer"].printed) == 1 and r.printers["a4_printer"].printed == []
    assert (lines["card_printer"].total, lines["card_printer"].ended, lines["card_printer"].current) == (1, 1, None)
    assert not lines["a4_printer"].finished and lines["a4_printer"].current.step == "sending"
    gate.set()
    done = r.views.wait_screen(Screen.DONE)
    assert set(done.outcomes.values()) == {"printed"}


def test_back_is_safe(rig):
    r = rig()
    r.engine.start()
    r.engine.submit_nik(NIK)
    r.views.wait_screen(Screen.PIN)
    r.engine.back()
    r.views.wait_screen(Screen.IDENTIFY)
    r.engine.back()
    r.views.wait_screen(Screen.ATTRACT)


def test_back_from_the_pin_screen_returns_to_identify_to_correct_the_nik(rig):
    r = rig()
    r.engine.start()
    r.engine.submit_nik(NIK)
    assert r.views.wait_screen(Screen.PIN).nik_masked == "320101******0003"
    r.engine.back()
    view = r.views.wait_screen(Screen.IDENTIFY)
    assert view.nik_masked == "" and view.identified_by == ""
    r.engine.submit_nik(NIK)
    r.views.wait_screen(Screen.PIN)


def test_the_idle_warning_comes_30_s_before_the_end_and_each_touch_extends_it(rig):
    from kiosk.session import IDLE_WARNING_S
    assert IDLE_WARNING_S >= 30
    r = rig()
    r.engine.start()
    view = r.views.wait_screen(Screen.IDENTIFY)
    deadline = view.idle_deadline
    assert deadline == r.clock[0] + 60
    for _round in range(3):
        r.clock[0] = deadline - IDLE_WARNING_S - 0.1
        r.engine.tick()
        r.engine.wait_idle()
        assert not r.engine.view.idle_warning
        r.clock[0] = deadline - IDLE_WARNING_S
        r.engine.tick()
        r.engine.wait_idle()
        warned = r.engine.view
        assert warned.idle_warning and warned.idle_deadline - r.clock[0] >= 30
        r.engine.touch()
        r.engine.wait_idle()
        assert not r.engine.view.idle_warning and r.engine.view.idle_deadline == r.clock[0] + 60
        deadline = r.engine.view.idle_deadline
    r.clock[0] = deadline
    r.engine.tick()
    assert r.views.wait_screen(Screen.ATTRACT)


def test_the_done_view_counts_the_slips_when_the_receipt_paper_ends_between_them(rig):
    """Two documents, the receipt printer fails after the first slip: not 'no receipt', but
    one slip out (the done screen says to take it and shows the help QR for the other)."""
    r = rig()
    printer = r.printers["receipt_printer"]
    original = printer.print_receipt

    def once(receipt):
        if printer.receipts:
            raise DeviceError(FaultCode.PAPER_OUT, "paper out")
        original(receipt)
    printer.print_receipt = once
    to_documents(r)
    r.engine.review()
    r.engine.confirm()
    done = r.views.wait_screen(Screen.DONE)
    assert set(done.outcomes.values()) == {"printed"} and len(done.outcomes) == 2
    assert not done.receipt_printed and done.receipts_printed == 1
