"""The job state machine, fuzzed: random reservations, retries and events from two kiosks
against the real server, checked after every step against a model and against the database.

Invariants: a document is held by at most one active job, and is `reserved` exactly when one
holds it; `printed` is final; the PIN is consumed exactly when every document is printed;
retries are harmless; no call gets a 500.
"""

from __future__ import annotations

import uuid

import requests
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from dinas.documents import kia_pdf, kk_pdf
from dinas.seed import demo_families
from tests.fixtures.dinas_server import on_both_backends, reference_server, validate_response  # noqa: F401

FAMILY = demo_families()[2][0]
DOCUMENTS = [("KK", "Kartu Keluarga", kk_pdf(FAMILY, "Disdukcapil")),
             ("KIA", "Kartu Identitas Anak", kia_pdf(FAMILY, FAMILY.members[3], "Disdukcapil"))]
HTTP = requests.Session()
NEXT_STATE = {"reserved": {"printing", "printed", "failed"}, "printing": {"printing", "printed", "failed"},
              "printed": set(), "failed": set()}


class JobMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    events = Bundle("events")

    def __init__(self, server) -> None:
        super().__init__()
        self.server = server

    def call(self, method, path, template, kiosk, body=None):
        reply = HTTP.request(method, self.server.url + path, json=body, timeout=10,
                             headers=self.server.kiosk_headers(kiosk))
        assert reply.status_code < 500, reply.text
        validate_response(reply, method, template)
        return reply

    @initialize()
    def issue_application(self):
        serial = uuid.uuid4().int % 9000 + 1000
        issued = self.server.issue(f"32730201019{serial:05d}", "Uji Coba", "081100000999", DOCUMENTS)
        self.request_no = issued["request_no"]
        self.documents = [d["id"] for d in issued["documents"]]
        self.status = {doc: "ready" for doc in self.documents}       # the model
        self.job_state: dict[str, str] = {}
        self.job_document: dict[str, str] = {}
        self.sessions = []
        for kiosk in (0, 1):
            reply = self.call("POST", "/kiosk/sessions", "/kiosk/sessions", kiosk,
                              {"request_no": self.request_no, "pin": self.server.pin_for(self.request_no)})
            self.sessions.append(reply.json()["session_id"])

    def active_holder(self, document):
        return [job for job, state in self.job_state.items()
                if self.job_document[job] == document and state in ("reserved", "printing")]

    @rule(target=jobs, kiosk=st.sampled_from([0, 1]), which=st.sampled_from([0, 1]))
    def reserve(self, kiosk, which):
        document, job_id = self.documents[which], str(uuid.uuid4())
        reply = self.call("POST", f"/kiosk/sessions/{self.sessions[kiosk]}/jobs", "/kiosk/sessions/{session_id}/jobs",
                          kiosk, {"job_id": job_id, "document_id": document})
        expected = {"ready": 201, "reserved": 409, "printed": 409}[self.status[document]]
        assert reply.status_code == expected, (self.status[document], reply.text)
        if reply.status_code == 409:
            assert reply.json()["error"] == ("already_printed" if self.status[document] == "printed"
                                             else "reserved_elsewhere")
            return (kiosk, None)
        self.status[document] = "reserved"
        self.job_state[job_id], self.job_document[job_id] = "reserved", document
        return (kiosk, job_id)

    @rule(job=jobs)
    def retry_reservation(self, job):
        kiosk, job_id = job
        if job_id is None:
            return
        reply = self.call("POST", f"/kiosk/sessions/{self.sessions[kiosk]}/jobs", "/kiosk/sessions/{session_id}/jobs",
                          kiosk, {"job_id": job_id, "document_id": self.job_document[job_id]})
        assert reply.status_code == 200 and reply.json()["state"] == self.job_state[job_id]

    @rule(target=events, job=jobs, state=st.sampled_from(["printing", "printed", "failed"]))
    def report(self, job, state):
        kiosk, job_id = job
        if job_id is None:
            return (kiosk, None, None, None)
        event_id = str(uuid.uuid4())
        reply = self.call("POST", f"/kiosk/jobs/{job_id}/events", "/kiosk/jobs/{job_id}/events", kiosk,
                          {"event_id": event_id, "state": state, "at": "2026-11-22T10:00:00Z"})
        if state not in NEXT_STATE[self.job_state[job_id]]:
            assert reply.status_code == 409 and reply.json()["error"] == "invalid_transition"
            return (kiosk, None, None, None)
        assert reply.status_code == 200 and reply.json()["duplicate"] is False
        self.job_state[job_id] = state
        document = self.job_document[job_id]
        if state == "printed":
            self.status[document] = "printed"
        elif state == "failed" and self.status[document] == "reserved" and not self.active_holder(document):
            self.status[document] = "ready"
        return (kiosk, job_id, event_id, state)

    @rule(event=events)
    def replay_event(self, event):
        kiosk, job_id, event_id, state = event
        if job_id is None:
            return
        reply = self.call("POST", f"/kiosk/jobs/{job_id}/events", "/kiosk/jobs/{job_id}/events", kiosk,
                          {"event_id": event_id, "state": state, "at": "2026-11-22T10:00:00Z"})
        assert reply.status_code == 200 and reply.json() == {"event_id": event_id, "job_id": job_id,
                                                             "state": state, "duplicate": True}

    @invariant()
    def database_agrees(self):
        if not hasattr(self, "documents"):
            return
        for document in self.documents:
            [row] = self.server.query("SELECT status FROM documents WHERE id = ?", document)
            assert row["status"] == self.status[document]
            active = self.server.query("SELECT COUNT(*) AS n FROM jobs WHERE document_id = ? "
                                       "AND state IN ('reserved', 'printing')", document)[0]["n"]
            assert active == (1 if row["status"] == "reserved" else 0)
        [application] = self.server.query("SELECT pin_used_at FROM applications WHERE request_no = ?",
                                          self.request_no)
        all_printed = all(status == "printed" for status in self.status.values())
        assert (application["pin_used_at"] is not None) == all_printed


def test_job_state_machine(reference_server):
    run_state_machine_as_test(lambda: JobMachine(reference_server),
                              settings=settings(max_examples=15, stateful_step_count=25, deadline=None,
                                                derandomize=True, suppress_health_check=list(HealthCheck)))
