"""Drives the real Kivy window in this process, the way kivy.tests' GraphicUnitTest does:
the window is created once, the event loop is started in embedded mode and stepped frame by
frame (`EventLoop.idle()`), touches are real MotionEvents posted into the event loop and keys
are real `on_key_down` dispatches on the Window.

Import this module before anything imports Kivy: it sets Kivy's environment first. When no X
display is set, it starts its own Xvfb.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

from tests.x_screen import Xvfb

PORTRAIT = (1080, 1920)
LANDSCAPE = (1280, 800)


def _ensure_display() -> None:
    if os.environ.get("DISPLAY"):
        return
    server = Xvfb((1920, 1920))
    os.environ["DISPLAY"] = server.display
    atexit.register(server.stop)


def _configure_kivy() -> None:
    home = tempfile.mkdtemp(prefix="adm-kivy-home-")
    atexit.register(shutil.rmtree, home, True)
    os.environ.update({
        "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": home, "KIVY_WINDOW": "sdl2", "KIVY_METRICS_DENSITY": "1",
        "KIVY_DPI": "96", "KIVY_LOG_MODE": "PYTHON",
    })
    os.environ.setdefault("KIVY_GL_BACKEND", "sdl2")


_ensure_display()
_configure_kivy()

from ui import kiosk_mode  # noqa: E402

kiosk_mode.configure(fullscreen=False, size=PORTRAIT)

from kivy.config import Config  # noqa: E402

for _option in list(Config.options("input")):
    Config.remove_option("input", _option)   # no real mouse: only the touches we post

from kivy.app import App  # noqa: E402
from kivy.base import EventLoop, runTouchApp  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.modalview import ModalView  # noqa: E402

from ui.app import KioskApp  # noqa: E402

_loop_started = False


def start_event_loop() -> None:
    global _loop_started
    if not _loop_started:
        runTouchApp(embedded=True)
        _loop_started = True


class KioskDriver:
    """One running KioskApp in the shared window, and the hands and eyes to use it."""

    def __init__(self, commands, *, size=PORTRAIT, guide=None, notifier=None, staff_desk=None):
        start_event_loop()
        self.frame_work: list[float] | None = None   # per-frame UI-thread time, when measuring
        self._draw_at: float | None = None
        Window.bind(on_draw=self._drawing)
        self.resize(size, frames=0)
        self.app = KioskApp(commands, guide=guide, notifier=notifier, staff_desk=staff_desk)
        self.app._run_prepare()           # build, add to the window, on_start (as App.run does)
        self.step(3)

    def close(self) -> None:
        Window.unbind(on_draw=self._drawing)
        self.app.idle_overlay.hide()
        self.app.dispatch("on_stop")
        for child in list(Window.children):
            Window.remove_widget(child)
        # App.get_running_app() reads App._running_app, the base class's: clearing it on
        # KioskApp would leave the stopped app there for kv's `app` of the next one.
        App._running_app = None
        self.step(2)

    # -- time --------------------------------------------------------------------------
    def step(self, frames: int = 1) -> None:
        for _ in range(frames):
            self._draw_at = None
            EventLoop.idle()
            if self.frame_work is not None:
                # The UI thread's own work in the frame, from the moment the clock wakes it
                # (after the frame-rate cap's sleep): input, engine views, our callbacks, kv
                # rules, layout and text, up to the GL drawing. GL (clear, draw calls, swap) is
                # left out: under Xvfb it is Mesa's software rasteriser, a GPU's millisecond.
                self.frame_work.append((self._draw_at or Clock.time()) - Clock.get_time())

    def _drawing(self, *_args) -> None:
        self._draw_at = Clock.time()

    def wait_until(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            result = predicate()
            if result:
                self.step(2)
                return result
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                             f"screen={self.screen_name()} texts={self.visible_texts()[:12]}")

    def wait_for_screen(self, name: str, timeout: float = 30.0) -> None:
        self.wait_until(lambda: self.screen_name() == name and self.app.view is not None
                        and self.app.view.screen.value == name, timeout, f"screen {name}")

    # -- eyes --------------------------------------------------------------------------
    def screen_name(self) -> str:
        return self.app.root.ids.screens.current

    def screen(self):
        return self.app.root.ids.screens.current_screen

    def visible_widgets(self):
        """Widgets on the glass now: the header, the current screen, an open overlay."""
        roots = [self.app.root.ids.header, self.screen(), *self.open_overlays()]
        seen = []
        for root in roots:
            for widget in root.walk(restrict=True):
                if _shown(widget):
                    seen.append(widget)
        return seen

    def open_overlays(self) -> list:
        """Open ModalViews (idle countdown, cancel question), the one on top last."""
        return [w for w in reversed(Window.children) if isinstance(w, ModalView)]

    def visible_texts(self) -> list[str]:
        return [w.text for w in self.visible_widgets() if isinstance(w, Label) and w.text]

    def find(self, text: str):
        matches = [w for w in self.visible_widgets() if getattr(w, "text", None) == text
                   and hasattr(w, "dispatch") and "on_release" in w.events()]
        if not matches:
            raise AssertionError(f"no button {text!r} on {self.screen_name()}: {self.visible_texts()}")
        return matches[0]

    def screenshot(self, path: Path) -> Path:
        self.step(3)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = Window.screenshot(name=str(path))
        os.replace(saved, path)
        return path

    # -- hands -------------------------------------------------------------------------
    def tap_widget(self, widget) -> None:
        self.tap_at(*widget.to_window(*widget.center))

    def tap(self, text: str) -> None:
        self.tap_widget(self.find(text))

    def tap_at(self, x: float, y: float) -> None:
        # Down and up reach the widgets in one frame, in order: a real tap, one redraw (a
        # software-rendered 1080x1920 frame under Xvfb is the slow part of these tests).
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.step()

    def tap_digits(self, digits: str) -> None:
        for digit in digits:
            self.tap(digit)

    def log_in(self, nik: str, pin: str, *, start: str = "Mulai", next_label: str = "Lanjut") -> None:
        """The citizen's way in from the attract screen: start, the NIK, next, the PIN, next
        (the labels of the language on the glass)."""
        self.wait_for_screen("attract")
        self.tap(start)
        self.wait_for_screen("identify")
        self.tap_digits(nik)
        self.tap(next_label)
        self.wait_for_screen("pin")
        self.tap_digits(pin)
        self.tap(next_label)

    def print_everything(self, nik: str, pin: str, *, timeout: float = 60.0) -> None:
        """`log_in`, then every document as offered (Lanjut, Cetak sekarang) to the done screen."""
        self.log_in(nik, pin)
        self.wait_for_screen("documents")
        self.tap("Lanjut")
        self.wait_for_screen("confirm")
        self.tap("Cetak sekarang")
        self.wait_for_screen("done", timeout=timeout)

    def press(self, key: int, codepoint: str | None = None) -> None:
        Window.dispatch("on_key_down", key, 0, codepoint, [])
        Window.dispatch("on_key_up", key, 0)
        self.step()

    def type(self, text: str) -> None:
        for char in text:
            self.press(ord(char.lower()) if char.isalpha() else ord(char), char)

    def enter(self) -> None:
        self.press(13)

    def resize(self, size, frames: int = 4) -> None:
        if tuple(Window.size) != tuple(size):
            Window.size = size
        self.step(frames)


def _shown(widget) -> bool:
    node = widget
    while node is not None:
        if getattr(node, "opacity", 1) == 0 or getattr(node, "disabled", False) and node is widget:
            return False
        parent = node.parent
        if parent is node:
            break
        node = parent
    return widget.width > 0 and widget.height > 0
