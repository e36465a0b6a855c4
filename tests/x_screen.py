"""The X screen as a citizen sees it: a private Xvfb, a grab of its root window taken from the
X server (`xwd -root`, decoded by netpbm's `xwdtopnm`, never Kivy's own GL read-back), and
the checks that the grab shows the attract screen.

Kivy's read-back shows what Kivy drew into its GL buffer; the X grab shows what reached the
screen. They differ exactly when the window does not cover the screen (the white 800x600 box
of SDL's fullscreen mode on a server with no window manager), so production-mode tests and the
cold-start benchmark look at the X grab.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from kiosk.demo_support import stop_process

NAVY = (10, 51, 115)        # ui/style.py NAVY: the header and the primary button
WHITE = (255, 255, 255)     # the screens' background
TOLERANCE = 16              # per channel, for antialiased edges and the 24-bit round trip


class Xvfb:
    """A bare X server (no window manager), as the kiosk's unit starts one, on a free display."""

    def __init__(self, size: tuple[int, int], depth: int = 24) -> None:
        read_fd, write_fd = os.pipe()
        self.size = size
        self._process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x{depth}",
             "-nolisten", "tcp", "-nocursor", "-s", "0", "-dpms"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self._process.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def grab(self) -> Image.Image:
        return grab_root(self.display)

    def stop(self) -> None:
        stop_process(self._process)

    def __enter__(self) -> Xvfb:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def grab_root(display: str, timeout: float = 10.0) -> Image.Image:
    """The root window of `display` as the X server holds it, as an RGB image."""
    xwd = subprocess.Popen(["xwd", "-root", "-silent", "-display", display], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        decoded = subprocess.run(["xwdtopnm"], stdin=xwd.stdout, capture_output=True, timeout=timeout)
    finally:
        xwd.stdout.close()
        xwd_errors = xwd.stderr.read()
        xwd.stderr.close()
        xwd.wait(timeout)
    if xwd.returncode != 0 or decoded.returncode != 0:
        raise RuntimeError(f"cannot grab {display}: {xwd_errors.decode(errors='replace').strip()} "
                           f"{decoded.stderr.decode(errors='replace').strip()}")
    return Image.open(io.BytesIO(decoded.stdout)).convert("RGB")


def save(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _close_to(pixels: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Per pixel: within TOLERANCE of `colour` on every channel."""
    return (np.abs(pixels.astype(np.int16) - np.array(colour, dtype=np.int16)) <= TOLERANCE).all(axis=-1)


def attract_screen_problems(image: Image.Image, size: tuple[int, int]) -> list[str]:
    """What keeps `image` (an X grab) from being the attract screen filling a `size` screen.

    The attract screen's own marks, at any density and in both orientations: the header's dark
    blue from the very first row across the whole width (so the window starts at 0,0 and is as
    wide as the screen), the white background in the last row across the whole width (so it is
    as tall), and the big "Start" button, a dark blue band across at least 40% of the width
    (the primary's place on every screen is the right 60% of the bottom row; its white words
    take some of that) and taller than any other on the screen."""
    width, height = size
    if image.size != size:
        return [f"the X screen is {image.size[0]}x{image.size[1]}, expected {width}x{height}"]
    pixels = np.asarray(image)
    problems = []
    top = _close_to(pixels[:4], NAVY).mean()
    if top < 0.95:
        problems.append(f"the header's dark blue is not across the top of the screen ({top:.0%} of the first rows)")
    bottom = _close_to(pixels[-4:], WHITE).mean()
    if bottom < 0.95:
        problems.append(f"the white background is not across the bottom of the screen ({bottom:.0%} of the last rows)")
    band = _tallest_run(_close_to(pixels[height // 4:], NAVY).mean(axis=1) >= 0.4)
    if band < 96:
        problems.append(f"no 'Start' button: the tallest dark blue band across the screen is {band} px")
    return problems


def _tallest_run(rows: np.ndarray) -> int:
    best = run = 0
    for hit in rows:
        run = run + 1 if hit else 0
        best = max(best, run)
    return best


def difference_share(first: Image.Image, second: Image.Image) -> float:
    """The share of pixels that differ visibly between two same-sized screenshots."""
    if first.size != second.size:
        return 1.0
    distance = np.abs(np.asarray(first.convert("RGB"), dtype=np.int16)
                      - np.asarray(second.convert("RGB"), dtype=np.int16))
    return float((distance > 2 * TOLERANCE).any(axis=-1).mean())
