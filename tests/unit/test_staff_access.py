"""Entering maintenance or assisted mode by PIN slot: slowed, then locked (and the lock kept
across a restart), audited, refused during a citizen's session, closed with no PIN set."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.journal import Journal
from kiosk.settings import Settings, hash_technician_pin
from kiosk.staff_access import (LOCK_ACTION, OPERATOR, TECHNICIAN, TECHNICIAN_EMERGENCY, Outcome,
                                StaffAccess)

TECH_PIN, OPERATOR_PIN, EMERGENCY_PIN = "482913", "775511", "902211"
HASHES = {"technician_pin_hash": hash_technician_pin(TECH_PIN),
          "operator_pin_hash": hash_technician_pin(OPERATOR_PIN)}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


def access_for(journal, clock, *, emergency=None, in_session=lambda: False, **hashes):
    settings = replace(Settings(), pin_slowdown_base_s=2.0, pin_slowdown_cap_s=8.0, **hashes)
    return StaffAccess(journal, lambda: settings, emergency_hash=emergency, in_session=in_session,
                       clock=clock, lock_after=3, lock_s=600)


def test_right_pins_enter_by_their_slot_and_are_audited(journal):
    clock = Clock()
    access = access_for(journal, clock, emergency=hash_technician_pin(EMERGENCY_PIN), **HASHES)
    assert access.may_ask(TECHNICIAN) is None
    assert access.try_pin(TECH_PIN, TECHNICIAN).slot == TECHNICIAN
    assert access.try_pin(EMERGENCY_PIN, TECHNICIAN).slot == TECHNICIAN_EMERGENCY
    assert access.try_pin(OPERATOR_PIN, OPERATOR).slot == OPERATOR
    assert access.try_pin(OPERATOR_PIN, TECHNICIAN).outcome is Outcome.WRONG     # slots do not mix
    rows = [(r["actor"], r["action"]) for r in reversed(journal.audit_trail())]
    assert rows == [(TECHNICIAN, "staff_entered"), (TECHNICIAN_EMERGENCY, "staff_entered"),
                    (OPERATOR, "staff_entered"), (TECHNICIAN, "refused")]
    assert all(TECH_PIN not in str(r) and OPERATOR_PIN not in str(r) for r in journal.audit_trail())


def test_wrong_pins_are_slowed_then_locked_and_the_lock_survives_a_restart(journal):
    clock = Clock()
    access = access_for(journal, clock, **HASHES)
    first = access.try_pin("000000", TECHNICIAN)
    assert first.outcome is Outcome.WRONG and first.wait_s == 2
    assert access.try_pin(TECH_PIN, TECHNICIAN).outcome is Outcome.WAIT       # even the right one waits
    clock.now += 2
    assert access.try_pin("000001", TECHNICIAN).wait_s == 4
    clock.now += 4
    locked = access.try_pin("000002", TECHNICIAN)
    assert locked.outcome is Outcome.LOCKED and locked.locked_for_s == 600
    assert journal.audit_trail()[0]["action"] == LOCK_ACTION
    clock.now += 100
    assert access.may_ask(OPERATOR).outcome is Outcome.LOCKED                  # every slot
    restarted = access_for(journal, clock, **HASHES)
    assert restarted.may_ask(TECHNICIAN).locked_for_s == 500
    clock.now += 500
    assert restarted.may_ask(TECHNICIAN) is None
    assert restarted.try_pin(TECH_PIN, TECHNICIAN).granted


def test_no_pin_configured_is_no_way_in(journal):
    access = access_for(journal, Clock())
    assert access.may_ask(TECHNICIAN).outcome is Outcome.NONE_CONFIGURED
    assert access.try_pin("", TECHNICIAN).outcome is Outcome.NONE_CONFIGURED
    assert access.may_ask(OPERATOR).outcome is Outcome.NONE_CONFIGURED


def test_refused_while_a_citizen_session_is_open(journal):
    access = access_for(journal, Clock(), in_session=lambda: True, **HASHES)
    assert access.try_pin(TECH_PIN, TECHNICIAN).outcome is Outcome.IN_SESSION
    assert journal.audit_trail() == []
