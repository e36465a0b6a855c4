"""A state folder that fills up or turns read-only, on small real filesystems (no mocks).

- a size-limited tmpfs (`mount -t tmpfs -o size=…`) filled with a ballast file: below
  `kiosk.state_min_free_mb` at start, or filled to the last byte while a card is inside the
  printer;
- an ext4 image on a loop device mounted `errors=remount-ro`, made read-only mid-print by
  the kernel itself (`/sys/fs/ext4/<dev>/trigger_fs_error`), exactly as a disk error does in
  the field, with the journal open.

The kiosk runs in-process against the reference dinas, with the card printer simulator
behind a real socket (slowed, so the card is inside while the folder fails). Skipped, with
the reason, only where mounting is not permitted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.session_headless import run_headless_session
from kiosk.session_model import Screen
from kiosk.storage import RESERVE_FILE
from tests.fixtures.crash import dinas_record, kk_and_kia_citizen
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with, write_kiosk_config

MB = 1024 * 1024


def _mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a test filesystem needs root")
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"mount not permitted here: {result.stderr.strip()}")


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 24 MB tmpfs: the kiosk's whole state folder."""
    mount = tmp_path / "state-tmpfs"
    mount.mkdir()
    _mount("-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount))
    yield mount
    _umount(mount)


@pytest.fixture
def ext4_loop(tmp_path):
    """A 32 MB ext4 on a loop device that the kernel remounts read-only on an error."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 (e2fsprogs) not installed")
    image, mount = tmp_path / "state.ext4", tmp_path / "state-ext4"
    mount.mkdir()
    with image.open("wb") as handle:
        handle.truncate(32 * MB)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True, timeout=60)
    _mount("-o", "loop,errors=remount-ro", str(image), str(mount))
    device = next(line.split()[0] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1] == str(mount))
    yield mount, image, Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    _umount(mount)


@pytest.fixture
def card_printer(tmp_path):
    """The card printer behind a socket, 0.4 s a panel: a card is inside for about 3 s, time
    enough, even on a loaded machine, to fail the folder while it is there."""
    simulator = EvolisSimulator(out_dir=tmp_path / "cards", panel_seconds=0.4)
    with serve_socket(simulator) as link:
        yield simulator, link.url


def kiosk_config(server, directory: Path, state_dir: Path, card_url: str, min_free_mb: int = 8,
                 a4: str = "") -> Path:
    path = write_kiosk_config(server, directory, card="none", receipt="none", a4=a4)
    text = path.read_text().replace('state_dir = "state"',
                                    f'state_dir = "{state_dir}"\nstate_min_free_mb = {min_free_mb}')
    path.write_text(text + f'\n[devices.card_printer]\nurl = "{card_url}"\n')
    return path


def fill(directory: Path, leave: int = 0) -> Path:
    """A ballast file taking all the free space but `leave` bytes (to the last block when 0)."""
    ballast = directory / "ballast"
    stat = os.statvfs(directory)
    target = max(stat.f_bavail * stat.f_frsize - leave, 0)
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while target > 0:
            target -= os.write(fd, b"\xff" * min(target, MB))
        while not leave:
            os.write(fd, b"\xff" * 4096)
    except OSError:
        pass                                # full
    finally:
        os.close(fd)
    return ballast


def start(config: Path) -> KioskRuntime:
    runtime = KioskRuntime.from_config(load_config(config), outbox_base_delay=0.05)
    runtime.start()
    return runtime


@contextmanager
def running(config: Path) -> Iterator[KioskRuntime]:
    """The kiosk started in-process on `config`, stopped after."""
    runtime = start(config)
    try:
        yield runtime
    finally:
        runtime.stop()


def wait_until(condition, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def session_in_thread(runtime, citizen, kinds=("KIA",)):
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(result=run_headless_session(
        runtime.engine, nik=citizen["nik"], pin=citizen["pin"], kinds=kinds, print_timeout=60)))
    thread.start()
    return thread, box


def dinas_document(server, document_id):
    """The document at the dinas: its jobs' states and its status."""
    return dinas_record(server, document_id)[:2]


def storage_at_dinas(server) -> dict:
    """The storage status the dinas last heard from kiosk 0 (its heartbeat's devices)."""
    [kiosk] = server.query("SELECT devices FROM kiosks WHERE kiosk_id = ?", server.kiosks[0]["kiosk_id"])
    return json.loads(kiosk["devices"])["storage"]


def turn_read_only(mount: Path, trigger: Path) -> None:
    """The kernel remounts the ext4 folder read-only, as on a disk error; no write gets through."""
    trigger.write_text("1")
    with pytest.raises(OSError):
        (mount / "probe").write_bytes(b"x")


def storage_fault(runtime) -> str | None:
    status = runtime.heartbeat.payload()["devices"]["storage"]
    return status["faults"][0]["code"] if status["faults"] else None


def test_below_the_free_space_mark_at_start_the_kiosk_is_out_of_service_until_space_returns(
        reference_server, small_tmpfs, card_printer, tmp_path):
    _, url = card_printer
    citizen = citizen_with(reference_server, "KK", "KIA")
    config = kiosk_config(reference_server, tmp_path, small_tmpfs, url, min_free_mb=8)
    ballast = fill(small_tmpfs, leave=3 * MB)

    with running(config) as runtime:
        view = runtime.engine.view
        assert view.screen == Screen.OUT_OF_SERVICE and view.message.key == "out_of_service.storage"
        assert storage_fault(runtime) == "storage_full"
        assert runtime.heartbeat.send_now()
        at_dinas = storage_at_dinas(reference_server)
        assert at_dinas["state"] == "hardware_error" and at_dinas["faults"][0]["code"] == "storage_full"
        result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
        assert result.screen == "out_of_service" and result.documents == []

        ballast.unlink()                    # a technician makes room
        runtime.housekeeping.run_once()     # what the 30 s housekeeping tick does
        runtime.engine.wait_idle()
        assert runtime.engine.view.screen == Screen.ATTRACT and storage_fault(runtime) is None
        assert (small_tmpfs / RESERVE_FILE).stat().st_size == 4 * MB     # the reserve is back


def test_filling_up_while_a_card_is_printing_still_journals_it_then_goes_out_of_service(
        reference_server, small_tmpfs, card_printer, tmp_path):
    simulator, url = card_printer
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, small_tmpfs, url, min_free_mb=8)
    with running(config) as runtime:
        assert runtime.engine.view.screen == Screen.ATTRACT and (small_tmpfs / RESERVE_FILE).exists()
        thread, box = session_in_thread(runtime, citizen)
        wait_until(lambda: simulator.snapshot()["panels"] >= 2, what="the card inside the printer")
        fill(small_tmpfs)                   # not one block left
        assert simulator.snapshot()["panels"] < 7, "the card finished before the folder filled"
        assert os.statvfs(small_tmpfs).f_bavail < 4
        thread.join(60)

        [kia_outcome] = [d for d in box["result"].documents if d.kind == "KIA"]
        assert kia_outcome.result == "printed"
        [job] = runtime.journal.jobs()
        assert job.state == "printed"       # the reserve gave the last writes their room
        assert not (small_tmpfs / RESERVE_FILE).exists()
        assert runtime.outbox.flush(20)
        assert dinas_document(reference_server, kia) == (["printed"], "printed")
        view = runtime.engine.view          # after the session, not before
        assert view.screen == Screen.OUT_OF_SERVICE and view.message.key == "out_of_service.storage"
        assert storage_fault(runtime) == "storage_full"
        assert simulator.snapshot()["cards"] == 1


