"""`adm-kiosk run` as its systemd unit starts it: a fresh process on an X display, with a
$NOTIFY_SOCKET that we bind as systemd does, so its `READY=1` (sent on the first frame after
the attract screen is drawn) can be waited for. Used by the production-window UI tests and
the cold-start benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class KioskProcess:
    def __init__(self, config: Path, display: str, workdir: Path, *, run_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._notify_path = workdir / "notify"
        self._notify_path.unlink(missing_ok=True)
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(self._notify_path))
        self._stderr_path = workdir / "kiosk-stderr.log"
        self._stderr = self._stderr_path.open("wb")
        full_env = dict(os.environ, DISPLAY=display, NOTIFY_SOCKET=str(self._notify_path),
                        KIVY_HOME=str(workdir / "kivy-home"), **(env or {}))
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(config), "run",
                                         *run_args], cwd=REPO, env=full_env,
                                        stdout=subprocess.DEVNULL, stderr=self._stderr)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from the process start to its READY=1."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no READY=1 within {timeout:.0f}s; stderr: {self.errors()[-2000:]}")
            if self.process.poll() is not None:
                raise AssertionError(f"adm-kiosk run exited with {self.process.returncode}: {self.errors()[-2000:]}")
            self._notify.settimeout(min(remaining, 0.5))
            try:
                message = self._notify.recv(4096).decode()
            except socket.timeout:
                continue
            if "READY=1" in message.split("\n"):
                return time.perf_counter() - self.started

    def errors(self) -> str:
        return self._stderr_path.read_bytes().decode(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._notify.close()
        self._notify_path.unlink(missing_ok=True)
        self._stderr.close()
        return self.process.returncode

    def __enter__(self) -> KioskProcess:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
