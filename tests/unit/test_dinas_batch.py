"""`Connection.batch` and the deferred BEGIN, on SQLite and on PostgreSQL: rows come back per
statement in order, a failing statement rolls the whole transaction back, and a transaction
that ran nothing sends nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dinas import db
from tests.fixtures.postgres import postgres_cluster  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    target = (request.getfixturevalue("postgres_cluster").new_database() if request.param == "postgresql"
              else str(tmp_path / "batch.db"))
    database = db.Database(target, pool_size=1)
    with database.session() as connection:
        connection.run("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    yield database
    database.dispose()


def test_batch_returns_each_statements_rows_in_order(database):
    with database.write() as connection:
        rows = connection.batch([
            ("INSERT INTO t (k, n) VALUES (:k, :n)", {"k": "a", "n": 1}),
            ("INSERT INTO t (k, n) VALUES (:k, :n) ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n "
             "RETURNING n", {"k": "a", "n": 5}),
            ("SELECT k, n FROM t WHERE k = :k", {"k": "a"}),
            ("SELECT k FROM t WHERE k = :k", {"k": "none"}),
            ("SELECT '100%' AS p, :k AS k", {"k": "x"}),           # a literal % survives the driver's style
        ])
    assert rows == [[], [{"n": 6}], [{"k": "a", "n": 6}], [], [{"p": "100%", "k": "x"}]]


def test_a_failing_statement_rolls_the_whole_batch_back(database):
    with pytest.raises(Exception) as raised:
        with database.write() as connection:
            connection.batch([("INSERT INTO t (k, n) VALUES ('b', 1)", {}),
                              ("INSERT INTO t (k, n) VALUES ('c', NULL)", {})])
    assert "null" in str(raised.value).lower()
    with database.session() as connection:
        assert connection.value("SELECT COUNT(*) FROM t") == 0
        connection.run("INSERT INTO t (k, n) VALUES ('d', 1)")       # the connection is usable again
        assert connection.value("SELECT COUNT(*) FROM t") == 1


def test_an_exception_after_a_batch_rolls_it_back(database):
    with pytest.raises(RuntimeError):
        with database.write() as connection:
            connection.batch([("INSERT INTO t (k, n) VALUES ('e', 1)", {})])
            raise RuntimeError("the caller changed its mind")
    with database.session() as connection:
        assert connection.value("SELECT COUNT(*) FROM t") == 0


def test_begin_goes_with_the_first_statement_and_an_empty_transaction_sends_nothing(database):
    sent: list[str] = []
    sa.event.listen(database.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: sent.append(sql))
    with database.write():
        pass
    assert sent == []
    with database.write() as connection:
        connection.run("INSERT INTO t (k, n) VALUES ('f', 1)")
    assert [s.split()[0] for s in sent] == ["BEGIN", "INSERT", "COMMIT"]
