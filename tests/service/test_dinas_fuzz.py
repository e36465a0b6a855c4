"""Property-based fuzzing of the reference server over loopback HTTP.

Schemathesis generates requests from dinas/openapi.yaml and checks every answer against it;
hypothesis throws arbitrary JSON at every call. Neither may ever get a 500. Both are bounded
(a few dozen examples per call) to stay well under a minute.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.fixtures.dinas_server import BACKENDS, OPENAPI_PATH, seeded_server, validate_response

schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TIMEOUT = 10
HTTP = requests.Session()      # keep-alive: the examples, not TCP set-up, should take the time


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_server(request, tmp_path_factory):
    # The rate limits off: the examples should reach the validation, not a 429.
    with seeded_server(tmp_path_factory, tmp_path_factory.mktemp("dinas-fuzz"), request.param,
                       session_attempts_per_minute=1_000_000, heartbeats_per_minute=1_000_000) as server:
        yield server


def auth_for(server, path: str) -> dict[str, str]:
    return server.admin_headers() if path.startswith("/admin") else server.kiosk_headers(0)


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_500_and_no_contract_breach(case, fuzz_server):
    response = case.call(base_url=fuzz_server.url, headers=auth_for(fuzz_server, case.path), timeout=TIMEOUT)
    case.validate_response(response, checks=CHECKS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20)
CONTRACT_KEYS = ["nik", "pin", "request_no", "job_id", "document_id", "event_id", "state", "at", "reason", "detail",
                 "kiosk_id", "software_version", "config_version", "uptime_s", "devices", "counters",
                 "outbox_depth", "last_faults", "version", "result", "name", "phone", "documents", "valid_days",
                 "target", "envelope"]
# Objects with the contract's own keys reach deeper than random keys would.
bodies = json_values | st.dictionaries(st.sampled_from(CONTRACT_KEYS), json_values, max_size=8)
CALLS = [("POST", "/kiosk/sessions", "/kiosk/sessions"),
         ("POST", "/kiosk/sessions/S/jobs", "/kiosk/sessions/{session_id}/jobs"),
         ("POST", "/kiosk/jobs/0b8f3c4e-1d2a-4c5b-9e6f-7a8b9c0d1e2f/events", "/kiosk/jobs/{job_id}/events"),
         ("POST", "/kiosk/heartbeat", "/kiosk/heartbeat"),
         ("POST", "/kiosk/config/reports", "/kiosk/config/reports"),
         ("POST", "/admin/applications", "/admin/applications"),
         ("PUT", "/admin/config", "/admin/config")]


@pytest.mark.parametrize("method,path,template", CALLS, ids=[c[1] for c in CALLS])
@settings(max_examples=35, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_arbitrary_json_gets_a_contract_error_never_a_500(fuzz_server, method, path, template, body):
    if "/S/" in path:
        session = HTTP.post(f"{fuzz_server.url}/kiosk/sessions", headers=fuzz_server.kiosk_headers(2),
                                timeout=TIMEOUT, json={"nik": fuzz_server.citizens[2]["nik"],
                                                       "pin": fuzz_server.citizens[2]["pin"]}).json()
        path = path.replace("/S/", f"/{session.get('session_id', 'none')}/")
    headers = {**auth_for(fuzz_server, path), "Content-Type": "application/json"}
    response = HTTP.request(method, fuzz_server.url + path, data=json.dumps(body), headers=headers, timeout=TIMEOUT)
    assert response.status_code < 500, response.text
    validate_response(response, method, template)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200))
def test_raw_bytes_are_invalid_request(fuzz_server, raw):
    response = HTTP.post(f"{fuzz_server.url}/kiosk/sessions", data=raw, timeout=TIMEOUT,
                             headers={**fuzz_server.kiosk_headers(1), "Content-Type": "application/json"})
    assert response.status_code in (400, 401, 410, 423, 429) and "error" in response.json()
