"""kiosk.remote_config.verify on its own: whatever arrives, the answer is a Verified or a
Refusal with a reason from the closed list; never another exception."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from hypothesis import given, settings as hsettings, strategies as st

from kiosk.config import TrustedKey
from kiosk.remote_config.envelope import REASONS, Refusal
from kiosk.remote_config.verify import verify
from tests.fixtures.config_envelopes import TestKey, payload, spec_sign

KEY = TestKey.new("k")
TRUSTED = (TrustedKey("k", base64.b64decode(KEY.public_b64)),)
NOW = datetime.now(timezone.utc)


def check(envelope, floor=None):
    return verify(envelope, trusted_keys=TRUSTED, kiosk_id="ADM-1", group="g", floor=floor, now=NOW)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                           max_leaves=12)


@hsettings(max_examples=150, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"payloadType": json_values, "payload": json_values,
                                                     "signatures": json_values})))
def test_anything_is_a_refusal_with_a_known_reason(data):
    try:
        check(data)
    except Refusal as refusal:
        assert refusal.reason in REASONS
    else:
        raise AssertionError("random data verified")


@hsettings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200), version=st.integers(min_value=-3, max_value=5))
def test_any_signed_body_is_verified_or_refused_for_its_content(body, version):
    for candidate in (body, payload(version, groups=["g"]) if version >= 1 else body):
        try:
            verified = check(spec_sign(candidate, [KEY]))
        except Refusal as refusal:
            assert refusal.reason in ("malformed", "invalid_settings")
        else:
            assert verified.payload.version == version and verified.keyid == "k"


def test_url_safe_base64_is_dsse_too():
    envelope = spec_sign(payload(2, groups=["g"]), [KEY])
    urlsafe = {**envelope, "payload": envelope["payload"].replace("+", "-").replace("/", "_"),
               "signatures": [{**s, "sig": s["sig"].replace("+", "-").replace("/", "_")}
                              for s in envelope["signatures"]]}
    assert check(urlsafe).payload.version == 2


def test_the_payload_must_carry_exactly_its_fields():
    body = json.loads(payload(2, groups=["g"]))
    for changed in ({**body, "extra": 1}, {k: v for k, v in body.items() if k != "expires_at"},
                    {**body, "expires_at": body["issued_at"]}, {**body, "issued_at": "yesterday"},
                    {**body, "version": True}, {**body, "target": {"kiosks": ["bad id!"]}}):
        try:
            check(spec_sign(json.dumps(changed).encode(), [KEY]))
        except Refusal as refusal:
            assert refusal.reason == "malformed", changed
        else:
            raise AssertionError(f"accepted {changed}")


def test_a_signed_payload_that_only_looks_well_formed_is_malformed():
    # Found by tests/fuzz/test_fuzz_config_envelope.py: the first two raised ValueError out of
    # verify, the next two passed `$` with a trailing newline, the last raised RecursionError.
    body = json.loads(payload(2, kiosks=["ADM-1"]))
    for changed in ({**body, "issued_at": "2026-13-45T25:61:00Z"},
                    {**body, "issued_at": "\u0662\u0660\u0662\u0666-12-01T08:00:00Z"},
                    {**body, "expires_at": body["expires_at"] + "\n"},
                    {**body, "target": {"kiosks": ["ADM-1\n"]}}):
        try:
            check(spec_sign(json.dumps(changed).encode(), [KEY]))
        except Refusal as refusal:
            assert refusal.reason == "malformed", changed
        else:
            raise AssertionError(f"accepted {changed}")
    deep = payload(2, kiosks=["ADM-1"]).replace(b'"settings": {}', b'"settings": {"x": ' + b"[" * 50000 + b"]" * 50000 + b"}")
    try:
        check(spec_sign(deep, [KEY]))
    except Refusal as refusal:
        assert refusal.reason == "malformed" and "deep" in refusal.detail
    else:
        raise AssertionError("a payload nested 50000 deep was accepted")


def test_every_reason_of_the_closed_list_is_documented():
    from tests.conftest import REPO

    assert REASONS == ("signature", "payload_type", "malformed", "rollback", "expired", "not_for_this_kiosk",
                       "invalid_settings", "health_check")          # the list, no more, no less
    table = (REPO / "docs" / "REMOTE-CONFIG.md").read_text()
    for reason in REASONS:
        assert f"| `{reason}` |" in table, f"{reason} has no row in docs/REMOTE-CONFIG.md"
