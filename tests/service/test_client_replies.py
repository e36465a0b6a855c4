"""The session reply parser against arbitrary JSON: a DinasSession that satisfies the
contract, or a ContractError; never another exception, never a half-checked session."""

from __future__ import annotations

import copy
import re

from hypothesis import given, settings, strategies as st

from kiosk.dinas_client import DinasSession, parse_session
from printer_drivers import registry
from kiosk.dinas_errors import ContractError

VALID = {"session_id": "s-1", "expires_at": "2026-11-22T10:10:00Z",
         "holder": {"name_masked": "S*** W***", "nik_masked": "320101******0003"},
         "request_no": "REQ-20261122-AB12CD",
         "documents": [{"id": "doc-1", "kind": "KK", "media": "a4", "title": "Kartu Keluarga", "pages": 1,
                        "size": 10, "sha256": "ab" * 32, "status": "ready"}]}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)
PATHS = [("session_id",), ("expires_at",), ("holder",), ("holder", "name_masked"), ("holder", "nik_masked"),
         ("request_no",), ("documents",), ("documents", 0), *[("documents", 0, k) for k in VALID["documents"][0]]]


def check(session: DinasSession) -> None:
    assert session.session_id.strip() and session.expires_at.tzinfo is not None
    assert not re.search(r"\d{16}", session.nik_masked)
    for document in session.documents:
        assert document.kind in registry.kind_codes() and document.media in ("a4", "card")
        assert document.size >= 1 and document.pages >= 1 and re.fullmatch(r"[0-9a-f]{64}", document.sha256)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PATHS), JSON, st.booleans())
def test_a_changed_or_missing_field_is_caught(path: tuple, value: object, delete: bool) -> None:
    body = copy.deepcopy(VALID)
    target = body
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    try:
        session = parse_session("POST /kiosk/sessions", body)
    except ContractError as error:
        assert error.code == "contract_violation" and "POST /kiosk/sessions" in error.detail
    else:
        check(session)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_any_json_at_all_is_a_session_or_a_contract_error(body: object) -> None:
    try:
        check(parse_session("POST /kiosk/sessions", body))
    except ContractError:
        pass
