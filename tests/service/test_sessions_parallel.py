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
    runtime = kiosk(card=SPEED, a4=SPEED, receipt=SPEED, options=POLL)
    timeline = Timeline(runtime.engine)
    result = run_headless_session(runtime.engine, nik=family["nik"], pin=family["pin"])
    timeline.unsubscribe()
    assert result.ok, result
    assert [d.kind for d in result.documents] == ["KK", "KIA", "KIA"]
    assert any(both_on_their_printers(v) for _t, v in timeline.views), "the two printers never worked at once"
    a4 = timeline.busy([0])
    card = timeline.busy([1, 2])
    a4_s, card_s = a4[1] - a4[0], card[1] - card[0]
    together = min(a4[1], card[1]) - max(a4[0], card[0])
    span = max(a4[1], card[1]) - min(a4[0], card[0])
    # The KK's whole time on the A4 printer falls within the cards' time; one after another
    # would add it on top.
    assert card_s >= (15 + 2 * (20 + 8)) * SCALE and a4_s >= A4_S * SCALE, (a4_s, card_s)
    assert together >= 0.9 * a4_s and span < card_s + 0.1 * a4_s, (a4, card)
    assert runtime.outbox.flush(10)
    assert [(r["kind"], r["status"], r["state"]) for r in dinas_jobs(reference_server, family["request_no"])] \
        == [("KK", "printed", "printed"), ("KIA", "printed", "printed"), ("KIA", "printed", "printed")]
    jobs = runtime.journal.jobs()
    assert sorted((j.kind, j.state) for j in jobs) == [("KIA", "printed"), ("KIA", "printed"), ("KK", "printed")]
    assert len({j.job_id for j in jobs}) == 3
    assert runtime.devices.printer("card_printer").counters()["cards_inserted"] == 2
    assert runtime.devices.printer("receipt_printer").simulator.cuts == 3 and result.receipt_printed


def test_a_cancel_stops_what_has_not_started_on_either_printer(reference_server, kiosk):
    """Cancelled while the first KIA is on the card printer (and the KK on the A4 printer):
    both end, the second KIA never starts and stays ready at the dinas."""
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
    waiter.wait_for(both_on_their_printers, timeout=30)
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
        == [("KK", "printed", "printed"), ("KIA", "printed", "printed"), ("KIA", "ready", None)]
    assert sorted((j.kind, j.state) for j in runtime.journal.jobs()) == [("KIA", "printed"), ("KK", "printed")]
    assert runtime.devices.printer("card_printer").counters()["cards_inserted"] == 1


def test_a_fault_on_the_card_printer_does_not_stop_the_a4_printer(reference_server, kiosk):
    """The ribbon ends during the first card: that KIA fails (its reservation released), the
    second is refused (the card printer is out), the KK comes out all the same."""
    family = family_of_three(reference_server)
    runtime = kiosk(card=f"faults=ribbon_out&{SPEED}", a4=SPEED, receipt=SPEED, options=POLL)
    result = run_headless_session(runtime.engine, nik=family["nik"], pin=family["pin"])
    assert result.screen == "done" and result.message.key == "done.some_failed"
    assert [(d.kind, d.result) for d in result.documents] == [("KK", "printed"), ("KIA", "failed"), ("KIA", "failed")]
    assert result.documents[1].reason == "ribbon_out"
    assert runtime.outbox.flush(10)
    assert [(r["kind"], r["status"], r["state"]) for r in dinas_jobs(reference_server, family["request_no"])] \
        == [("KK", "printed", "printed"), ("KIA", "ready", "failed"), ("KIA", "ready", None)]
