"""Issue 13, point 1: the printers work in parallel. A family's KK on the A4 printer while
its two KIAs go one after another to the card printer, against the reference dinas on
loopback and the simulators at realistic speed on a scaled clock (`time_scale`): the
simulators take their mechanical time, so overlap is seen by the host."""

import time

import pytest

from kiosk.session_headless import ViewWaiter, run_headless_session
from kiosk.session_model import Screen
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import family_of_three, kiosk_runtimes, write_kiosk_config

SCALE = 0.05                      # a twentieth of real time
SPEED = f"speed=realistic&time_scale={SCALE}"
# Mechanical seconds at realistic speed (devices.sim.mechanics): a cold A4 printer, one page.
A4_S = 12 + 6
# The drivers poll the printers' progress every 0.5 s, nothing at real speed; a twentieth of
# that keeps the same share of the scaled job time.
POLL = {"card_printer": "poll_interval = 0.05", "a4_printer": "poll_interval = 0.05"}


@pytest.fixture
def kiosk(reference_server, tmp_path):
    with kiosk_runtimes() as start_runtime:
        yield lambda **options: start_runtime(write_kiosk_config(reference_server, tmp_path, **options))


def dinas_jobs(server, request_no):
    return server.query("SELECT d.kind, d.status, j.state FROM documents d LEFT JOIN jobs j ON j.document_id = d.id "
                        "WHERE d.request_no = ? ORDER BY d.position", request_no)


def both_on_their_printers(view) -> bool:
    """Both printers have a document past the dinas steps: on the device at the same time."""
    lines = {line.role: line.current for line in view.printers}
    return all(lines.get(role) is not None and lines[role].step not in ("fetching", "reserving")
               for role in ("a4_printer", "card_printer"))


class Timeline:
    """Every published view with the time it came."""

    def __init__(self, engine) -> None:
        self.views: list[tuple[float, object]] = []
        self.unsubscribe = engine.subscribe(lambda view: self.views.append((time.monotonic(), view)))

    def busy(self, kind_indexes) -> tuple[float, float]:
        """From the first of these documents on its printer to the last of them out."""
        on_device = [t for t, v in self.views if any(i < len(v.steps) and v.steps[i].step not in
                                                     ("fetching", "reserving") for i in kind_indexes)]
        out = [t for t, v in self.views if v.steps and all(i < len(v.steps) and v.steps[i].document_id in v.outcomes
                                                             for i in kind_indexes)]
        return on_device[0], out[0]


def test_a_family_prints_on_both_printers_at_once(reference_server, kiosk):
    family = family_of_three(reference_server)
    # No card PNGs: writing them takes the simulator, in this process, 0.4-0.8 s a card.
    runtime = kiosk(card=SPEED, a4=SPEED, receipt=SPEED, options=POLL, card_pngs=False)
    timeline = Timeline(runtime.engine)
    result = run_headless_session(runtime.engine, nik=family["nik"], pin=family["pin"])
    timeline.unsubscribe()
    assert result.ok, result
    assert [d.kind for d in result.documents] == ["KK", "KIA", "KIA"]
    assert any(both_on_their_printers(v) for _t, v in timeline.views), "the two printers never worked at once"
    # The printers' own record of their mechanisms (the simulators', not the kiosk's).
    (page,) = runtime.devices.printer("a4_printer").simulator.mechanism.jobs
    first, second = runtime.devices.printer("card_printer").simulator.mechanism.jobs
    assert page.seconds == pytest.approx(A4_S * SCALE)
    assert first.seconds + second.seconds == pytest.approx((15 + 2 * (20 + 8)) * SCALE)
    a4_s, card_s = page.out - page.began, second.out - first.began
    together = min(page.out, second.out) - max(page.began, first.began)
    span = max(page.out, second.out) - min(page.began, first.began)
    # Most of the KK's time on the A4 printer falls within the cards' time (the first card
    # starts once it is rendered); one after another would add all of it on top.
    assert together >= 0.5 * a4_s and span < card_s + 0.5 * a4_s, (page, first, second)
    # The second KIA was fetched, reserved and rendered while the first printed: the card
    # printer waits only for the host's few commands between the two cards.
    ready = next(t for t, v in timeline.views if staged(v))
    first_out = next(t for t, v in timeline.views if len(v.steps) == 3 and v.steps[1].document_id in v.outcomes)
    assert ready < first_out and second.began - first.out < 0.25, (ready, first_out, first, second)
    assert runtime.outbox.flush(10)
    assert [(r["kind"], r["status"], r["state"]) for r in dinas_jobs(reference_server, family["request_no"])] \
        == [("KK", "printed", "printed"), ("KIA", "printed", "printed"), ("KIA", "printed", "printed")]
    jobs = runtime.journal.jobs()
    assert sorted((j.kind, j.state) for j in jobs) == [("KIA", "printed"), ("KIA", "printed"), ("KK", "printed")]
    assert len({j.job_id for j in jobs}) == 3
    assert runtime.devices.counters("card_printer")["cards_inserted"] == 2
    assert runtime.devices.printer("receipt_printer").simulator.cuts == 3 and result.receipt_printed


