"""Fuzz the config-envelope verifier (kiosk.remote_config.verify): the DSSE envelope, its
Ed25519 signatures and the payload, which decide whether a pushed configuration runs.

Kept corpora: corpus/config_envelopes/ (envelopes as JSON, unsigned or badly signed: for the
shape) and corpus/config_payloads/ (payload bodies, signed at test time with a fresh key: 04
and 07 once made the verifier raise ValueError; 05 and 06 carried a trailing newline past
`$`; 08 nests too deep for json).

Properties: whatever arrives is a Verified or a Refusal with a reason from the closed list,
never another exception; a signed, well-formed payload is verified with its own fields and
settings; an envelope whose signed content (payloadType or payload bytes) or signature was
changed in any way is never verified; how the same bytes are base64-encoded, what keyid a
signature claims, and an extra untrusted signature change nothing.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

from hypothesis import assume, given, strategies as st

from kiosk.config import TrustedKey
from kiosk.remote_config.envelope import PAYLOAD_TYPE, REASONS, Refusal, read_envelope, utc_text
from kiosk.remote_config.verify import Verified, verify
from kiosk.settings import Settings
from tests.fixtures.config_envelopes import TestKey, spec_sign

from .corpus import budget, seeds, with_seeds

KEY, STRANGER = TestKey.new("dinas-2026"), TestKey.new("stranger")
TRUSTED = (TrustedKey(KEY.keyid, base64.b64decode(KEY.public_b64)),)
NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)


def check(envelope, floor: int | None = None) -> Verified:
    return verify(envelope, trusted_keys=TRUSTED, kiosk_id="ADM-1", group="g", floor=floor, now=NOW)


def outcome(envelope) -> Verified | Refusal:
    try:
        return check(envelope)
    except Refusal as refusal:
        assert refusal.reason in REASONS and "\n" not in refusal.detail[:480]
        return refusal


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=16),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=10)
B64 = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())


@budget(100)
@with_seeds([json.loads(raw) for raw in seeds("config_envelopes")])
@given(st.one_of(JSON, st.fixed_dictionaries({"payloadType": st.just(PAYLOAD_TYPE) | JSON, "payload": B64 | JSON,
                                              "signatures": st.lists(st.fixed_dictionaries(
                                                  {"keyid": st.text(max_size=8), "sig": B64}), max_size=3) | JSON})))
def test_any_envelope_is_verified_or_refused_with_a_reason(data) -> None:
    assert isinstance(outcome(data), Refusal)           # nothing here is signed by the trusted key


@budget(80)
@with_seeds(seeds("config_payloads"))
@given(st.binary(max_size=300))
def test_any_signed_payload_is_verified_or_refused_for_its_content(body: bytes) -> None:
    result = outcome(spec_sign(body, [KEY]))
    if isinstance(result, Refusal):
        assert result.reason not in ("signature", "payload_type")
        return
    data = json.loads(body)
    assert result.payload.version == data["version"] and result.keyid == KEY.keyid
    assert result.settings == Settings.from_mapping(data["settings"])


TIMES = st.datetimes(datetime(2000, 1, 1), datetime(2026, 12, 1)).map(lambda t: t.replace(tzinfo=timezone.utc))
PAYLOAD = st.fixed_dictionaries({
    "version": st.integers(1, 2 ** 53), "issued_at": TIMES,
    "expires_after": st.timedeltas(timedelta(seconds=1), timedelta(days=3650)),
    "target": st.sampled_from([{"kiosks": ["ADM-1"]}, {"groups": ["g"]}, {"kiosks": ["X"], "groups": ["g", "h"]}]),
    "settings": st.fixed_dictionaries({}, optional={"idle_timeout_s": st.integers(60, 600),
                                                    "enabled_kinds": st.just(["KK"]), "language": st.just("en"),
                                                    "announcement": st.text(max_size=30)})})


def body_of(fields: dict) -> bytes:
    issued = fields["issued_at"]
    expires = max(issued + fields["expires_after"], NOW + timedelta(seconds=1))
    return json.dumps({"version": fields["version"], "issued_at": utc_text(issued), "expires_at": utc_text(expires),
                       "target": fields["target"], "settings": fields["settings"]}).encode()


@budget(60)
@given(PAYLOAD)
def test_a_signed_well_formed_payload_is_verified_with_its_fields(fields: dict) -> None:
    verified = check(spec_sign(body_of(fields), [KEY]))
    assert verified.payload.version == fields["version"]
    assert verified.payload.issued_at == fields["issued_at"].replace(microsecond=0)
    assert verified.settings == Settings.from_mapping(fields["settings"])


def flip_bits(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for where, bit in edits:
        out[where % len(out)] ^= 1 << bit
    return bytes(out)


MUTATIONS = st.sampled_from(["payload", "payload_type", "signature", "signature_of_other_body", "stranger",
                             "truncate_payload", "append_payload", "text"])


@budget(150)
@given(PAYLOAD, MUTATIONS, st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 7)), min_size=1, max_size=3),
       st.data())
def test_a_changed_envelope_is_never_verified(fields: dict, mutation: str, edits, data) -> None:
    body = body_of(fields)
    good = spec_sign(body, [KEY])
    signature = base64.b64decode(good["signatures"][0]["sig"])
    envelope = json.loads(json.dumps(good))
    if mutation == "payload":
        envelope["payload"] = base64.b64encode(flip_bits(body, edits)).decode()
    elif mutation == "truncate_payload":
        envelope["payload"] = base64.b64encode(body[:edits[0][0] % len(body)]).decode()
    elif mutation == "append_payload":
        envelope["payload"] = base64.b64encode(body + b" ").decode()
    elif mutation == "payload_type":
        envelope["payloadType"] = data.draw(st.sampled_from([PAYLOAD_TYPE + " ", PAYLOAD_TYPE.upper(),
                                                             "application/json", PAYLOAD_TYPE[:-1]]))
    elif mutation == "signature":
        envelope["signatures"][0]["sig"] = base64.b64encode(flip_bits(signature, edits)).decode()
    elif mutation == "signature_of_other_body":
        envelope["signatures"] = spec_sign(body + b"\n", [KEY])["signatures"]
    elif mutation == "stranger":
        envelope["signatures"] = spec_sign(body, [STRANGER], keyids=[KEY.keyid])["signatures"]
    else:                                   # any character of the envelope's JSON text
        text = json.dumps(good)
        where = edits[0][0] % len(text)
        replacement = data.draw(st.characters(codec="ascii"), label="character")
        try:
            envelope = json.loads(text[:where] + replacement + text[where + 1:])
        except ValueError:
            return                          # not JSON: the dinas client refuses it first
    try:
        parts = read_envelope(envelope)
    except Refusal:
        return
    # Only a change of encoding leaves the signed content as it was (base64's padding bits,
    # the keyid hint, a field the verifier does not read).
    unchanged = (parts.payload_type == PAYLOAD_TYPE and parts.body == body and signature in dict(
        (raw, hint) for hint, raw in parts.signatures))
    assume(not unchanged)
    result = outcome(envelope)
    assert isinstance(result, Refusal), f"{mutation} was verified"
    assert result.reason in ("signature", "malformed") or mutation == "text"


@budget(40)
@given(PAYLOAD, st.booleans(), st.text(max_size=10))
def test_the_encoding_the_keyid_and_an_untrusted_signature_change_nothing(fields: dict, urlsafe: bool,
                                                                         keyid: str) -> None:
    body = body_of(fields)
    envelope = spec_sign(body, [STRANGER, KEY], keyids=[KEY.keyid, keyid])
    if urlsafe:
        swap = str.maketrans("+/", "-_")
        envelope = {**envelope, "payload": envelope["payload"].translate(swap),
                    "signatures": [{**s, "sig": s["sig"].translate(swap)} for s in envelope["signatures"]]}
    assert check(envelope).keyid == KEY.keyid
    assert isinstance(outcome({**envelope, "signatures": envelope["signatures"][:1]}), Refusal)
