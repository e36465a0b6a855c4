"""Who may enter maintenance (the technician) or assisted mode (the kecamatan operator) at
the kiosk itself, by PIN slot, and the audit trail of what they then do (issue 12).

    access = StaffAccess(journal, lambda: running_settings, emergency_hash=cfg.kiosk.emergency_technician_pin_hash,
                         in_session=lambda: engine.in_session)
    access.may_ask(TECHNICIAN)        # None: show the PIN pad; else why not (in session, none set, locked)
    answer = access.try_pin("482913", TECHNICIAN)     # scrypt: call it off the UI thread
    access.record(answer.slot, "test_print", {...})    # audited as the slot that got in

PIN slots: `technician` (settings.technician_pin_hash, from the signed remote configuration),
`technician_emergency` ([kiosk] emergency_technician_pin_hash in kiosk.toml, for a kiosk that
never received a remote configuration or lost its dinas) and `operator`
(settings.operator_pin_hash). A slot with no hash cannot be entered: no PIN configured is no
way in, never an open door.

Wrong PINs are slowed (the citizen PIN's own growing pause, `settings.pin_slowdown_*`), and
after LOCK_AFTER wrong ones in a row every slot is locked for LOCK_S seconds. Each wrong PIN
and the lock are audited (never the PIN). The lock is kept in the journal, so switching the
kiosk off and on does not lift it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, Mapping

from .journal import Journal
from .session_support import PinSlowdown
from .settings import Settings, pin_matches

TECHNICIAN, TECHNICIAN_EMERGENCY, OPERATOR = "technician", "technician_emergency", "operator"
ROLES = (TECHNICIAN, OPERATOR)          # what a person asks to enter as
ANY = "any"                             # either: the slot that matches decides
LOCK_AFTER = 5                          # wrong PINs in a row, then every slot is locked
LOCK_S = 900.0
LOCK_ACTION = "staff_pin_locked"
SLOWDOWN_KEY = "staff"                  # one pause for all slots: guessing is guessing


class Outcome(StrEnum):
    GRANTED = "granted"
    WRONG = "wrong"
    WAIT = "wait"                       # slowed: the next try is accepted in wait_s
    LOCKED = "locked"
    NONE_CONFIGURED = "none_configured"
    IN_SESSION = "in_session"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    slot: str | None = None             # the PIN slot that matched
    role: str | None = None             # technician | operator: what it opens
    wait_s: int = 0
    locked_for_s: int = 0

    @property
    def granted(self) -> bool:
        return self.outcome is Outcome.GRANTED


class StaffAccess:
    def __init__(self, journal: Journal, settings: Callable[[], Settings], *,
                 emergency_hash: str | None = None, in_session: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.time, lock_after: int = LOCK_AFTER,
                 lock_s: float = LOCK_S) -> None:
        self._journal = journal
        self._settings = settings
        self._emergency_hash = emergency_hash
        self._in_session = in_session
        self._clock = clock
        self._lock_after, self._lock_s = lock_after, lock_s
        current = settings()
        self._slowdown = PinSlowdown(current.pin_slowdown_base_s, current.pin_slowdown_cap_s, clock=clock)
        self._wrong_in_a_row = 0
        self._locked_until = self._lock_from_journal()

    def _lock_from_journal(self) -> float:
        for row in self._journal.audit_trail(limit=200):
            if row["action"] == LOCK_ACTION and isinstance(row["detail"], Mapping):
                return float(row["detail"].get("until", 0.0))
        return 0.0

    # --- the slots -----------------------------------------------------------------------------
    def hashes(self, role: str) -> dict[str, str]:
        """{slot: hash} a person asking to enter as `role` may match."""
        settings = self._settings()
        if role == ANY:
            return {**self.hashes(TECHNICIAN), **self.hashes(OPERATOR)}
        if role == TECHNICIAN:
            found = {TECHNICIAN: settings.technician_pin_hash, TECHNICIAN_EMERGENCY: self._emergency_hash}
        elif role == OPERATOR:
            found = {OPERATOR: settings.operator_pin_hash}
        else:
            raise ValueError(f"role is one of {', '.join(ROLES)}, not {role!r}")
        return {slot: value for slot, value in found.items() if value}

    def configured(self, role: str) -> bool:
        return bool(self.hashes(role))

    def _roles(self, role: str) -> tuple[str, ...]:
        """ANY: the one PIN pad of the hidden gesture, where the slot says who came in."""
        return ROLES if role == ANY else (role,)

    def locked_for_s(self) -> int:
        return max(0, int(self._locked_until - self._clock() + 0.999))

    def may_ask(self, role: str) -> Answer | None:
        """None when the PIN pad may be shown; else why not."""
        if self._in_session():
            return Answer(Outcome.IN_SESSION)
        if not any(self.configured(r) for r in self._roles(role)):
            return Answer(Outcome.NONE_CONFIGURED)
        if (locked := self.locked_for_s()) > 0:
            return Answer(Outcome.LOCKED, locked_for_s=locked)
        return None

    # --- a try -----------------------------------------------------------------------------------
    def try_pin(self, pin: str, role: str) -> Answer:
        """Check `pin` against `role`'s slots (ANY: every slot, technician first). Blocking
        (scrypt): never on the UI thread."""
        refusal = self.may_ask(role)
        if refusal is not None:
            return refusal
        if (wait := self._slowdown.wait_s(SLOWDOWN_KEY)) > 0:
            return Answer(Outcome.WAIT, wait_s=wait)
        current = self._settings()          # a pushed slowdown counts from the next failure
        self._slowdown.tune(current.pin_slowdown_base_s, current.pin_slowdown_cap_s)
        for entered_as in self._roles(role):
            for slot, pin_hash in self.hashes(entered_as).items():
                if pin_matches(pin_hash, pin):
                    self._wrong_in_a_row = 0
                    self._slowdown.succeeded(SLOWDOWN_KEY)
                    self.record(slot, "staff_entered", {"role": entered_as})
                    return Answer(Outcome.GRANTED, slot=slot, role=entered_as)
        self._wrong_in_a_row += 1
        self._slowdown.failed(SLOWDOWN_KEY)
        # On the shared pad (ANY) a wrong PIN matched no slot: whoever typed it is just "staff".
        self._journal.audit("staff" if role == ANY else role, "refused",
                            {"command": "enter", "why": "wrong PIN", "in_a_row": self._wrong_in_a_row})
        if self._wrong_in_a_row >= self._lock_after:
            self._wrong_in_a_row = 0
            self._locked_until = self._clock() + self._lock_s
            self._journal.audit("kiosk", LOCK_ACTION, {"role": role, "until": self._locked_until,
                                                       "for_s": self._lock_s})
            return Answer(Outcome.LOCKED, locked_for_s=self.locked_for_s())
        return Answer(Outcome.WRONG, wait_s=self._slowdown.wait_s(SLOWDOWN_KEY))

    # --- the trail ----------------------------------------------------------------------------------
    def record(self, slot: str, action: str, detail: Mapping[str, Any] | None = None, **count: int) -> None:
        """One thing a technician or operator did, as the slot that got in (never a citizen's data)."""
        self._journal.audit(slot, action, {**(detail or {}), "slot": slot}, count=count or None)
