"""The X screen's size, read from the X server itself before Kivy opens its window.

Why: the shipped unit starts the kiosk with `xinit` and no window manager. SDL's fullscreen
modes (Kivy's `fullscreen = auto` / `1`) ask a window manager to make the window fullscreen
(`_NET_WM_STATE_FULLSCREEN`); with none there, the X window stays at SDL's default 800x600 in
the middle of the screen while SDL reports the desktop size, and the glass shows a white box on
black. Kiosk mode therefore opens a plain borderless window at 0,0 exactly the size of the root
window, which needs no window manager at all; this module reads that size.

libX11 through ctypes: SDL itself already loads it from the system, so this adds no dependency,
and three calls cost about a millisecond (a subprocess such as `xdpyinfo` costs tens).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def _libx11() -> ctypes.CDLL | None:
    for name in ("libX11.so.6", ctypes.util.find_library("X11")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XOpenDisplay.restype = ctypes.c_void_p
        for function in (lib.XDefaultScreen, lib.XCloseDisplay):
            function.argtypes = [ctypes.c_void_p]
            function.restype = ctypes.c_int
        for function in (lib.XDisplayWidth, lib.XDisplayHeight):
            function.argtypes = [ctypes.c_void_p, ctypes.c_int]
            function.restype = ctypes.c_int
        return lib
    return None


def root_window_size(display: str | None = None) -> tuple[int, int] | None:
    """(width, height) of the default screen of `display` ($DISPLAY when None), in pixels,
    after any xrandr rotation; None when there is no X server to ask (no libX11, no display)."""
    lib = _libx11()
    if lib is None:
        log.warning("libX11 not found: cannot read the X screen's size")
        return None
    handle = lib.XOpenDisplay(display.encode() if display else None)
    if not handle:
        return None
    try:
        screen = lib.XDefaultScreen(handle)
        size = lib.XDisplayWidth(handle, screen), lib.XDisplayHeight(handle, screen)
    finally:
        lib.XCloseDisplay(handle)
    return size if size[0] > 0 and size[1] > 0 else None
