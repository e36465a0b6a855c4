"""Kiosk mode: the window is the whole machine for the citizen.

`configure(...)` must run before `kivy.core.window` is imported (Kivy reads its Config when
the window is created): the whole screen, no cursor, no exit on Esc, no screensaver, no
multitouch emulation (right-click red dots).

"The whole screen" is a borderless window at 0,0 the size of the X root window, not one of
SDL's fullscreen modes: those need a window manager, and the kiosk runs on a bare X server
(see `ui/x_display.py` for what happens otherwise). Only where the X server cannot be asked
(no X: a KMS or Wayland console) does it fall back to Kivy's `fullscreen = auto`.

`lock_window(window)` then refuses every way out that reaches the app: Esc, the window
manager's close, Alt+F4.
"""

from __future__ import annotations

import logging
import os

from .x_display import root_window_size

log = logging.getLogger(__name__)

KEY_ESCAPE = 27
KEY_F4 = 285


def configure(*, fullscreen: bool = True, size: tuple[int, int] | None = None) -> None:
    # SDL disables the screensaver unless asked otherwise; say so explicitly for SDL and Kivy.
    os.environ["SDL_VIDEO_ALLOW_SCREENSAVER"] = "0"
    from kivy.config import Config
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "fullscreen", "0")
    Config.set("graphics", "position", "auto")
    if fullscreen:
        size = size or root_window_size()
        if size is None:
            log.warning("no X screen size to read: using the window system's fullscreen mode")
            Config.set("graphics", "fullscreen", "auto")
        else:
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
    if size is not None:
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
    Config.set("input", "mouse", "mouse,disable_multitouch")


def refuse_close(*_args, **_kwargs) -> bool:
    """on_request_close handler: True means 'handled', so the window stays."""
    return True


def swallow_exit_keys(_window, key, *_args) -> bool:
    """on_keyboard handler: Esc and Alt+F4 end here."""
    return key in (KEY_ESCAPE, KEY_F4)


def lock_window(window, *, hide_cursor: bool = True) -> None:
    window.bind(on_request_close=refuse_close, on_keyboard=swallow_exit_keys)
    if hide_cursor:
        window.show_cursor = False
    window.allow_screensaver = False


def unlock_window(window) -> None:
    window.unbind(on_request_close=refuse_close, on_keyboard=swallow_exit_keys)
    window.show_cursor = True
