"""The session engine's two threads and the bookkeeping that lets callers wait for them.

"session" runs every state change in order, so the engine's state needs no locks; it must
never block on I/O. "session-io" runs dinas calls, downloads, previews and prints one after
another, and posts results back to "session". `wait_idle` waits until both are empty: the
headless runner and the tests use it, the UI never needs it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger(__name__)


class EngineThreads:
    def __init__(self, on_state_error: Callable[[], None]) -> None:
        self._state = ThreadPoolExecutor(1, thread_name_prefix="session")
        self._io = ThreadPoolExecutor(1, thread_name_prefix="session-io")
        self._on_state_error = on_state_error
        self._pending = 0
        self._cond = threading.Condition()
        self.closed = threading.Event()

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run on the session thread (state changes)."""
        self._run_on(self._state, fn, args)

    def io(self, fn: Callable[..., None], *args: Any) -> None:
        """Run on the I/O thread (anything that waits on the network or a device)."""
        self._run_on(self._io, fn, args)

    def every(self, interval: float, fn: Callable[[], None]) -> None:
        """Call `fn` every `interval` seconds from a daemon thread until shut down."""
        def loop() -> None:
            while not self.closed.wait(interval):
                fn()
        threading.Thread(target=loop, name="session-ticker", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self, timeout: float) -> None:
        self.closed.set()
        self.wait_idle(timeout)
        self._state.shutdown(wait=True)
        self._io.shutdown(wait=True)

    def _run_on(self, executor: ThreadPoolExecutor, fn: Callable[..., None], args: tuple) -> None:
        with self._cond:
            self._pending += 1

        def run() -> None:
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a bug in one step must not stop the engine
                log.exception("session: %s failed", getattr(fn, "__name__", fn))
                if executor is self._state:
                    self._on_state_error()
            finally:
                self._done()
        try:
            executor.submit(run)
        except RuntimeError:      # shut down: the kiosk is stopping
            self._done()

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()
