"""What every printer driver offers the kiosk core.

A driver is built from its connection URL, does blocking I/O with timeouts, and is only
ever called from its own `devices.worker.DeviceWorker` thread. Failures are raised as
`devices.status.DeviceError` carrying a fault code; nothing above a driver parses device
replies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Mapping

from devices.status import DeviceStatus

# Progress steps a driver may report while printing; the UI shows them to the citizen.
STEP_SENDING = "sending"
STEP_PRINTING = "printing"
STEP_PRINTING_FRONT = "printing_front"
STEP_PRINTING_BACK = "printing_back"
STEP_EJECTING = "ejecting"
STEP_CUTTING = "cutting"

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class PrintJob:
    job_id: str          # the kiosk's UUID for this print, also sent to the dinas
    kind: str            # KK, KIA, TEST, ...
    pdf: bytes           # verified document bytes; held in memory only
    title: str = ""      # shown in the printer's queue; never a name or a NIK


@dataclass(frozen=True)
class PrintResult:
    """A finished print. `counters_after` lets crash recovery compare with the journal."""

    job_id: str
    counters_after: Mapping[str, int] = field(default_factory=dict)
    detail: Mapping[str, object] = field(default_factory=dict)


class Printer(ABC):
    role: str = "printer"

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def status(self) -> DeviceStatus:
        """Ask the device now; never raises for a device that is merely unwell."""

    @abstractmethod
    def print_document(self, job: PrintJob, progress: ProgressCallback | None = None) -> PrintResult:
        """Print and wait until the device says it is done. Raises DeviceError on failure."""

    def counters(self) -> Mapping[str, int]:
        """Lifetime counters the device keeps (cards inserted, pages…); {} when it keeps none.
        Read just before sending, they let a crash mid-print be settled afterwards."""
        return {}

    def close(self) -> None:
        """Release the transport; the next call opens it again."""
