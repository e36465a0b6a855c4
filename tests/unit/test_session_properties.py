"""Property tests of the session machine: any sequence of commands, device changes and
idle time leaves the engine in a valid state, and no state keeps citizen data after its
session ends."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from devices.status import DeviceState
from kiosk.session_model import Screen
from tests.fixtures.kiosk import NIK, PIN, engine_rig

CITIZEN_FREE = (Screen.ATTRACT, Screen.OUT_OF_SERVICE)
NIKS = st.sampled_from([NIK, "3201014501900000", "12345", "", "abcdefghijklmnop"])
PINS = st.sampled_from([PIN, "000000", "12", "abcdef"])
SCANS = st.sampled_from(["ADM1:REQ-20261122-ABC123", "ADM1:nonsense", "hello", ""])
DOCS = st.sampled_from(["doc-KK", "doc-KIA", "doc-none"])


class SessionMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.rig = engine_rig(self.dir)
        self.engine = self.rig.engine

    def teardown(self):
        self.rig.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule()
    def start(self):
        self.engine.start()

    @rule(nik=NIKS)
    def submit_nik(self, nik):
        self.engine.submit_nik(nik)

    @rule(text=SCANS)
    def submit_scan(self, text):
        self.engine.submit_scan(text)

    @rule(pin=PINS)
    def submit_pin(self, pin):
        self.engine.submit_pin(pin)

    @rule(document=DOCS)
    def toggle(self, document):
        self.engine.toggle_document(document)

    @rule()
    def review(self):
        self.engine.review()

    @rule()
    def confirm(self):
        self.engine.confirm()

    @rule()
    def back(self):
        self.engine.back()

    @rule()
    def cancel(self):
        self.engine.cancel()

    @rule()
    def finish(self):
        self.engine.finish()

    @rule(language=st.sampled_from(["id", "en", "xx"]))
    def language(self, language):
        self.engine.set_language(language)

    @rule(seconds=st.sampled_from([1, 50, 61, 200]))
    def time_passes(self, seconds):
        self.rig.clock[0] += seconds
        self.engine.tick()

    @rule()
    def advance(self):
        """What a citizen who knows the way taps next: steers the search into deep states."""
        {Screen.ATTRACT: self.engine.start, Screen.IDENTIFY: lambda: self.engine.submit_nik(NIK),
         Screen.PIN: lambda: self.engine.submit_pin(PIN), Screen.DOCUMENTS: self.engine.review,
         Screen.CONFIRM: self.engine.confirm, Screen.DONE: self.engine.finish,
         Screen.ERROR: self.engine.finish}.get(self.engine.view.screen, self.engine.touch)()

    @rule(down=st.booleans())
    def network(self, down):
        self.rig.dinas.down = down

    @rule(role=st.sampled_from(["a4_printer", "card_printer"]), up=st.booleans())
    def printer_changes(self, role, up):
        self.rig.printers[role].state = DeviceState.READY if up else DeviceState.OFFLINE
        self.rig.board.refresh()

    @invariant()
    def valid_and_forgetful(self):
        assert self.engine.wait_idle(10)
        view = self.engine.view
        assert isinstance(view.screen, Screen) and not view.busy
        assert view.language in ("id", "en")
        if view.screen in CITIZEN_FREE:
            assert self.engine._session is None
            assert view.holder_name_masked == "" and view.documents == () and view.steps == ()
            assert dict(view.outcomes) == {} and view.idle_deadline is None and not view.receipt_printed
        else:
            assert self.engine._session is not None
        if view.screen == Screen.PRINTING:
            assert view.idle_deadline is None
        elif view.screen not in CITIZEN_FREE:
            assert view.idle_deadline is not None
        if view.screen == Screen.DONE:
            assert set(view.outcomes.values()) <= {"printed", "failed", "skipped"}
        # every dinas session opened has been ended once the citizen is gone
        if view.screen in CITIZEN_FREE:
            assert set(self.rig.dinas.ended) == set(self.rig.dinas.opened)


SessionMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_session_machine = SessionMachine.TestCase
