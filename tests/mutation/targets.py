"""What `make mutate` mutates, and the fast tests each module is checked against.

Each target is one critical module (issue 13, point 7) with its own unit and service tests,
not the whole suite: mutmut runs, per mutant, only those of them that reach the mutated
function. `mutants` narrows a target to some functions (mutmut's mutant-name globs); empty
means every function of the files. Tests that start the kiosk or the dinas in another
process are left out: the mutant lives in this process only, so they could never kill it.
The order is the order of importance: a run cut short still has the critical ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The dinas tests run on SQLite only here: PostgreSQL adds a cluster per run and the rules
# under test are the same SQL on both.
SQLITE_ONLY = ("-k", "not postgresql")


@dataclass(frozen=True)
class Target:
    name: str
    files: tuple[str, ...]                 # paths of the modules to mutate, from the repo root
    tests: tuple[str, ...]                 # pytest paths or node ids
    mutants: tuple[str, ...] = ()          # mutant-name globs, e.g. "kiosk.nik.x__birth_date__mutmut_*"
    pytest_args: tuple[str, ...] = field(default=())


TARGETS: tuple[Target, ...] = (
    Target("download-checks", ("kiosk/dinas_client.py",),
           ("tests/service/test_client_hostile.py", "tests/service/test_client_replies.py"),
           mutants=("kiosk.dinas_client.xǁDinasClientǁdownload_document__mutmut_*",)),
    # The size and framing checks of the same download, where the body is read.
    Target("download-body", ("kiosk/dinas_transport.py",),
           ("tests/service/test_client_hostile.py", "tests/service/test_client_replies.py",
            "tests/service/test_client_contract.py"),
           mutants=("kiosk.dinas_transport.xǁDinasTransportǁ_read_body__mutmut_*",)),
    Target("nik", ("kiosk/nik.py",), ("tests/unit/test_nik.py",)),
    Target("status-usable", ("devices/status.py",), ("tests/unit/test_device_status.py",),
           mutants=("devices.status.x__takes_jobs__mutmut_*", "devices.status.x__alarms__mutmut_*",
                    "devices.status.x__supplies_out__mutmut_*",
                    "devices.status.xǁDeviceStatusǁunusable_reason__mutmut_*")),
    # Not the stateful fuzz of the job machine (tests/service/test_dinas_jobs_stateful.py): it is
    # 10 s a mutant, two thirds of the target's time, for rules the unit tests pin one by one.
    Target("dinas-jobs", ("dinas/jobs.py",),
           ("tests/unit/test_dinas_jobs.py", "tests/service/test_dinas_hardening.py"), pytest_args=SQLITE_ONLY),
    Target("dinas-pins", ("dinas/pins.py",),
           ("tests/unit/test_dinas_pins.py", "tests/service/test_dinas_pins.py",
            "tests/service/test_dinas_hardening.py"), pytest_args=SQLITE_ONLY),
    Target("journal", ("kiosk/journal.py", "kiosk/journal_ledger.py", "kiosk/journal_records.py",
                       "kiosk/journal_tx.py"),
           ("tests/unit/test_journal.py", "tests/unit/test_journal_reads.py", "tests/unit/test_outbox.py",
            "tests/unit/test_journal_years.py",
            "tests/unit/test_storage_guard.py", "tests/unit/test_staff_access.py", "tests/unit/test_supplies.py",
            "tests/service/test_card_count.py", "tests/service/test_staff_audit.py")),
    Target("outbox", ("kiosk/outbox.py",), ("tests/unit/test_outbox.py",)),
    # Queued A4 jobs are settled in test_print_deadlines; the card-counter crash tests run the
    # kiosk in another process and cannot count here.
    Target("recovery", ("kiosk/recovery.py",),
           ("tests/unit/test_recovery_rules.py", "tests/unit/test_session_recovery.py",
            "tests/unit/test_print_deadlines.py")),
    # The session engine's own tests print through the orchestrator. Not test_storage_faults:
    # 31 s for every surviving mutant, for journal write failures that test_orchestrator makes
    # at each step of a print.
    Target("orchestrator", ("kiosk/orchestrator.py",),
           ("tests/unit/test_orchestrator.py", "tests/unit/test_print_deadlines.py",
            "tests/unit/test_session_engine.py", "tests/unit/test_session_security.py",
            "tests/unit/test_settings_pushable.py")),
)

BY_NAME = {target.name: target for target in TARGETS}
