"""SQLite's group commit of heartbeats (dinas/heartbeats.py): heartbeats queued together are
written in one transaction, each in its own savepoint, so a refused one keeps nothing while
the others are stored, under one COMMIT; and none is answered before that COMMIT."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from dinas import auth, heartbeats
from dinas.clock import AdjustableClock
from dinas.errors import ApiError
from dinas.ratelimit import RateLimiter
from dinas.storage import open_store

LIMIT = 3


def _beat(kiosk_id: str) -> dict:
    body = {"kiosk_id": kiosk_id, "software_version": "0.1.0", "config_version": 1, "uptime_s": 5.0,
            "devices": {}, "counters": {}, "outbox_depth": 0, "last_faults": []}
    return heartbeats.read(body)[0]


@pytest.fixture
def fleet(tmp_path):
    store = open_store(str(tmp_path / "dinas.db"))
    clock = AdjustableClock()
    with store.database.write() as connection:
        tokens = {k: auth.add_kiosk(connection, store.vault, k, None, clock()) for k in ("A", "B", "C", "D")}
    writer = heartbeats.HeartbeatStore(store.database, RateLimiter(clock, LIMIT), clock)
    commits: list[str] = []

    def on_execute(_conn, _cursor, statement, *_args):
        if statement.strip().upper() == "COMMIT":
            commits.append(statement)
    sa.event.listen(store.database.engine, "before_cursor_execute", on_execute)
    yield store, writer, {k: store.vault.token_hash(t) for k, t in tokens.items()}, commits
    store.close()


def _counts(store, kiosk_id: str) -> tuple[int, int, int]:
    with store.database.session() as connection:
        return (connection.value("SELECT heartbeat_count FROM kiosks WHERE kiosk_id = :k", k=kiosk_id),
                connection.value("SELECT COUNT(*) FROM heartbeats WHERE kiosk_id = :k", k=kiosk_id),
                connection.value("SELECT COUNT(*) FROM rate_limits WHERE bucket = :b", b=f"heartbeats:{kiosk_id}"))


def _in_one_group(writer, calls):
    """Runs the calls in threads while the writer lock is held, so they queue up together,
    then lets one group write them all. Returns each call's reply or exception."""
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:       # the test looks at which one was refused
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    with writer._writer:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(writer._queue) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(writer._queue) == len(calls)
    for thread in threads:
        thread.join(10)
    return results


def test_a_group_stores_the_good_ones_and_keeps_nothing_of_the_refused(fleet):
    store, writer, hashes, commits = fleet
    for _ in range(LIMIT):              # D has used its burst
        writer.store(lambda: None, "D", _beat("D"), None, hashes["D"])
    commits.clear()
    results = _in_one_group(writer, [
        lambda: writer.store(lambda: None, "A", _beat("A"), None, hashes["A"]),
        lambda: writer.store(lambda: None, "C", _beat("C"), None, hashes["A"]),     # A's token, C's body
        lambda: writer.store(lambda: None, "D", _beat("D"), None, hashes["D"]),     # over its rate
        lambda: writer.store(lambda: None, "B", _beat("B"), '"etag"', hashes["B"]),
        lambda: writer.store(lambda: None, "B", _beat("B"), None, hashes["B"]),
    ])
    assert results[0]["config_waiting"] is False and results[3]["config_waiting"] is False
    assert isinstance(results[1], heartbeats.NotThisKiosksToken)
    assert isinstance(results[2], ApiError) and results[2].status == 429
    assert len(commits) == 1                            # five heartbeats, one COMMIT
    assert _counts(store, "A") == (1, 1, 1)
    assert _counts(store, "B") == (2, 2, 1)
    assert _counts(store, "C") == (0, 0, 0)             # nothing kept for the foreign token
    assert _counts(store, "D") == (LIMIT, LIMIT, 1)     # the refused one took no token


def test_a_failed_commit_fails_every_heartbeat_of_the_group(fleet, monkeypatch):
    store, writer, hashes, _ = fleet

    def failing_commit(_conn, _cursor, statement, *_args):
        if statement.strip().upper() == "COMMIT":
            raise sa.exc.OperationalError(statement, {}, Exception("disk I/O error"))
    sa.event.listen(store.database.engine, "before_cursor_execute", failing_commit)
    try:
        results = _in_one_group(writer, [
            lambda: writer.store(lambda: None, "A", _beat("A"), None, hashes["A"]),
            lambda: writer.store(lambda: None, "B", _beat("B"), None, hashes["B"])])
    finally:
        sa.event.remove(store.database.engine, "before_cursor_execute", failing_commit)
    assert all(isinstance(r, sa.exc.OperationalError) for r in results)
    assert _counts(store, "A") == (0, 0, 0) and _counts(store, "B") == (0, 0, 0)
    # The next group writes as usual.
    assert writer.store(lambda: None, "A", _beat("A"), None, hashes["A"])["config_waiting"] is False
    assert _counts(store, "A") == (1, 1, 1)


def test_sixteen_threads_at_once_get_an_answer_each_and_only_the_admitted_are_stored(fleet):
    store, writer, hashes, commits = fleet
    commits.clear()
    barrier = threading.Barrier(16)
    replies, refused = [], []

    def send(kiosk_id):
        barrier.wait()
        try:
            replies.append(writer.store(lambda: None, kiosk_id, _beat(kiosk_id), None, hashes[kiosk_id]))
        except ApiError as error:
            refused.append(error.status)
    threads = [threading.Thread(target=send, args=("ABC"[i % 3],)) for i in range(9)] + \
              [threading.Thread(target=send, args=("D",)) for _ in range(LIMIT)] + \
              [threading.Thread(target=send, args=("A",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # A sends 3 + 4, over its burst of 3: 4 refused; the others are all stored.
    assert len(replies) + len(refused) == 16 and refused == [429] * 4
    assert [_counts(store, k)[:2] for k in "ABCD"] == [(LIMIT, LIMIT)] * 4
    assert 1 <= len(commits) <= len(replies)
