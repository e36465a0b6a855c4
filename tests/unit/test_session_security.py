import logging

from kiosk.session_model import Screen
from kiosk.session_support import PinSlowdown
from tests.fixtures.kiosk import NIK, PIN, engine_rig


def test_slowdown_grows_caps_and_forgets():
    now = [0.0]
    slowdown = PinSlowdown(base_s=2, cap_s=10, forget_after_s=100, clock=lambda: now[0])
    assert slowdown.wait_s(NIK) == 0
    assert [slowdown.failed(NIK) for _ in range(5)] == [2, 4, 8, 10, 10]
    assert slowdown.wait_s(NIK) == 10 and slowdown.wait_s("3201014501900011") == 0
    now[0] += 10
    assert slowdown.wait_s(NIK) == 0
    now[0] += 200
    slowdown.wait_s(NIK)
    assert len(slowdown) == 0                          # forgotten
    slowdown.failed(NIK)
    slowdown.succeeded(NIK)
    assert slowdown.wait_s(NIK) == 0


def test_slowdown_keeps_no_identity_in_clear():
    slowdown = PinSlowdown()
    slowdown.failed(NIK)
    assert NIK.encode() not in repr(slowdown._entries).encode() and NIK not in repr(slowdown._entries)


def test_no_pin_or_nik_in_logs_or_left_in_the_engine(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    rig = engine_rig(tmp_path)
    try:
        rig.engine.start()
        rig.engine.submit_nik(NIK)
        rig.engine.submit_pin("000000")
        rig.views.wait_for(lambda v: v.message is not None and v.message.key == "pin.no_match")
        session = rig.engine._session
        assert "000000" not in repr(vars(session))
        rig.engine.submit_pin(PIN)
        rig.views.wait_screen(Screen.DOCUMENTS)
        assert PIN not in repr(vars(rig.engine._session))
        rig.engine.review()
        rig.engine.confirm()
        rig.views.wait_screen(Screen.DONE)
        rig.engine.finish()
        rig.views.wait_screen(Screen.ATTRACT)
        rig.engine.wait_idle()
        assert session.pdfs == {} and session.previews == {}
    finally:
        rig.close()
    assert NIK not in caplog.text and PIN not in caplog.text
    journal = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("journal"))
    assert NIK.encode() not in journal and b"%PDF" not in journal
