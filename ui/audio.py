"""Spoken guidance: one short sentence per screen, spoken by espeak-ng in the citizen's
language (Bahasa Indonesia first), for citizens who cannot read the screen well.

espeak-ng runs as a subprocess started from a worker thread, so the UI thread never waits
on it; a new sentence stops the one still playing. When espeak-ng is not installed, or there
is no sound device, the guide is silent and nothing else changes.
"""

from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading
from typing import Sequence

log = logging.getLogger(__name__)

VOICES = {"id": "id", "en": "en"}
SPEED_WPM = 140          # slower than espeak's 175: first-time listeners, noisy halls
SPEAK_TIMEOUT_S = 60     # our longest sentence (the attract help) takes ~25 s; a stuck synthesiser is killed
# The header's volume choice -> espeak-ng's amplitude (0-200, its default 100). "high" is for
# a noisy hall; beyond ~180 espeak-ng starts to clip.
VOLUMES = {"low": 50, "medium": 100, "high": 170}


class Guide:
    def __init__(self, enabled: bool = True, executable: str = "espeak-ng",
                 extra_args: Sequence[str] = (), volume: str = "medium"):
        self.enabled = enabled
        self.volume = volume                 # a key of VOLUMES
        self.last: tuple[str, str] | None = None   # the last sentence asked for, and its language
        self.executable = shutil.which(executable)
        self.extra_args = tuple(extra_args)
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._current: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.spoken = 0          # sentences handed to espeak-ng (diagnostics and tests)

    @property
    def available(self) -> bool:
        return self.executable is not None

    def say(self, text: str, language: str = "id") -> None:
        """Returns at once. Drops whatever was still waiting or playing."""
        if not (self.enabled and text):
            return
        self.last = (text, language)
        self.heard(text, language)
        if not self.available:
            return
        self._drain()
        self._stop_current()
        self._queue.put((text, language))
        self._ensure_worker()

    def close(self) -> None:
        self._drain()
        self._queue.put(None)
        self._stop_current()

    def heard(self, text: str, language: str) -> None:
        """Every sentence handed to the voice passes here (tests record them)."""

    def command(self, text: str, language: str) -> list[str]:
        return [self.executable, "-v", VOICES.get(language, "id"), "-s", str(SPEED_WPM),
                "-a", str(VOLUMES.get(self.volume, VOLUMES["medium"])), *self.extra_args, "--", text]

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="audio-guide", daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _stop_current(self) -> None:
        with self._lock:
            process = self._current
        if process is not None and process.poll() is None:
            process.terminate()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            text, language = item
            try:
                process = subprocess.Popen(self.command(text, language), stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError as exc:
                log.warning("spoken guidance unavailable: %s", exc)
                continue
            with self._lock:
                self._current = process
            self.spoken += 1
            try:
                process.wait(timeout=SPEAK_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with self._lock:
                self._current = None
