"""The heartbeat's hot path on both backends: for a good heartbeat one batch and a COMMIT on
SQLite, one statement outside a transaction on PostgreSQL, with the token checked inside it,
and every other case answered as the checked path does (the error, and nothing stored)."""

from __future__ import annotations

import time

import pytest
import requests

from dinas import auth, db
from tests.fixtures.dinas_server import on_both_backends, reference_server  # noqa: F401
from tests.service.test_dinas_contract import heartbeat_body


def _post(server, body, token):
    return requests.post(f"{server.url}/kiosk/heartbeat", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"} if token else {})


def _stored(server, kiosk_id):
    row = server.query("SELECT heartbeat_count AS n FROM kiosks WHERE kiosk_id = ?", kiosk_id)[0]
    history = server.query("SELECT COUNT(*) AS n FROM heartbeats WHERE kiosk_id = ?", kiosk_id)[0]
    buckets = server.query("SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = ?", f"heartbeats:{kiosk_id}")[0]
    return row["n"], history["n"], buckets["n"]


def _hot_path(server, parts: int) -> list[tuple[str, object]]:
    """What a good heartbeat of `parts` writes sends: on SQLite a batch of them and a COMMIT
    (the group commit's), on PostgreSQL the same parts as one statement (one round trip)."""
    return [("batch", parts), ("sql", "COMMIT")] if server.backend == "sqlite" else [("batch", 1)]


@pytest.fixture
def statements(reference_server, monkeypatch):  # noqa: F811
    """What the server sends: ("batch", n statements) and each statement outside a batch."""
    import sqlalchemy as sa

    sent: list[tuple[str, object]] = []
    engine = reference_server.app.extensions["dinas"].database.engine

    def on_execute(_conn, _cursor, statement, *_args):
        sent.append(("sql", statement.split()[0].upper()))
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    real_batch = db.Connection.batch

    def counting_batch(self, batch):
        sent.append(("batch", len(batch)))
        return real_batch(self, batch)
    monkeypatch.setattr(db.Connection, "batch", counting_batch)
    yield sent
    sa.event.remove(engine, "before_cursor_execute", on_execute)


def test_a_good_heartbeat_is_one_transaction_with_its_token_checked_inside(reference_server, statements):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    today = time.strftime("%Y-%m-%d", time.gmtime(reference_server.clock()))
    body = {**heartbeat_body(kiosk["kiosk_id"]), "counters": {"day": today, "today": {"KK": {"printed": 2, "failed": 1}}}}
    statements.clear()
    reply = _post(reference_server, body, kiosk["token"])
    assert reply.status_code == 200 and reply.json()["config_waiting"] is False
    # The kiosk row (token checked, config ETag returned), the rate-limit token, history, day counts.
    assert statements == _hot_path(reference_server, 4)
    assert _stored(reference_server, kiosk["kiosk_id"]) == (1, 1, 1)
    assert reference_server.query("SELECT printed, failed FROM kiosk_days WHERE kiosk_id = ?",
                                  kiosk["kiosk_id"]) == [{"printed": 2, "failed": 1}]


def test_every_prune_every_th_heartbeat_prunes_the_kiosks_history(reference_server, monkeypatch):  # noqa: F811
    # On PostgreSQL the pruning follows the heartbeat's one statement, as statements of its own.
    from dinas import fleet

    monkeypatch.setattr(fleet, "PRUNE_EVERY", 2)
    kiosk, other = reference_server.kiosks[0], reference_server.kiosks[1]
    old = reference_server.clock() - fleet.HISTORY_SECONDS - 60
    with reference_server.writing() as connection:
        for kiosk_id in (kiosk["kiosk_id"], other["kiosk_id"]):
            connection.run("INSERT INTO heartbeats (kiosk_id, received_at, body) VALUES (:k, :old, '{}')",
                           k=kiosk_id, old=old)
    body = heartbeat_body(kiosk["kiosk_id"])
    assert _post(reference_server, body, kiosk["token"]).status_code == 200
    assert _stored(reference_server, kiosk["kiosk_id"])[:2] == (1, 2)          # the first: not yet
    assert _post(reference_server, body, kiosk["token"]).status_code == 200
    assert _stored(reference_server, kiosk["kiosk_id"])[:2] == (2, 2)          # the second: the old row went
    assert reference_server.query("SELECT MIN(received_at) AS t FROM heartbeats WHERE kiosk_id = ?",
                                  kiosk["kiosk_id"])[0]["t"] > old
    assert _stored(reference_server, other["kiosk_id"])[1] == 1               # not another kiosk's


def test_another_kiosks_token_stores_nothing_on_either_kiosk(reference_server):  # noqa: F811
    mine, other = reference_server.kiosks[0], reference_server.kiosks[1]
    reply = _post(reference_server, heartbeat_body(other["kiosk_id"]), mine["token"])
    assert reply.status_code == 403 and reply.json()["error"] == "forbidden"
    assert _stored(reference_server, other["kiosk_id"]) == (0, 0, 0)
    assert _stored(reference_server, mine["kiosk_id"]) == (0, 0, 0)


def test_revoked_and_rotated_tokens_stop_heartbeats_at_once(reference_server):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    body = heartbeat_body(kiosk["kiosk_id"])
    assert _post(reference_server, body, kiosk["token"]).status_code == 200
    with reference_server.writing() as connection:
        new_token = auth.rotate_kiosk_token(connection, reference_server.vault(), kiosk["kiosk_id"],
                                            reference_server.clock())
    assert _post(reference_server, body, kiosk["token"]).status_code == 401
    assert _post(reference_server, body, new_token).status_code == 200
    with reference_server.writing() as connection:
        auth.revoke_kiosk(connection, kiosk["kiosk_id"], reference_server.clock())
    reply = _post(reference_server, body, new_token)
    assert reply.status_code == 401 and reply.json()["error"] == "unauthorized"
    assert _stored(reference_server, kiosk["kiosk_id"]) == (2, 2, 1)


def test_the_caller_is_checked_before_the_body(reference_server):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    bad_body = {**heartbeat_body(kiosk["kiosk_id"]), "counters": "none"}
    assert _post(reference_server, bad_body, "not-a-token").status_code == 401
    assert _post(reference_server, bad_body, None).status_code == 401
    admin = _post(reference_server, heartbeat_body(kiosk["kiosk_id"]), reference_server.admin_token)
    assert admin.status_code == 403 and "kiosk token" in admin.json()["detail"]
    # Another kiosk's id with a bad body: the id is refused first, as it always was.
    other = {**heartbeat_body(reference_server.kiosks[1]["kiosk_id"]), "counters": "none"}
    assert _post(reference_server, other, kiosk["token"]).status_code == 403
    assert _post(reference_server, bad_body, kiosk["token"]).status_code == 400
    assert _stored(reference_server, kiosk["kiosk_id"]) == (0, 0, 0)


def test_a_refused_heartbeat_keeps_nothing_and_says_when_to_retry(reference_server):  # noqa: F811
    from dinas.server import HEARTBEATS_PER_MINUTE

    kiosk = reference_server.kiosks[0]
    body = heartbeat_body(kiosk["kiosk_id"])
    # The bucket refills as real time passes: on a slow machine a few more may get in.
    replies = []
    while len(replies) < 2 * HEARTBEATS_PER_MINUTE and (not replies or replies[-1].status_code == 200):
        replies.append(_post(reference_server, body, kiosk["token"]))
    admitted = [r.status_code for r in replies].count(200)
    assert HEARTBEATS_PER_MINUTE <= admitted < len(replies)
    assert replies[-1].status_code == 429 and replies[-1].json()["retry_after"] >= 1
    assert _stored(reference_server, kiosk["kiosk_id"])[:2] == (admitted, admitted)


def _raw_post(server, body: bytes, token: str, content_type: str):
    return requests.post(f"{server.url}/kiosk/heartbeat", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


def _answer(reply):
    """Status, type, length and body bytes, the server's time (which moves) aside."""
    import re
    return (reply.status_code, reply.headers["Content-Type"], reply.headers["Content-Length"],
            re.sub(rb'"server_time":"[0-9T:Z-]{20}"', b'"server_time":"..."', reply.content))


def test_the_hot_path_and_the_flask_route_answer_alike(reference_server, statements):  # noqa: F811
    # `application/json` goes the hot path (heartbeat_wsgi); an `application/...+json` type,
    # which Flask also reads as JSON, goes the Flask route: the same heartbeats, the same bytes.
    import json

    from dinas.server import HEARTBEATS_PER_MINUTE

    kiosk = reference_server.kiosks[0]
    body = json.dumps(heartbeat_body(kiosk["kiosk_id"])).encode()
    statements.clear()
    fast = _raw_post(reference_server, body, kiosk["token"], "application/json")
    assert statements == _hot_path(reference_server, 3)             # the hot path: no token lookup
    statements.clear()
    routed = _raw_post(reference_server, body, kiosk["token"], "application/x-heartbeat+json")
    assert ("sql", "SELECT") in statements                          # the Flask route: authenticate first
    assert _answer(fast) == _answer(routed) and fast.status_code == 200
    assert _stored(reference_server, kiosk["kiosk_id"])[:2] == (2, 2)
    # Refused for its rate: the same 429 both ways, nothing kept.
    while _raw_post(reference_server, body, kiosk["token"], "application/json").status_code == 200:
        pass
    fast = _raw_post(reference_server, body, kiosk["token"], "application/json")
    routed = _raw_post(reference_server, body, kiosk["token"], "application/x-heartbeat+json")
    assert fast.status_code == 429 and _answer(fast) == _answer(routed)
    count = _stored(reference_server, kiosk["kiosk_id"])[0]
    assert HEARTBEATS_PER_MINUTE <= count == _stored(reference_server, kiosk["kiosk_id"])[1]


@pytest.mark.parametrize("case", ["no length", "over the size limit", "chunked", "short body", "not an object",
                                  "deep", "text/plain"])
def test_what_the_hot_path_does_not_take_is_answered_by_the_flask_route(reference_server, case):  # noqa: F811
    import http.client
    import json
    from urllib.parse import urlsplit

    from dinas.server import MAX_HEARTBEAT_BYTES

    kiosk = reference_server.kiosks[0]
    good = json.dumps(heartbeat_body(kiosk["kiosk_id"])).encode()
    body, headers, expected = good, {"Content-Type": "application/json"}, 200
    if case == "no length":
        headers["Content-Length"] = ""
        expected = 400
    elif case == "over the size limit":
        body = json.dumps({**heartbeat_body(kiosk["kiosk_id"]), "pad": "x" * MAX_HEARTBEAT_BYTES}).encode()
        expected = 413
    elif case == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(good), good)
    elif case == "short body":
        body = good[:-10]
        expected = 400
    elif case == "not an object":
        body, expected = b"[1, 2]", 400
    elif case == "deep":
        body, expected = b"[" * 40 + b"]" * 40, 400
    elif case == "text/plain":
        headers["Content-Type"], expected = "text/plain", 400
    url = urlsplit(reference_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("POST", f"{url.path}/kiosk/heartbeat")
    connection.putheader("Authorization", f"Bearer {kiosk['token']}")
    for name, value in headers.items():
        connection.putheader(name, value)
    if "Transfer-Encoding" not in headers and headers.get("Content-Length") != "":
        connection.putheader("Content-Length", str(len(good) if case == "short body" else len(body)))
    connection.endheaders(body)
    if case == "short body":
        connection.sock.shutdown(__import__("socket").SHUT_WR)
    reply = connection.getresponse()
    payload = reply.read()
    connection.close()
    assert reply.status == expected, payload
    assert json.loads(payload)["error" if expected != 200 else "config_waiting"] is not None
    assert _stored(reference_server, kiosk["kiosk_id"])[:2] == ((1, 1) if expected == 200 else (0, 0))


def test_config_waiting_follows_the_group_and_the_kiosk_envelopes_both_ways(reference_server):  # noqa: F811
    # The reply's config_waiting comes from the kiosk row's UPDATE ... RETURNING: its group's
    # envelope, then one of its own (the newer wins), and the ETag the kiosk last fetched.
    import json

    from tests.service.test_dinas_contract import ENVELOPE, KEY, payload, spec_sign

    kiosk, other = reference_server.kiosks[0], reference_server.kiosks[2]      # kota-bandung, kecamatan
    body = json.dumps(heartbeat_body(kiosk["kiosk_id"])).encode()

    def waiting(etag=None, kiosk_=kiosk, content_type="application/json"):
        beat = {**heartbeat_body(kiosk_["kiosk_id"]), **({"config_etag": etag} if etag else {})}
        reply = _raw_post(reference_server, json.dumps(beat).encode(), kiosk_["token"], content_type)
        assert reply.status_code == 200, reply.text
        return reply.json()["config_waiting"]
    assert _raw_post(reference_server, body, kiosk["token"], "application/json").json()["config_waiting"] is False

    def publish(target, envelope):
        reply = requests.put(f"{reference_server.url}/admin/config", json={"target": target, "envelope": envelope},
                             headers=reference_server.admin_headers(), timeout=10)
        assert reply.status_code < 300, reply.text
        fetched = requests.get(f"{reference_server.url}/kiosk/config", timeout=10,
                               headers={"Authorization": f"Bearer {kiosk['token']}"})
        return fetched.headers["ETag"]
    group_etag = publish({"groups": ["kota-bandung"]}, ENVELOPE)
    for content_type in ("application/json", "application/x-heartbeat+json"):         # hot path, Flask route
        assert waiting(content_type=content_type) is True
        assert waiting(group_etag, content_type=content_type) is False
        assert waiting(kiosk_=other, content_type=content_type) is False              # not its group
    own = spec_sign(payload(2, kiosks=[kiosk["kiosk_id"]]), [KEY])
    own_etag = publish({"kiosks": [kiosk["kiosk_id"]]}, own)
    assert own_etag != group_etag
    assert waiting(group_etag) is True and waiting(own_etag) is False
