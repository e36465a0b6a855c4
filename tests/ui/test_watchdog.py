"""systemd notifications over a real unix datagram socket bound as $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket

import pytest

from ui.watchdog import SystemdNotifier


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


def received(sock, count: int = 1) -> list[str]:
    return [sock.recv(4096).decode() for _ in range(count)]


def test_from_the_environment_pings_at_half_the_watchdog_period(notify_socket):
    path, sock = notify_socket
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    assert notifier.interval_s == 10.0
    assert notifier.notify("READY=1")
    notifier.ping()
    assert received(sock, 2) == ["READY=1", "WATCHDOG=1"]


def test_abstract_socket_names(tmp_path):
    name = f"adm-kiosk-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert SystemdNotifier("@" + name).notify("WATCHDOG=1")
        assert received(sock) == ["WATCHDOG=1"]
    finally:
        sock.close()


def test_without_systemd_nothing_is_sent_and_nothing_breaks(tmp_path):
    assert SystemdNotifier.from_environment({}).notify("READY=1") is False
    gone = SystemdNotifier(str(tmp_path / "no-such-socket"))
    assert gone.notify("WATCHDOG=1") is False      # logged, not raised
    assert SystemdNotifier.from_environment({"NOTIFY_SOCKET": "x", "WATCHDOG_USEC": "junk"}).interval_s == 5.0
