"""The state folder's guard on an ordinary folder: the free-space mark, change events only on
a change, and the reserve made when there is room (the full and read-only cases run on real
small filesystems in tests/service/test_storage_faults.py)."""

from kiosk.storage import RESERVE_BYTES, Reserve, StorageGuard


def test_healthy_then_below_the_mark_then_healthy_again_publishing_only_changes(tmp_path):
    reserve = Reserve(tmp_path / "journal.reserve")
    guard = StorageGuard(tmp_path, min_free_mb=1, reserve=reserve)
    seen = []
    guard.status_events.subscribe(seen.append)
    assert guard.check().usable and guard.check().usable
    assert len(seen) == 1 and reserve.held and (tmp_path / "journal.reserve").stat().st_size == RESERVE_BYTES
    assert guard.status.capabilities["free_mb"] > 1 and guard.status.capabilities["reserve"]
    assert not (tmp_path / ".write-probe").exists()            # the probe cleans up after itself

    guard.min_free_mb = 10 ** 9                                # no disk has a petabyte free
    status = guard.check()
    assert not status.usable and status.faults[0].code.value == "storage_full"
    assert "kiosk.state_min_free_mb" in status.faults[0].detail
    guard.min_free_mb = 1
    assert guard.check().usable and len(seen) == 3


def test_a_stand_in_journal_keeps_the_kiosk_out_of_service_whatever_the_folder_does(tmp_path):
    guard = StorageGuard(tmp_path, min_free_mb=1, journal_unavailable="OperationalError: unable to open")
    status = guard.check()
    assert status.faults[0].code.value == "storage_unwritable" and "restart the kiosk" in status.faults[0].detail