def test_turning_read_only_mid_print_never_says_failed_for_a_card_that_came_out(
        reference_server, ext4_loop, card_printer, tmp_path):
    mount, image, trigger = ext4_loop
    simulator, url = card_printer
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, mount, url, min_free_mb=1)
    with running(config) as runtime:
        thread, box = session_in_thread(runtime, citizen)
        wait_until(lambda: simulator.snapshot()["panels"] >= 2 and runtime.outbox.depth() == 0,
                   what="the card inside and `printing` delivered")
        assert simulator.snapshot()["panels"] < 7, "the card finished before the folder failed"
        turn_read_only(mount, trigger)
        thread.join(60)

        [kia_outcome] = [d for d in box["result"].documents if d.kind == "KIA"]
        assert (kia_outcome.result, kia_outcome.reason) == ("printed", None)
        assert runtime.journal.job(runtime.journal.jobs()[0].job_id).state == "sending"   # not written
        assert runtime.outbox.flush(20)     # `printed` went from memory
        assert dinas_document(reference_server, kia) == (["printed"], "printed")
        view = runtime.engine.view
        assert view.screen == Screen.OUT_OF_SERVICE and view.message.key == "out_of_service.storage"
        assert storage_fault(runtime) == "storage_unwritable"

    # repaired (fsck, mounted again): recovery settles the open job from the card counters
    _umount(mount)
    subprocess.run(["e2fsck", "-f", "-y", str(image)], capture_output=True, timeout=60)
    _mount("-o", "loop,errors=remount-ro", str(image), str(mount))
    with running(config) as runtime:
        assert [(r.was, r.now) for r in runtime.recovered] == [("sending", "printed")]
        assert runtime.outbox.flush(20)
        assert runtime.engine.view.screen == Screen.ATTRACT
    assert dinas_document(reference_server, kia) == (["printed"], "printed")
    assert simulator.snapshot()["cards"] == 1       # one card, never a second


