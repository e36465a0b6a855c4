"""Methods replaced on their class or module for a measurement, and put back afterwards
(benchmarks.phase_timing's timer and benchmarks.wait_timeline's call recorder)."""

from __future__ import annotations


class MethodPatches:
    def __init__(self) -> None:
        self._originals: list[tuple[object, str, object]] = []

    def patch(self, owner: object, name: str, replacement: object) -> None:
        self._originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def unwrap(self) -> None:
        """Newest first, so a method patched twice gets its very first self back."""
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals.clear()
