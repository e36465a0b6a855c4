"""A session that ends gives the allocator's free pages back (kiosk/malloc_tuning.py) once the
kiosk is back on the attract screen, and not while a citizen is being served."""

from kiosk.session_headless import ViewWaiter
from kiosk.session_model import Screen
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import kiosk_runtimes, write_kiosk_config


def test_memory_goes_back_when_a_session_ends(reference_server, tmp_path, monkeypatch):
    import kiosk.app

    given_back: list[str] = []
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path))
        engine = runtime.engine
        waiter = ViewWaiter(engine)
        monkeypatch.setattr(kiosk.app, "give_back_free_memory", lambda: given_back.append(engine.view.screen.value))
        try:
            waiter.wait_screen(Screen.ATTRACT, timeout=30)
            engine.start()
            waiter.wait_screen(Screen.IDENTIFY, timeout=30)
            assert given_back == []
            engine.cancel()
            waiter.wait_screen(Screen.ATTRACT, timeout=30)
            engine.wait_idle(10)
            assert given_back == ["attract"]
        finally:
            waiter.unsubscribe()
