"""Production serving: `adm-dinas serve --workers N` under gunicorn, two server processes (two
machines) on one PostgreSQL, and every invariant holding across them: one winner per
document, lockouts a burst cannot get past, idempotent events, rate limits. And the slowloris
case: 200 half-open requests do not block a real one."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from dinas.pins import MAX_FAILURES
from dinas.seed import seed_demo
from kiosk.demo_support import stop_process
from tests.fixtures.postgres import cluster

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(db: str, key: str, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "dinas.cli", "serve", "--db", db, "--key", key,
                                "--port", str(port), "--workers", str(workers)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                # Refused until gunicorn listens; then waits in its backlog until a worker has booted.
                requests.get(f"{url}/openapi.yaml", timeout=20)
                return process, url
            except requests.RequestException:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "adm-dinas serve did not start"
                time.sleep(0.1)
    except BaseException:
        _stop(process)          # a server that did not come up is not left running
        raise


def _stop(process: subprocess.Popen) -> None:
    stop_process(process, grace_s=15)


@dataclass
class Province:
    urls: list[str]            # server A (3 workers) and server B (2 workers), one PostgreSQL
    seed: dict[str, Any]
    db: str

    def headers(self, kiosk: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed['kiosks'][kiosk]['token']}"}

    def post(self, n: int, path: str, kiosk: int, body: dict) -> requests.Response:
        """The n-th call goes to server A or B in turn (and to whichever worker takes it)."""
        return requests.post(f"{self.urls[n % 2]}{path}", json=body, headers=self.headers(kiosk), timeout=30)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    folder = tmp_path_factory.mktemp("province")
    db, key = cluster().new_database(), str(folder / "dinas.key")
    seed = seed_demo(db, key_path=key)
    servers: list[tuple[subprocess.Popen, str]] = []
    try:
        # One at a time inside the try: if B does not start, A is still stopped.
        servers.append(_serve(db, key, 3, folder / "a.log"))
        servers.append(_serve(db, key, 2, folder / "b.log"))
        yield Province([url for _, url in servers], seed, db)
    finally:
        for process, _ in servers:
            _stop(process)
        cluster().drop(db)


def at_once(count: int, call) -> list[requests.Response]:
    """`count` calls released together (a barrier), from as many threads."""
    barrier = threading.Barrier(count)

    def one(n: int) -> requests.Response:
        barrier.wait(timeout=30)
        return call(n)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_one_winner_when_many_kiosks_reserve_one_document(province):
    citizen = province.seed["citizens"][2]
    sessions = [province.post(n, "/kiosk/sessions", n % 2, {"nik": citizen["nik"], "pin": citizen["pin"]})
                for n in range(12)]
    assert [s.status_code for s in sessions] == [201] * 12
    document = sessions[0].json()["documents"][0]["id"]
    replies = at_once(12, lambda n: province.post(n, f"/kiosk/sessions/{sessions[n].json()['session_id']}/jobs",
                                                  n % 2, {"job_id": str(uuid.uuid4()), "document_id": document}))
    codes = Counter(r.status_code for r in replies)
    assert codes == {201: 1, 409: 11}, codes
    assert {r.json()["error"] for r in replies if r.status_code == 409} == {"reserved_elsewhere"}


def test_retries_of_one_new_reservation_racing_each_other_all_get_that_job(province):
    # The losers of the ready -> reserved race must find the winner's row (the retry path of
    # dinas.jobs.reserve that only concurrent workers reach), not answer reserved_elsewhere.
    citizen = province.seed["citizens"][3]
    session = province.post(0, "/kiosk/sessions", 1, {"nik": citizen["nik"], "pin": citizen["pin"]}).json()
    job_id, document = str(uuid.uuid4()), session["documents"][0]["id"]
    replies = at_once(8, lambda n: province.post(n, f"/kiosk/sessions/{session['session_id']}/jobs", 1,
                                                 {"job_id": job_id, "document_id": document}))
    assert sorted(r.status_code for r in replies) == [200] * 7 + [201], [r.text for r in replies]
    assert {(r.json()["job_id"], r.json()["document_id"], r.json()["state"]) for r in replies} == \
        {(job_id, document, "reserved")}


def test_a_burst_of_wrong_pins_across_workers_does_not_get_past_the_lockout(province):
    citizen = province.seed["citizens"][0]
    wrong = f"{(int(citizen['pin']) + 1) % 1_000_000:06d}"
    replies = at_once(20, lambda n: province.post(n, "/kiosk/sessions", n % 2, {"nik": citizen["nik"], "pin": wrong}))
    codes = Counter(r.status_code for r in replies)
    assert codes == {401: MAX_FAILURES, 423: 20 - MAX_FAILURES}, codes
    assert sorted(r.json()["attempts_left"] for r in replies if r.status_code == 401) == list(range(MAX_FAILURES))
    right = province.post(0, "/kiosk/sessions", 0, {"nik": citizen["nik"], "pin": citizen["pin"]})
    assert right.status_code == 423 and right.json()["error"] == "locked"


def test_events_are_idempotent_under_concurrent_retries(province):
    citizen = province.seed["citizens"][1]
    session = province.post(0, "/kiosk/sessions", 1, {"nik": citizen["nik"], "pin": citizen["pin"]}).json()
    job_id, document = str(uuid.uuid4()), session["documents"][0]["id"]
    assert province.post(1, f"/kiosk/sessions/{session['session_id']}/jobs", 1,
                         {"job_id": job_id, "document_id": document}).status_code == 201
    retried = at_once(2, lambda n: province.post(n, f"/kiosk/sessions/{session['session_id']}/jobs", 1,
                                                 {"job_id": job_id, "document_id": document}))
    assert [r.status_code for r in retried] == [200, 200]
    event = {"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-11-22T10:00:00Z"}
    replies = at_once(16, lambda n: province.post(n, f"/kiosk/jobs/{job_id}/events", 1, event))
    assert [r.status_code for r in replies] == [200] * 16
    assert sorted(r.json()["duplicate"] for r in replies) == [False] + [True] * 15

    import psycopg
    with psycopg.connect(province.db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM job_events WHERE job_id = %s", (job_id,)).fetchone() == (1,)
        assert connection.execute("SELECT status FROM documents WHERE id = %s", (document,)).fetchone() == \
            ("printed",)


def test_the_session_rate_limit_holds_across_workers_and_servers(province):
    replies = at_once(40, lambda n: province.post(n, "/kiosk/sessions", 2,
                                                  {"nik": f"3273020101{90 + n // 10:02d}{n % 10 + 1:04d}",
                                                   "pin": "000000"}))
    codes = Counter(r.status_code for r in replies)
    assert codes == {401: 30, 429: 10}, codes


def test_half_open_requests_do_not_block_a_real_one(tmp_path):
    path = tmp_path / "dinas.db"
    seed_demo(str(path))
    process, url = _serve(str(path), str(tmp_path / "dinas.db.key"), 1, tmp_path / "serve.log")
    host, port = url.split("//")[1].split("/")[0].split(":")
    slow = []
    try:
        for n in range(200):
            sock = socket.create_connection((host, int(port)), timeout=5)
            # A request head that never ends, and a request whose body never comes.
            sock.sendall(b"POST /api/v1/kiosk/heartbeat HTTP/1.1\r\nHost: x\r\n" if n % 2 else
                         b"POST /api/v1/kiosk/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{")
            slow.append(sock)
        started = time.monotonic()
        reply = requests.get(f"{url}/openapi.yaml", timeout=10)
        assert reply.status_code == 200 and time.monotonic() - started < 5.0     # stuck threads: never
        assert process.poll() is None
    finally:
        for sock in slow:
            sock.close()
        _stop(process)


# --- the fleet page (dinas/web) on the same two servers --------------------------------------

def test_a_fleet_page_login_holds_on_every_worker_and_machine(province):
    """The session and its CSRF tokens live in the database: a form from server B logs in on
    server A, every worker of both serves the page, and a logout on B ends it on A."""
    from tests.fixtures.fleet_page import CSRF

    server_a, server_b = (url.removesuffix("/api/v1") for url in province.urls)
    browser = requests.Session()           # one cookie jar for both: same host, other ports
    form = browser.get(f"{server_b}/admin/login", timeout=30)
    reply = browser.post(f"{server_a}/admin/login", timeout=30, allow_redirects=False, data={
        "csrf_token": CSRF.search(form.text).group(1), "token": province.seed["admin_token"]})
    assert reply.status_code == 303, reply.text
    bases = (server_a, server_b)
    pages = at_once(10, lambda n: browser.get(f"{bases[n % 2]}/admin/", timeout=30, allow_redirects=False))
    assert [page.status_code for page in pages] == [200] * 10
    assert all("ADM-BDG-01" in page.text for page in pages)
    logout_csrf = re.search(r'action="/admin/logout".*?name="csrf_token" value="([^"]+)"', pages[1].text, re.S)
    session_cookie = browser.cookies.get("dinas_admin")
    reply = browser.post(f"{server_b}/admin/logout", data={"csrf_token": logout_csrf.group(1)}, timeout=30,
                         allow_redirects=False)
    assert reply.status_code == 303
    ended = requests.get(f"{server_a}/admin/", cookies={"dinas_admin": session_cookie}, timeout=30,
                         allow_redirects=False)
    assert ended.status_code == 303 and ended.headers["Location"] == "/admin/login"
