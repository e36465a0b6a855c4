"""The reference dinas's reservation rules with a clock the test holds (`now` is an argument
of `dinas.jobs`): when a `reserved` reservation lapses, and that a `printing` one never
does, since freeing a document whose card may be in the printer prints it twice."""

from __future__ import annotations

import uuid

import pytest

from dinas import jobs
from dinas.errors import ApiError
from dinas.jobs import RESERVATION_ABANDON_SECONDS as ABANDON
from dinas.jobs import RESERVATION_LAPSE_SECONDS as LAPSE
from tests.fixtures.dinas_rows import T0, DinasRows, dinas_rows  # noqa: F401

NIK, PIN = "3201014501900003", "482913"


class Desk:
    """One application with one card document, reserved by kiosk k-1 at T0."""

    def __init__(self, rows: DinasRows) -> None:
        self.rows = rows
        self.kiosk = rows.kiosk("k-1")
        self.other_kiosk = rows.kiosk("k-2")
        self.request_no = rows.application(NIK, PIN)
        self.document = rows.document(self.request_no)
        self.session = rows.session(self.kiosk, self.request_no, now=T0)
        self.job = str(uuid.uuid4())
        status, reply = jobs.reserve(rows.connection, T0, self.kiosk, self.session, self.job, self.document)
        assert (status, reply["state"]) == (201, "reserved")

    def event(self, state: str, now: float, job: str | None = None, kiosk: str | None = None,
              detail: dict | None = None) -> dict:
        body = {"event_id": str(uuid.uuid4()), "state": state, "at": "2027-01-15T00:00:00Z"}
        if detail is not None:
            body["detail"] = detail
        return jobs.record_event(self.rows.connection, now, kiosk or self.kiosk, job or self.job, body)

    def lapse(self, now: float) -> None:
        jobs.lapse_stale_reservations(self.rows.connection, now, self.request_no)

    def reserve_elsewhere(self, now: float) -> tuple[int, dict]:
        session = self.rows.session(self.other_kiosk, self.request_no, now=now)
        return jobs.reserve(self.rows.connection, now, self.other_kiosk, session, str(uuid.uuid4()), self.document)

    def state(self) -> tuple[str | None, str | None]:
        return self.rows.job_state(self.job), self.rows.document_status(self.document)


@pytest.fixture
def desk(dinas_rows: DinasRows) -> Desk:
    return Desk(dinas_rows)


# --- a `reserved` reservation -------------------------------------------------------------------

def test_a_reservation_lapses_once_its_kiosk_is_heard_from_with_nothing_queued_after_the_lapse_time(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE, outbox_depth=0)
    desk.lapse(T0 + LAPSE)                               # both edges are inclusive
    assert desk.state() == ("lapsed", "ready")
    status, reply = desk.reserve_elsewhere(T0 + LAPSE + 1)
    assert (status, reply["state"]) == (201, "reserved")


def test_a_reservation_does_not_lapse_before_its_time_even_if_the_kiosk_is_heard_from(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE, outbox_depth=0)
    desk.lapse(T0 + LAPSE - 1)
    assert desk.state() == ("reserved", "reserved")


def test_a_kiosk_heard_from_before_the_lapse_time_keeps_its_reservation(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE - 1, outbox_depth=0)
    desk.lapse(T0 + LAPSE + 3600)
    assert desk.state() == ("reserved", "reserved")
    with pytest.raises(ApiError) as taken:
        desk.reserve_elsewhere(T0 + LAPSE + 3600)
    assert (taken.value.status, taken.value.code) == (409, "reserved_elsewhere")


def test_a_kiosk_with_events_still_queued_keeps_its_reservation(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE + 60, outbox_depth=1)
    desk.lapse(T0 + LAPSE + 3600)
    assert desk.state() == ("reserved", "reserved")


def test_a_kiosk_never_heard_from_keeps_its_reservation_until_the_abandon_time(desk):
    desk.lapse(T0 + ABANDON - 1)
    assert desk.state() == ("reserved", "reserved")
    desk.lapse(T0 + ABANDON)
    assert desk.state() == ("lapsed", "ready")