def staged(view) -> bool:
    """The second KIA is ready to send (reserved and rendered) while the first prints."""
    return len(view.steps) == 3 and view.steps[2].step == "reserving" and view.steps[2].state == "done"


def test_a_cancel_stops_what_has_not_started_on_either_printer(reference_server, kiosk):
    """Cancelled while the first KIA is on the card printer (and the KK on the A4 printer),
    with the second KIA staged: both prints end, the second KIA is never sent, its
    reservation is released and it stays ready at the dinas."""
    family = family_of_three(reference_server)
    runtime = kiosk(card=SPEED, a4=SPEED, receipt=SPEED, options=POLL)
    waiter = ViewWaiter(runtime.engine)
    engine = runtime.engine
    engine.start()
    waiter.wait_screen(Screen.IDENTIFY)
    engine.submit_nik(family["nik"])
    waiter.wait_screen(Screen.PIN)
    engine.submit_pin(family["pin"])
    waiter.wait_screen(Screen.DOCUMENTS)
    engine.review()
    waiter.wait_screen(Screen.CONFIRM)
    engine.confirm()
    waiter.wait_for(lambda v: both_on_their_printers(v) and staged(v), timeout=30)
    engine.cancel()
    # what was on its way came out: the done screen says so, and what was left (issue 14)
    done = waiter.wait_for(lambda v: v.screen == Screen.DONE, timeout=60)
    assert sorted(done.outcomes.values()) == ["printed", "printed", "skipped"]
    engine.finish()
    waiter.wait_for(lambda v: v.screen == Screen.ATTRACT, timeout=60)
    engine.wait_idle(30)
    waiter.unsubscribe()
    assert runtime.outbox.flush(10)
    assert [(r["kind"], r["status"], r["state"]) for r in dinas_jobs(reference_server, family["request_no"])] \
        == [("KK", "printed", "printed"), ("KIA", "printed", "printed"), ("KIA", "ready", "failed")]
    assert sorted((j.kind, j.state, j.reason) for j in runtime.journal.jobs()) == \
        [("KIA", "failed", "cancelled"), ("KIA", "printed", None), ("KK", "printed", None)]
    assert runtime.devices.counters("card_printer")["cards_inserted"] == 1
    assert runtime.journal.counters()["KIA"].get("cancelled") == 1


def test_a_fault_on_the_card_printer_does_not_stop_the_a4_printer(reference_server, kiosk):
    """The ribbon ends during the first card: that KIA fails (its reservation released), the
    second is refused (the card printer is out): at its staging, or, staged while the first
    card was still going, at its turn, with its reservation released; the KK comes out."""
    family = family_of_three(reference_server)
    runtime = kiosk(card=f"faults=ribbon_out&{SPEED}", a4=SPEED, receipt=SPEED, options=POLL)
    result = run_headless_session(runtime.engine, nik=family["nik"], pin=family["pin"])
    assert result.screen == "done" and result.message.key == "done.some_failed"
    assert [(d.kind, d.result) for d in result.documents] == [("KK", "printed"), ("KIA", "failed"), ("KIA", "failed")]
    assert result.documents[1].reason == "ribbon_out"
    assert result.documents[2].reason == "printer"         # refused: the card printer is out
    assert runtime.outbox.flush(10)
    rows = [(r["kind"], r["status"], r["state"]) for r in dinas_jobs(reference_server, family["request_no"])]
    assert rows[:2] == [("KK", "printed", "printed"), ("KIA", "ready", "failed")]
    assert rows[2] in (("KIA", "ready", None), ("KIA", "ready", "failed")), rows
    assert runtime.devices.counters("card_printer")["cards_inserted"] == 1
