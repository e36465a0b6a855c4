"""A gunicorn worker that gives a thread only to a request that has fully arrived.

gunicorn's threaded worker hands each new connection to a thread, which then blocks reading
the request head: 200 half-open requests (a slowloris) hold every thread, and a real request
waits behind them. Here the worker's event loop reads, without blocking, the request head and
a body of up to `PREREAD_BODY_BYTES` into a buffer, under deadlines:
- the head must be complete within `HEADER_TIMEOUT_SECONDS` of the connection (or of the
  keep-alive wait ending),
- the body within `BODY_TIMEOUT_SECONDS` of the head;
a connection that misses one is closed. Only then does a thread parse it, from the buffer.
A larger or chunked body is read by the thread with a per-read socket timeout.
Pipelined requests (a second request sent before the first answer) are not read ahead; the
kiosks and browsers this serves do not pipeline.
"""

from __future__ import annotations

import re
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
PREREAD_BODY_BYTES = 2 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,12})[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


class PrereadConn(TConn):
    def __init__(self, cfg, sock, client, server) -> None:
        super().__init__(cfg, sock, client, server)
        self.buffer = bytearray()
        self.deadline = 0.0
        self.head_done = False

    def start_preread(self) -> None:
        self.buffer.clear()
        self.head_done = False
        self.deadline = time.monotonic() + HEADER_TIMEOUT_SECONDS

    def complete(self) -> bool:
        """Reads what the socket has; True once the head (and a small body) is buffered.
        Raises ConnectionError when the client closed or sent too much head."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                raise ConnectionError("closed before the request arrived")
            self.buffer += chunk
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise ConnectionError("request head too large")
            return False
        if not self.head_done:
            self.head_done = True
            self.deadline = time.monotonic() + BODY_TIMEOUT_SECONDS
        head = bytes(self.buffer[:end + 2])
        if _CHUNKED.search(head):
            return True
        length = _CONTENT_LENGTH.search(head)
        wanted = int(length.group(1)) if length else 0
        return wanted > PREREAD_BODY_BYTES or len(self.buffer) - (end + 4) >= wanted

    def init(self) -> None:
        fresh = self.parser is None
        super().init()
        if fresh:
            self.hand_over()
        # A body past the read-ahead is read by the thread: no read may wait forever.
        self.sock.settimeout(BODY_TIMEOUT_SECONDS)

    def hand_over(self) -> None:
        """Puts the buffered bytes in front of the parser's reader."""
        if self.parser is not None and self.buffer:
            self.parser.unreader.unread(bytes(self.buffer))
            self.buffer.clear()


class DeadlineWorker(ThreadWorker):
    def init_process(self) -> None:
        self.prereading: deque[PrereadConn] = deque()
        super().init_process()

    def accept(self, listener) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError:
            return
        self.nr_conns += 1
        conn = PrereadConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._preread(conn)

    def _preread(self, conn: PrereadConn) -> None:
        conn.sock.setblocking(False)
        conn.start_preread()
        self.prereading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: PrereadConn, _sock) -> None:
        try:
            done = conn.complete()
        except (ConnectionError, OSError):
            self._drop(conn)
            return
        if done:
            self._forget(conn)
            conn.data_ready = True
            if conn.initialized:        # keep-alive: the parser exists already
                conn.hand_over()
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn, client) -> None:
        """A keep-alive connection speaks again: read its next request ahead, too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._preread(conn)

    def _forget(self, conn: PrereadConn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.prereading.remove(conn)
        except ValueError:
            pass

    def _drop(self, conn: PrereadConn) -> None:
        self._forget(conn)
        self.nr_conns -= 1
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def murder_keepalived(self) -> None:
        if not self.alive:
            # Shutting down: a connection with no request in a thread has nothing to lose.
            for conn in list(self.keepalived_conns):
                conn.timeout = 0
        super().murder_keepalived()
        now = time.monotonic()
        for conn in [c for c in self.prereading if c.deadline <= now or not self.alive]:
            self._drop(conn)