def test_the_abandon_time_lapses_a_reservation_even_with_events_queued(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE + 60, outbox_depth=3)
    desk.lapse(T0 + ABANDON)
    assert desk.state() == ("lapsed", "ready")


def test_only_the_asked_applications_reservations_lapse(desk):
    other_request = desk.rows.application("3201011203900004", "111111")
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE, outbox_depth=0)
    jobs.lapse_stale_reservations(desk.rows.connection, T0 + ABANDON, other_request)
    assert desk.state() == ("reserved", "reserved")


def test_a_new_reservation_lapses_what_is_stale_first(desk):
    desk.rows.heard_from(desk.kiosk, T0 + LAPSE, outbox_depth=0)
    status, _ = desk.reserve_elsewhere(T0 + LAPSE)
    assert status == 201 and desk.state() == ("lapsed", "reserved")


# --- a `printing` reservation never lapses --------------------------------------------------------

@pytest.mark.parametrize("outbox_depth", [0, 2])
def test_a_printing_reservation_never_lapses(desk, outbox_depth):
    desk.event("printing", T0 + 5)
    desk.rows.heard_from(desk.kiosk, T0 + 5 + LAPSE + 60, outbox_depth=outbox_depth)
    for now in (T0 + 5 + LAPSE, T0 + 5 + ABANDON, T0 + 5 + 10 * ABANDON):
        desk.lapse(now)
        assert desk.state() == ("printing", "reserved")
    with pytest.raises(ApiError) as taken:
        desk.reserve_elsewhere(T0 + 5 + 10 * ABANDON)
    assert taken.value.code == "reserved_elsewhere"
    # Only the kiosk's own report ends it.
    desk.event("printed", T0 + 11 * ABANDON)
    assert desk.state() == ("printed", "printed")
    assert desk.rows.one("SELECT review_reason FROM documents WHERE id = :d", d=desk.document) == \
        {"review_reason": None}


def test_a_printing_reservation_that_failed_frees_the_document_at_once(desk):
    desk.event("printing", T0 + 5)
    desk.event("failed", T0 + 6)
    assert desk.state() == ("failed", "ready")


# --- what a lapsed job may still say --------------------------------------------------------------

def test_a_lapsed_job_printed_after_all_is_recorded_and_flagged(desk):
    desk.lapse(T0 + ABANDON)
    assert desk.event("printed", T0 + ABANDON + 1)["duplicate"] is False
    assert desk.state() == ("printed", "printed")
    assert desk.rows.one("SELECT review_reason, review_at FROM documents WHERE id = :d", d=desk.document) == \
        {"review_reason": "printed_after_lapse", "review_at": T0 + ABANDON + 1}


def test_a_lapsed_job_printed_after_another_printed_it_is_flagged_as_printed_twice(desk):
    desk.lapse(T0 + ABANDON)
    _, reply = desk.reserve_elsewhere(T0 + ABANDON + 1)
    desk.event("printed", T0 + ABANDON + 2, job=reply["job_id"], kiosk=desk.other_kiosk)
    desk.event("printed", T0 + ABANDON + 3)
    assert desk.rows.one("SELECT status, review_reason FROM documents WHERE id = :d", d=desk.document) == \
        {"status": "printed", "review_reason": "printed_twice"}


def test_a_lapsed_job_that_failed_leaves_the_next_reservation_alone(desk):
    desk.lapse(T0 + ABANDON)
    _, reply = desk.reserve_elsewhere(T0 + ABANDON + 1)
    desk.event("failed", T0 + ABANDON + 2)
    assert desk.state() == ("lapsed", "reserved")
    assert desk.rows.job_state(reply["job_id"]) == "reserved"


@pytest.mark.parametrize("state", ["printing", "reserved"])
def test_a_lapsed_job_cannot_start_printing_again(desk, state):
    desk.lapse(T0 + ABANDON)
    with pytest.raises(ApiError) as refused:
        desk.event(state, T0 + ABANDON + 1)
    assert (refused.value.status, refused.value.code) == (409, "invalid_transition")


# --- the count of assisted prints -----------------------------------------------------------------