def test_turning_read_only_while_a_page_prints_never_says_failed_for_the_page_that_came_out(
        reference_server, ext4_loop, card_printer, tmp_path):
    """The same for the A4 printer: the folder fails while the print server has the KK (its
    IPP job id journaled), the page comes out, the citizen is told so and `printed` reaches
    the dinas from memory."""
    mount, _, trigger = ext4_loop
    _, url = card_printer
    citizen = citizen_with(reference_server, "KK")
    kk = citizen["documents"][0]["id"]
    config = kiosk_config(reference_server, tmp_path, mount, url, min_free_mb=1, a4="slow=3")
    with running(config) as runtime:
        a4 = runtime.devices.printer("a4_printer").simulator
        thread, box = session_in_thread(runtime, citizen, kinds=("KK",))
        wait_until(lambda: a4.jobs_received == 1 and runtime.outbox.depth() == 0
                   and runtime.journal.jobs()[0].device_job, what="the page printing, its job id journaled")
        turn_read_only(mount, trigger)
        assert not list((tmp_path / "printed" / "a4_printer").glob("*.pdf")), "the page came out too soon"
        thread.join(60)

        [outcome] = box["result"].documents
        assert (outcome.kind, outcome.result, outcome.reason) == ("KK", "printed", None)
        assert len(list((tmp_path / "printed" / "a4_printer").glob("*.pdf"))) == 1
        assert runtime.journal.job(runtime.journal.jobs()[0].job_id).state == "sending"   # not written
        assert runtime.outbox.flush(20)     # `printed` went from memory
        assert dinas_document(reference_server, kk) == (["printed"], "printed")
        view = runtime.engine.view
        assert view.screen == Screen.OUT_OF_SERVICE and storage_fault(runtime) == "storage_unwritable"


def test_read_only_before_the_print_starts_sends_nothing_and_tells_the_citizen(
        reference_server, ext4_loop, card_printer, tmp_path):
    mount, _, trigger = ext4_loop
    simulator, url = card_printer
    citizen, kia = kk_and_kia_citizen(reference_server, "KIA")
    config = kiosk_config(reference_server, tmp_path, mount, url, min_free_mb=1)
    with running(config) as runtime:
        result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"], kinds=("KIA",),
                                      on_confirm=lambda: trigger.write_text("1"))
        [kia_outcome] = [d for d in result.documents if d.kind == "KIA"]
        assert (kia_outcome.result, kia_outcome.reason) == ("failed", "storage")
        assert simulator.snapshot()["cards"] == 0                    # no card moved
        assert runtime.outbox.flush(20)
        assert dinas_document(reference_server, kia) == ([], "ready")
        assert runtime.engine.view.message.key == "out_of_service.storage"


def test_a_state_folder_read_only_at_start_shows_out_of_service_and_heals_only_with_a_restart(
        reference_server, small_tmpfs, card_printer, tmp_path):
    _, url = card_printer
    config = kiosk_config(reference_server, tmp_path, small_tmpfs, url, min_free_mb=1)
    start(config).stop()                                    # a journal as a kiosk leaves it
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True).returncode == 0

    with running(config) as runtime:                        # the real journal cannot be opened
        assert runtime.journal.unavailable
        view = runtime.engine.view
        assert view.screen == Screen.OUT_OF_SERVICE and view.message.key == "out_of_service.storage"
        assert storage_fault(runtime) == "storage_unwritable"
        assert runtime.heartbeat.send_now()                 # the dinas hears of it
        assert storage_at_dinas(reference_server)["faults"][0]["code"] == "storage_unwritable"
        subprocess.run(["mount", "-o", "remount,rw", str(small_tmpfs)], check=True, capture_output=True)
        runtime.housekeeping.run_once()                     # writable again, but this run has no journal
        runtime.engine.wait_idle()
        assert runtime.engine.view.screen == Screen.OUT_OF_SERVICE
    with running(config) as runtime:
        assert runtime.journal.unavailable is None and runtime.engine.view.screen == Screen.ATTRACT
