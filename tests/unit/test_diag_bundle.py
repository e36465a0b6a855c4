"""The diagnostics bundle: NIK-like strings refuse it whole, a new mount under the media
roots is the drive, an old one never is."""

from __future__ import annotations

import json

import pytest

from kiosk.diag_bundle import BundleRefused, RemovableDrives, bundle_document, nik_like, write_bundle


@pytest.mark.parametrize("text", ["3201014501900003", "3201 0145 0190 0003", "nik=3201-0145-0190-0003;",
                                  "NIK 3201014501900003.", "dicetak.3201014501900003"])
def test_nik_like_strings_are_found_however_grouped(text):
    assert nik_like(text)


@pytest.mark.parametrize("text", ["320101******0003", "12345678901234567", "2026-12-01T21:11:05Z",
                                  "1796159468.917921", "counters 1234 5678", '"latency_ms": 1.2345678901234567',
                                  json.dumps({"s": 3.0000000000000004, "t": 0.1234567890123456})])
def test_what_is_not_a_nik_is_let_through(text):
    assert not nik_like(text)


def test_a_planted_nik_refuses_the_bundle_and_writes_nothing(tmp_path):
    with pytest.raises(BundleRefused):
        write_bundle(tmp_path, {"note": "citizen 3201 0145 0190 0003"}, kiosk_id="K1")
    assert list(tmp_path.iterdir()) == []


def test_the_bundle_is_redacted_then_written_whole(tmp_path):
    document = bundle_document({"devices": {}, "pin": "482913"}, {"jobs": [{"name": "Siti", "nik": "3201014501900003"}]})
    path = write_bundle(tmp_path, document, kiosk_id="K1")
    text = path.read_text()
    assert "482913" not in text and "Siti" not in text and "3201014501900003" not in text
    assert json.loads(text)["journal"]["jobs"][0]["nik"] == "320101******0003"
    assert [p.name for p in tmp_path.iterdir()] == [path.name] and path.name.startswith("adm-diag-K1-")


def test_only_a_mount_made_since_under_the_media_roots_is_a_drive(tmp_path):
    mounts = tmp_path / "mounts"
    media = tmp_path / "media"
    (media / "usb").mkdir(parents=True)
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/old vfat rw 0 0\n")
    drives = RemovableDrives([media], mounts)
    assert drives.new_drive() is None
    mounts.write_text(mounts.read_text() + f"/dev/sdc1 {tmp_path}/elsewhere vfat rw 0 0\n")
    assert drives.new_drive() is None                       # not under a media root
    mounts.write_text(mounts.read_text() + f"/dev/sdd1 {media}/usb vfat rw 0 0\n")
    assert drives.new_drive() == media / "usb"