def test_assisted_prints_counts_the_kiosks_printed_events_that_say_assisted_true(desk):
    rows = desk.rows
    desk.event("printing", T0 + 1, detail={"assisted": True})          # not a print yet
    desk.event("printed", T0 + 2, detail={"assisted": True})
    for kiosk, detail, state in ((desk.kiosk, {"assisted": False}, "printed"),
                                 (desk.kiosk, {"assisted": "yes"}, "printed"),   # only the JSON true counts
                                 (desk.kiosk, {"other": 1}, "printed"),
                                 (desk.kiosk, None, "printed"),
                                 (desk.kiosk, {"assisted": True}, "failed"),
                                 (desk.other_kiosk, {"assisted": True}, "printed")):
        document = rows.document(desk.request_no)
        session = rows.session(kiosk, desk.request_no, now=T0 + 3)
        job = str(uuid.uuid4())
        jobs.reserve(rows.connection, T0 + 3, kiosk, session, job, document)
        desk.event(state, T0 + 4, job=job, kiosk=kiosk, detail=detail)
    assert jobs.assisted_prints(rows.connection, desk.kiosk) == 1
    assert jobs.assisted_prints(rows.connection, desk.other_kiosk) == 1
    assert jobs.assisted_prints(rows.connection, "k-unknown") == 0


# --- each refusal, with its status, code and detail -----------------------------------------------

def _refusal(call) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value.status, refused.value.code, refused.value.detail


NO_DOCUMENT = (404, "not_found", "no such document in this session")
PRINTED = (409, "already_printed", "this document has already been printed")
ELSEWHERE = (409, "reserved_elsewhere", "this document is being printed by another job")


def test_the_download_and_session_refusals(desk):
    rows, connection = desk.rows, desk.rows.connection
    session = jobs.active_session(connection, T0 + 1, desk.kiosk, desk.session)
    assert _refusal(lambda: jobs.active_session(connection, T0, desk.other_kiosk, desk.session)) == \
        (404, "not_found", "no such session for this kiosk")
    assert _refusal(lambda: jobs.active_session(connection, T0 + 900, desk.kiosk, desk.session)) == \
        (410, "session_expired", "the session has ended or expired; start again with NIK and PIN")
    assert _refusal(lambda: jobs.downloadable(connection, session, "doc-unknown")) == NO_DOCUMENT
    assert jobs.downloadable(connection, session, desk.document)["id"] == desk.document     # its own reservation
    other = rows.session(desk.other_kiosk, desk.request_no, now=T0 + 1)
    other_session = jobs.active_session(connection, T0 + 1, desk.other_kiosk, other)
    assert _refusal(lambda: jobs.downloadable(connection, other_session, desk.document)) == ELSEWHERE
    desk.event("printed", T0 + 2)
    assert _refusal(lambda: jobs.downloadable(connection, session, desk.document)) == PRINTED


def test_the_reservation_refusals(desk):
    rows, connection = desk.rows, desk.rows.connection
    assert _refusal(lambda: jobs.reserve(connection, T0, desk.other_kiosk, desk.session, str(uuid.uuid4()),
                                         desk.document)) == (404, "not_found", "no such session for this kiosk")
    assert _refusal(lambda: jobs.reserve(connection, T0, desk.kiosk, desk.session, str(uuid.uuid4()),
                                         "doc-unknown")) == NO_DOCUMENT
    second = rows.document(desk.request_no)
    assert _refusal(lambda: jobs.reserve(connection, T0, desk.kiosk, desk.session, desk.job, second)) == \
        (400, "invalid_request", "job_id is already used for another reservation; make a new UUID")
    assert _refusal(lambda: desk.reserve_elsewhere(T0 + 1)) == ELSEWHERE
    desk.event("printed", T0 + 2)
    assert _refusal(lambda: desk.reserve_elsewhere(T0 + 3)) == PRINTED


