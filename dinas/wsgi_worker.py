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

Cheaper than gunicorn's own loop, for a server whose load is small requests (heartbeats): the
request threads take connections from a plain queue (`RequestThreads`: concurrent.futures'
Future, its Condition and done-callbacks cost about a tenth of a heartbeat's CPU), and a
keep-alive connection that speaks again is read at once in the loop, without registering its
socket anew.
"""

from __future__ import annotations

import queue
import re
import selectors
import socket
import threading
import time
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


class _Finished:
    """A request thread's result, as gunicorn's finish_request reads a Future's."""
    __slots__ = ("_keepalive",)

    def __init__(self, keepalive) -> None:
        self._keepalive = keepalive

    def result(self):
        return self._keepalive

    def cancelled(self) -> bool:
        return False


class RequestThreads:
    """The worker's request threads, fed from a queue; each hands its connection back to the
    event loop (gunicorn's method queue) when the request is answered."""

    def __init__(self, worker: "DeadlineWorker", count: int) -> None:
        self._connections: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, args=(worker,), name=f"request-{i}")
                         for i in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, conn: PrereadConn) -> None:
        self._connections.put(conn)

    def _serve(self, worker: "DeadlineWorker") -> None:
        while (conn := self._connections.get()) is not None:
            try:
                keepalive = worker.handle(conn)
            except Exception:           # handle() answers its own errors; never lose the connection
                keepalive = False
            worker.method_queue.defer(worker.finish_request, conn, _Finished(keepalive))

    def shutdown(self, wait: bool = True) -> None:
        """Each thread ends after the request it has (gunicorn waits for those first)."""
        for _ in self._threads:
            self._connections.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class DeadlineWorker(ThreadWorker):
    def init_process(self) -> None:
        self.prereading: dict[PrereadConn, None] = {}       # insertion-ordered, O(1) removal
        super().init_process()

    def get_thread_pool(self) -> RequestThreads:
        return RequestThreads(self, self.cfg.threads)

    def enqueue_req(self, conn: PrereadConn) -> None:
        self.tpool.submit(conn)

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
        self.prereading[conn] = None
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
        """A keep-alive connection speaks again: read its next request ahead, too. Its socket
        stays registered (non-blocking since finish_request), with the read-ahead's callback;
        usually the whole request is there already, and goes to a thread at once."""
        self.keepalived_conns.remove(conn)
        conn.start_preread()
        self.prereading[conn] = None
        self.poller.modify(client, selectors.EVENT_READ, partial(self._on_readable, conn))
        self._on_readable(conn, client)

    def _forget(self, conn: PrereadConn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.prereading.pop(conn, None)

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
