"""Fuzz the IPP decoder (devices.ipp), which reads every reply of CUPS or an IPP printer.

Kept corpus (corpus/ipp/): whole messages as they travel, one per file: real request and reply
shapes, and the cases that once broke the decoder (04: ~700 nested collections raised
RecursionError).

Properties: any bytes decode to an IppMessage or raise IppError, never another exception;
a message the encoder made decodes to the same values (every value tag, collections in
collections); every cut of an encoded message before its end-of-attributes tag is an IppError
that says so.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from devices import ipp
from devices.ipp import Attr, IppError, IppMessage

from .corpus import budget, seeds, with_seeds

INT32 = st.integers(-2 ** 31, 2 ** 31 - 1)
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


def flip(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for where, value in edits:
        if out:
            out[where % len(out)] = value
    return bytes(out)


@budget(150)
@with_seeds(seeds("ipp"))
@given(st.binary(max_size=300))
def test_any_bytes_are_a_message_or_an_ipp_error(data: bytes) -> None:
    try:
        message = ipp.decode(data)
    except IppError:
        return
    assert isinstance(message, IppMessage) and message.version[0] in (1, 2)
    for group_tag, attrs in message.groups:
        assert group_tag < 0x10 and all(isinstance(values, list) for values in attrs.values())


@budget(60)
@given(st.sampled_from(seeds("ipp")), st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=6))
def test_a_damaged_kept_message_is_a_message_or_an_ipp_error(seed: bytes, edits) -> None:
    try:
        ipp.decode(flip(seed, edits))
    except IppError:
        pass


def scalar(tag: int) -> st.SearchStrategy[tuple[Any, Any]]:
    """(value to encode, value the decoder gives back) for one value tag."""
    same = lambda strategy: strategy.map(lambda v: (v, v))                     # noqa: E731
    if tag in (ipp.INTEGER, ipp.ENUM):
        return same(INT32)
    if tag == ipp.BOOLEAN:
        return same(st.booleans())
    if tag == ipp.RANGE_OF_INTEGER:
        return same(st.tuples(INT32, INT32))
    if tag == ipp.RESOLUTION:
        return same(st.tuples(INT32, INT32, st.integers(-128, 127)))
    if tag in (ipp.OCTET_STRING, ipp.DATE_TIME):
        return same(st.binary(max_size=20))
    if tag in (ipp.TEXT_WITH_LANGUAGE, ipp.NAME_WITH_LANGUAGE):
        return st.tuples(st.sampled_from(["en", "id", "en-us"]), TEXT).map(lambda v: (v, v[1]))
    if tag in (ipp.UNSUPPORTED_VALUE, ipp.UNKNOWN_VALUE, ipp.NO_VALUE):
        return st.just((None, None))
    return same(TEXT)                                          # the string tags


SCALAR_TAGS = [ipp.INTEGER, ipp.ENUM, ipp.BOOLEAN, ipp.RANGE_OF_INTEGER, ipp.RESOLUTION, ipp.OCTET_STRING,
               ipp.DATE_TIME, ipp.TEXT_WITH_LANGUAGE, ipp.NAME_WITH_LANGUAGE, ipp.NO_VALUE, ipp.UNKNOWN_VALUE,
               ipp.TEXT, ipp.NAME, ipp.KEYWORD, ipp.URI, ipp.CHARSET, ipp.LANGUAGE, ipp.MIME_TYPE]


def attribute(depth: int) -> st.SearchStrategy[tuple[Attr, list[Any]]]:
    """(Attr to encode, the list of values decode must give back), collections `depth` deep."""
    def values_of(tag: int):
        if tag == ipp.BEGIN_COLLECTION:
            return st.lists(collection(depth - 1), min_size=1, max_size=2)
        return st.lists(scalar(tag), min_size=1, max_size=3)
    tags = st.sampled_from(SCALAR_TAGS + ([ipp.BEGIN_COLLECTION] if depth > 0 else []))
    return tags.flatmap(lambda tag: values_of(tag).map(
        lambda pairs: (Attr(tag, tuple(p[0] for p in pairs)), [p[1] for p in pairs])))


def collection(depth: int) -> st.SearchStrategy[tuple[dict, dict]]:
    return st.dictionaries(NAMES, attribute(depth), max_size=3).map(
        lambda members: ({name: attr for name, (attr, _) in members.items()},
                         {name: decoded for name, (_, decoded) in members.items()}))


GROUPS = st.lists(st.tuples(st.sampled_from([ipp.OPERATION_GROUP, ipp.JOB_GROUP, ipp.PRINTER_GROUP,
                                             ipp.UNSUPPORTED_GROUP]),
                            st.dictionaries(NAMES, attribute(3), max_size=4)), max_size=3)


@budget(80)
@given(st.integers(0, 0xFFFF), st.integers(0, 2 ** 32 - 1), GROUPS, st.binary(max_size=40))
def test_what_the_encoder_makes_decodes_to_the_same_values(code, request_id, groups, data) -> None:
    message = IppMessage(code, request_id, [(tag, {n: a for n, (a, _) in attrs.items()}) for tag, attrs in groups],
                         data)
    decoded = ipp.decode(ipp.encode(message))
    assert (decoded.code, decoded.request_id, decoded.data, decoded.version) == (code, request_id, data, (1, 1))
    assert decoded.groups == [(tag, {n: values for n, (_, values) in attrs.items()}) for tag, attrs in groups]


@budget(40)
@given(GROUPS.filter(bool), st.data())
def test_every_cut_before_the_end_of_attributes_is_an_ipp_error(groups, data) -> None:
    message = IppMessage(ipp.OK, 1, [(tag, {n: a for n, (a, _) in attrs.items()}) for tag, attrs in groups])
    encoded = ipp.encode(message)
    cut = data.draw(st.integers(0, len(encoded) - 1), label="cut")
    try:
        ipp.decode(encoded[:cut])
    except IppError as error:
        assert "truncated" in str(error)
    else:
        raise AssertionError(f"a message cut at byte {cut} of {len(encoded)} decoded")
