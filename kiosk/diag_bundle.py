"""The redacted diagnostics bundle a technician takes away on a USB stick (issue 12).

    drives = RemovableDrives()                 # the mounts present now
    target = drives.new_drive()                # a drive mounted since, or None (poll it)
    path = write_bundle(target, bundle_document(runtime_report, export))   # scanned, then written

The bundle is one JSON file: every diagnostic figure (kiosk/diagnostics.py) and the journal's
records as `maintenance export-logs` redacts them (personal keys dropped, digit runs masked).
Before anything is written the whole text is scanned for NIK-like strings (16 digits, also
spaced or dashed as people write them): one found means the bundle is refused and nothing is
written, whatever put it there. The file is written under a temporary name, flushed to the
device, renamed, and the folder flushed too; then it is safe to pull the stick out.

A removable drive is a filesystem newly mounted under one of MEDIA_ROOTS (where the desktop's
automounter, udisks, puts USB sticks) since the technician asked: the kiosk never writes to a
mount that was already there (the system's own disks).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from .journal import utc_iso

MEDIA_ROOTS = (Path("/media"), Path("/run/media"), Path("/mnt"))
MOUNTS = Path("/proc/self/mounts")
# 16 digits, possibly grouped with spaces or dashes as people write them (3201 0145 0190 0003).
# Not the fraction of a number: a float's repr often has exactly 16 digits after the point
# (a latency of 1.2345678901234567 ms), which refused one bundle in a few at random.
NIK_LIKE = re.compile(r"(?<![0-9])(?<![0-9]\.)[0-9](?:[ -]?[0-9]){15}(?![0-9])")


class BundleRefused(Exception):
    """The bundle would carry what looks like personal data: nothing was written."""


def _unescape(field: str) -> str:
    """/proc/mounts escapes spaces and such as octal (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_points(mounts: Path = MOUNTS) -> set[Path]:
    points = set()
    for line in mounts.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 2:
            points.add(Path(_unescape(fields[1])))
    return points


class RemovableDrives:
    def __init__(self, roots: Iterable[Path] = MEDIA_ROOTS, mounts: Path = MOUNTS) -> None:
        self._roots = tuple(Path(r) for r in roots)
        self._mounts = mounts
        self._before = mount_points(mounts)

    def _under_roots(self, point: Path) -> bool:
        return any(point != root and point.is_relative_to(root) for root in self._roots)

    def new_drive(self) -> Path | None:
        """A writable filesystem mounted under the media roots since this was made."""
        for point in sorted(mount_points(self._mounts) - self._before):
            if self._under_roots(point) and os.access(point, os.W_OK):
                return point
        return None


def nik_like(text: str) -> list[str]:
    return NIK_LIKE.findall(text)


def bundle_document(report: Mapping[str, Any], export: Mapping[str, Any]) -> dict[str, Any]:
    """The figures and the journal's records, both through the export's redaction."""
    from .commands.maintenance import redact

    return {"kind": "adm-kiosk diagnostics bundle", "written_at": utc_iso(),
            "diagnostics": redact(report), "journal": redact(export)}


def write_bundle(folder: Path, document: Mapping[str, Any], *, kiosk_id: str) -> Path:
    """Scan, then write the bundle whole into `folder`; returns its path. Raises
    BundleRefused (nothing written) or OSError (a partial file is removed)."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if found := nik_like(text):
        raise BundleRefused(f"{len(found)} NIK-like string(s) in the bundle: not written")
    stamp = utc_iso().replace(":", "").replace("-", "")
    target = folder / f"adm-diag-{kiosk_id}-{stamp}.json"
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".adm-diag-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
