"""One owner of the kiosk's devices at a time (kiosk/device_lock.py), with real processes:
a second owner is refused at once with the holder's pid and exit 75, having changed nothing
(no journal, no envelope applied, no report or heartbeat at the dinas); a SIGKILLed holder
leaves no lock behind; the commands that open no device keep working beside the kiosk."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.cli import main as adm_kiosk
from kiosk.config import load_config
from kiosk.app import KioskRuntime
from kiosk.device_lock import EXIT_DEVICES_IN_USE, LOCK_FILE, SERVICE, DeviceLock, DevicesInUse
from tests.fixtures.config_envelopes import CONFIG_GROUP as GROUP
from tests.fixtures.config_envelopes import CONFIG_KEY as KEY
from tests.fixtures.config_envelopes import kiosk_toml, payload, publish, spec_sign
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with

REPO = Path(__file__).resolve().parents[2]
# What any owner does: take the lock, say so, and keep it until the process ends.
HOLD = ("import sys, time\nfrom kiosk.device_lock import DeviceLock\n"
        "DeviceLock(sys.argv[1], sys.argv[2]).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n")


@pytest.fixture
def config_path(reference_server, tmp_path):
    return kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP)


@pytest.fixture
def holder(config_path):
    """Start another process holding the lock as `owner`; SIGKILLed at the end."""
    processes = []

    def start(owner: str = SERVICE, config: Path | None = None) -> subprocess.Popen:
        state_dir = load_config(config or config_path).kiosk.state_dir
        process = subprocess.Popen([sys.executable, "-c", HOLD, str(state_dir), owner], cwd=REPO,
                                   stdout=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout.readline().strip() == "held"
        return process
    yield start
    for process in processes:
        process.kill()
        process.wait(10)


def cli(capsys, config_path, *argv) -> tuple[int, str, str]:
    status = adm_kiosk(["--config", str(config_path), *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_config_sync_is_refused_while_another_process_owns_the_devices_then_runs_once_it_died(
        reference_server, config_path, holder, capsys):
    publish(reference_server, spec_sign(payload(3, groups=[GROUP], settings={"announcement": "dari dinas"}), [KEY]))
    service = holder(SERVICE)
    state_dir = load_config(config_path).kiosk.state_dir
    started = time.monotonic()
    status, out, err = cli(capsys, config_path, "config", "sync", "--once", "--device-timeout", "5")
    assert status == EXIT_DEVICES_IN_USE == 75, (out, err)
    assert time.monotonic() - started < 5                    # at once: no device waited for
    # The refusal is one line of its own (an earlier in-process command's log lines may precede it).
    refusal = [line for line in err.splitlines() if line.startswith("adm-kiosk config sync: ")]
    assert len(refusal) == 1 and f"pid {service.pid} (adm-kiosk run, since " in refusal[0], err
    assert "sudo systemctl stop adm-kiosk" in refusal[0] and "Nothing was changed" in refusal[0] and out == ""
    # nothing opened, nothing changed: no journal, no remote-config state, nothing at the dinas
    assert sorted(p.name for p in state_dir.iterdir()) == [LOCK_FILE]
    assert reference_server.query("SELECT COUNT(*) AS n FROM config_reports") == [{"n": 0}]
    assert reference_server.query("SELECT COUNT(*) AS n FROM heartbeats")[0]["n"] == 0
    # a command that opens no device works beside the service
    status, out, _ = cli(capsys, config_path, "config", "show", "--json")
    assert status == 0 and json.loads(out)["applied_version"] is None

    service.send_signal(signal.SIGKILL)          # a power cut, as far as the lock can tell
    service.wait(10)
    status, out, err = cli(capsys, config_path, "config", "sync", "--once", "--device-timeout", "5")
    assert status == 0 and "applied v3" in out, err
    assert reference_server.query("SELECT version, result FROM config_reports") == [{"version": 3, "result": "applied"}]
    assert (state_dir / LOCK_FILE).read_text() == ""           # released on the way out: no holder noted


def test_every_owner_is_refused_before_it_opens_a_device_and_the_others_work(reference_server, tmp_path, holder,
                                                                            capsys):
    # The card printer on a bare TCP listener: a command that opened it would leave a connection.
    card_printer = socket.create_server(("127.0.0.1", 0))
    config_path = kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP,
                             card="none")
    with config_path.open("a") as toml:
        toml.write(f'\n[devices.card_printer]\nurl = "socket://127.0.0.1:{card_printer.getsockname()[1]}"\n')
    other = holder("adm-kiosk config sync", config_path)
    for argv in (["diag"], ["maintenance", "status"], ["maintenance", "reject-card"], ["test-print", "card"],
                 ["config", "sync", "--once"], ["session", "--nik", "3201014501900003", "--pin", "123456"]):
        status, out, err = cli(capsys, config_path, *argv)
        assert status == EXIT_DEVICES_IN_USE, (argv, out, err)
        assert f"pid {other.pid} (adm-kiosk config sync, since " in err and "wait for it to finish" in err, argv
    assert select.select([card_printer], [], [], 0.2)[0] == [], "a refused command connected to the card printer"
    card_printer.close()
    status, out, err = cli(capsys, config_path, "maintenance", "audit", "--json")
    assert status == 0 and json.loads(out) == [], err          # reject-card refused before the PIN: no audit row
    status, _, err = cli(capsys, config_path, "test-print", "card", "--url", "sim:card_printer")
    assert status == EXIT_DEVICES_IN_USE, err                   # --url with a configuration: maybe its own device


def test_a_running_headless_kiosk_blocks_a_second_run_and_config_sync(reference_server, tmp_path):
    # Slow card panels: the session is still printing while the others try.
    config_path = kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP,
                             card="panel_seconds=4")
    citizen = citizen_with(reference_server, "KIA")
    command = [sys.executable, "-m", "kiosk.cli", "--config", str(config_path)]
    log = tmp_path / "session.stderr"
    with log.open("w") as stderr:
        session = subprocess.Popen([*command, "session", "--nik", citizen["nik"], "--pin", citizen["pin"]],
                                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 30
        while not reference_server.query("SELECT job_id FROM jobs WHERE document_id = ?",
                                         citizen["documents"][0]["id"]):     # the card is being made
            assert session.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}     # refused before any window
        second = subprocess.run([*command, "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == EXIT_DEVICES_IN_USE, second.stderr[-2000:]
        assert second.stderr.startswith("adm-kiosk run: ") and f"pid {session.pid} (adm-kiosk session" in second.stderr
        sync = subprocess.run([*command, "config", "sync", "--once"], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
        assert sync.returncode == EXIT_DEVICES_IN_USE and f"pid {session.pid}" in sync.stderr, sync.stderr[-2000:]
        assert session.poll() is None, "the session's card was disturbed"
        lock = load_config(config_path).kiosk.state_dir / LOCK_FILE
        assert json.loads(lock.read_text())["pid"] == session.pid
    finally:
        session.kill()
        session.wait(10)
    with DeviceLock(lock.parent, "test") as after:              # SIGKILLed mid-print: no stale lock
        assert after.held


def test_root_leaves_a_lock_file_the_service_user_can_open(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: the file must be handed to the state folder's owner")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    os.chown(state_dir, 65534, 65534)             # as /var/lib/adm-kiosk belongs to adm-kiosk
    with DeviceLock(state_dir, "adm-kiosk config sync"):
        noted = json.loads((state_dir / LOCK_FILE).read_text())
        assert noted["pid"] == os.getpid() and noted["owner"] == "adm-kiosk config sync"
    mode = (state_dir / LOCK_FILE).stat()
    assert (mode.st_uid, mode.st_gid) == (65534, 65534)


def test_a_state_folder_that_cannot_hold_the_lock_refuses_the_commands_but_not_the_service(
        reference_server, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")                       # state_dir below a file: nothing can be created there
    config_path = kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP)
    config_path.write_text(config_path.read_text().replace('state_dir = "state"', f'state_dir = "{blocker}/state"'))
    status, out, err = cli(capsys, config_path, "config", "sync", "--once", "--device-timeout", "5")
    assert status == 2 and f"{blocker}/state/{LOCK_FILE} cannot be opened (NotADirectoryError" in err, (out, err)
    assert reference_server.query("SELECT COUNT(*) AS n FROM heartbeats")[0]["n"] == 0
    # the service starts anyway, out of service (its journal cannot be opened either), and says why
    runtime = KioskRuntime.from_config(load_config(config_path), owner=SERVICE)
    try:
        assert not runtime.device_lock.held and runtime.journal.unavailable
    finally:
        runtime.stop()


def test_a_read_only_state_folder_still_locks(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a test filesystem needs root")
    folder = tmp_path / "state"
    folder.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True,
                           text=True, timeout=30)
    if mount.returncode != 0:
        pytest.skip(f"mount not permitted here: {mount.stderr.strip()}")
    try:
        DeviceLock(folder, "adm-kiosk diag").acquire().release()        # the file exists, emptied
        assert subprocess.run(["mount", "-o", "remount,ro", str(folder)], timeout=30).returncode == 0
        with DeviceLock(folder, SERVICE) as service:                    # opened read-only: flock needs no write
            assert service.held
            with pytest.raises(DevicesInUse, match=r"another process \(its pid is not noted\)") as refused:
                DeviceLock(folder, "adm-kiosk config sync").acquire()
            assert refused.value.exit_status == EXIT_DEVICES_IN_USE
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)