def test_the_event_refusals(desk):
    connection = desk.rows.connection
    printing = {"event_id": str(uuid.uuid4()), "state": "printing", "at": "2027-01-15T00:00:00Z"}
    assert _refusal(lambda: jobs.record_event(connection, T0, desk.other_kiosk, desk.job, printing)) == \
        (404, "not_found", "no such job for this kiosk")
    jobs.record_event(connection, T0 + 1, desk.kiosk, desk.job, printing)
    second_doc = desk.rows.document(desk.request_no)
    other_job = str(uuid.uuid4())
    jobs.reserve(connection, T0 + 2, desk.kiosk, desk.session, other_job, second_doc)
    assert _refusal(lambda: jobs.record_event(connection, T0 + 3, desk.kiosk, other_job, printing)) == \
        (400, "invalid_request", "event_id is already used for another job; make a new UUID")
    for _ in range(jobs.MAX_PRINTING_EVENTS - 1):
        desk.event("printing", T0 + 4)
    assert _refusal(lambda: desk.event("printing", T0 + 5)) == \
        (409, "invalid_transition", f"a job takes at most {jobs.MAX_PRINTING_EVENTS} printing events")
    desk.event("printed", T0 + 6)
    assert _refusal(lambda: desk.event("failed", T0 + 7)) == \
        (409, "invalid_transition", "a job that is printed cannot become failed")


# --- retries are harmless -----------------------------------------------------------------------

def test_a_repeated_reservation_answers_200_with_the_same_job_and_another_kiosk_may_not_reuse_it(desk):
    connection = desk.rows.connection
    again = jobs.reserve(connection, T0 + 1, desk.kiosk, desk.session, desk.job, desk.document)
    assert again == (200, {"job_id": desk.job, "document_id": desk.document, "state": "reserved"})
    desk.event("printing", T0 + 2)
    assert jobs.reserve(connection, T0 + 3, desk.kiosk, desk.session, desk.job, desk.document) == \
        (200, {"job_id": desk.job, "document_id": desk.document, "state": "printing"})
    other = desk.rows.session(desk.other_kiosk, desk.request_no, now=T0 + 3)
    assert _refusal(lambda: jobs.reserve(connection, T0 + 3, desk.other_kiosk, other, desk.job, desk.document)) \
        == (400, "invalid_request", "job_id is already used for another reservation; make a new UUID")


def test_a_repeated_event_is_answered_as_a_duplicate_and_recorded_once(desk):
    connection = desk.rows.connection
    failed = {"event_id": str(uuid.uuid4()), "state": "failed", "at": "2027-01-15T00:00:00Z", "reason": "card_jam"}
    first = jobs.record_event(connection, T0 + 1, desk.kiosk, desk.job, failed)
    assert first == {"event_id": failed["event_id"], "job_id": desk.job, "state": "failed", "duplicate": False}
    again = jobs.record_event(connection, T0 + 2, desk.kiosk, desk.job, dict(failed, state="printed"))
    assert again == {"event_id": failed["event_id"], "job_id": desk.job, "state": "failed", "duplicate": True}
    assert desk.rows.one("SELECT COUNT(*) AS n, MAX(reason) AS reason FROM job_events WHERE job_id = :j",
                         j=desk.job) == {"n": 1, "reason": "card_jam"}


def test_the_pin_is_used_when_the_last_document_of_its_application_is_printed(dinas_rows):
    # Another application's document comes first in the table: printing must touch only its own.
    other_request = dinas_rows.application("3201011203900004", "111111")
    other_document = dinas_rows.document(other_request)
    desk = Desk(dinas_rows)
    second = dinas_rows.document(desk.request_no, "KK", "a4")
    second_job = str(uuid.uuid4())
    jobs.reserve(dinas_rows.connection, T0 + 1, desk.kiosk, desk.session, second_job, second)
    desk.event("printed", T0 + 2)
    used = "SELECT pin_used_at FROM applications WHERE request_no = :r"
    assert dinas_rows.one(used, r=desk.request_no) == {"pin_used_at": None}      # one document still to print
    desk.event("printed", T0 + 3, job=second_job)
    assert dinas_rows.one(used, r=desk.request_no) == {"pin_used_at": T0 + 3}
    assert dinas_rows.one(used, r=other_request) == {"pin_used_at": None}
    assert dinas_rows.document_status(other_document) == "ready"
    assert dinas_rows.one("SELECT printed_at FROM documents WHERE id = :d", d=desk.document) == \
        {"printed_at": T0 + 2}
