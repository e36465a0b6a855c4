"""`adm-dinas`: every command, and one clear line with a non-zero exit for bad input."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dinas import cli
from dinas.documents import kia_pdf, kk_pdf
from dinas.seed import demo_families

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_db(tmp_path, capsys):
    path = tmp_path / "dinas.db"
    assert cli.main(["seed-demo", "--db", str(path), "--json"]) == 0
    seed = json.loads(capsys.readouterr().out)
    return path, seed


@pytest.fixture
def pdfs(tmp_path):
    family = demo_families()[2][0]
    kk, kia = tmp_path / "kk.pdf", tmp_path / "kia.pdf"
    kk.write_bytes(kk_pdf(family, "Disdukcapil"))
    kia.write_bytes(kia_pdf(family, family.members[3], "Disdukcapil"))
    return str(kk), str(kia)


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_application_create_sends_the_message_without_showing_the_pin(demo_db, pdfs, capsys):
    path, _ = demo_db
    code, out, _ = run(capsys, "application", "create", "--db", str(path), "--nik", "3273024203990002",
                       "--name", "Dewi Lestari", "--phone", "081100000707", "--kk", pdfs[0], "--kia", pdfs[1])
    assert code == 0
    request_no = re.search(r"request (REQ-\d{8}-[A-Z0-9]{6})", out).group(1)
    assert f"ADM1:{request_no}" in out and "+62811*****707" in out
    assert "Dewi Lestari" not in out and not re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", out.replace(request_no, ""))
    code, out, _ = run(capsys, "messages", "--db", str(path), "--last", "1")
    pin = re.search(r"PIN: \*(\d{6})\*", out).group(1)        # only the notifier's copy has it
    assert code == 0 and out.count("--- #") == 1 and request_no in out and pin in out
    code, out, _ = run(capsys, "messages", "--db", str(path))
    assert out.count("--- #") == 6                 # the five demo families and this one


def test_kiosk_add_prints_a_token_that_works(demo_db, capsys):
    path, _ = demo_db
    code, out, _ = run(capsys, "kiosk", "add", "--db", str(path), "--kiosk-id", "ADM-NEW-9", "--group", "baru")
    token = out.strip()
    assert code == 0 and re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    code, _, err = run(capsys, "kiosk", "add", "--db", str(path), "--kiosk-id", "ADM-NEW-9")
    assert code == 2 and "already exists" in err
    code, out, _ = run(capsys, "fleet", "--db", str(path))
    assert code == 0 and "ADM-NEW-9" in out and "baru" in out and "never" in out
    code, out, _ = run(capsys, "fleet", "--db", str(path), "--json")
    assert len(json.loads(out)["kiosks"]) == 4


def test_settings_change_the_message(demo_db, capsys):
    path, _ = demo_db
    code, out, _ = run(capsys, "settings", "--db", str(path), "--dinas-name", "Disdukcapil Kabupaten Contoh")
    assert code == 0 and "dinas_name: Disdukcapil Kabupaten Contoh" in out


@pytest.mark.parametrize("argv,message", [
    (["messages", "--db", "{tmp}/none.db"], "no database at"),
    (["fleet", "--db", "{tmp}/none.db"], "no database at"),
    (["seed-demo", "--db", "{tmp}/no/such/dir/x.db"], "does not exist"),
    (["kiosk", "add", "--db", "{db}", "--kiosk-id", "bad id!"], "--kiosk-id"),
    (["messages", "--db", "{db}", "--last", "0"], "--last"),
    (["application", "create", "--db", "{db}", "--nik", "123", "--name", "A", "--phone", "0811", "--kk", "{kk}"],
     "--nik"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "A1", "--phone", "0811",
      "--kk", "{kk}"], "--name"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "Ani", "--phone", "0811"],
     "at least one document"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "Ani", "--phone", "0811",
      "--kk", "{tmp}/missing.pdf"], "cannot read"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "Ani", "--phone", "0811",
      "--kk", "{kk}"], "phone"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "Ani",
      "--phone", "081100000808", "--kia", "{kk}"], "2 pages"),
    (["application", "create", "--db", "{db}", "--nik", "3273024203990002", "--name", "Ani",
      "--phone", "081100000808", "--kk", "{kk}", "--valid-days", "0"], "--valid-days"),
])
def test_bad_input_is_one_line_and_exit_2(demo_db, pdfs, tmp_path, capsys, argv, message):
    path, _ = demo_db
    argv = [a.format(tmp=tmp_path, db=path, kk=pdfs[0]) for a in argv]
    before = path.stat().st_size
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err
    assert err.startswith("adm-dinas: error: ") and err.count("\n") == 1
    assert path.stat().st_size == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_the_api_over_http(demo_db, tmp_path):
    path, seed = demo_db
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "dinas.cli", "serve", "--db", str(path), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = requests.get(f"http://127.0.0.1:{port}/api/v1/admin/kiosks", timeout=20,
                                     headers={"Authorization": f"Bearer {seed['admin_token']}"})
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "adm-dinas serve did not start"
                time.sleep(0.1)
        assert reply.status_code == 200 and len(reply.json()["kiosks"]) == 3
        citizen = seed["citizens"][0]
        session = requests.post(f"http://127.0.0.1:{port}/api/v1/kiosk/sessions", timeout=5,
                                json={"nik": citizen["nik"], "pin": citizen["pin"]},
                                headers={"Authorization": f"Bearer {seed['kiosks'][0]['token']}"})
        assert session.status_code == 201
        login_page = requests.get(f"http://127.0.0.1:{port}/admin/login", timeout=20)     # the same app
        assert login_page.status_code == 200 and 'name="token"' in login_page.text
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    logs = err.decode()
    assert f"the fleet page for admins: http://127.0.0.1:{port}/admin" in logs
    assert "session opened" in logs and citizen["nik"] not in logs and citizen["pin"] not in logs
    assert citizen["nik"][:6] + "******" + citizen["nik"][-4:] in logs


def test_serve_on_a_new_database_prints_an_admin_token_once(tmp_path):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "dinas.cli", "serve", "--db", str(tmp_path / "new.db"),
                                "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = process.stdout.readline().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert re.fullmatch(r"admin token \(shown once, keep it safe\): [A-Za-z0-9_-]{40,}\n", line)


def test_the_server_log_masks_a_nik_in_a_traceback():
    import io
    import logging

    from dinas.cli import MaskingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("dinas.test-masking")
    log.addHandler(handler)
    try:
        try:
            raise KeyError("3273021203840011")
        except KeyError:
            log.exception("lookup failed for %s", "3273021203840011")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "3273021203840011" not in text
    assert text.count("327302******0011") == 3   # the message, the source line, the exception
