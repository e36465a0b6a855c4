"""The IPP wire codec, the URL forms, and the printer-state-reasons mapping."""

from __future__ import annotations

import pytest

from devices import ipp
from devices.ipp import Attr
from devices.status import Consumable, DeviceState, FaultCode, SupplyLevel
from printer_drivers.a4 import resolve_printer_uri
from printer_drivers.ipp import faults_from_reasons, http_url, status_from_attributes


def test_request_round_trip_keeps_every_value_type():
    message = ipp.request(ipp.PRINT_JOB, 7, "ipp://localhost:631/printers/KK-A4", {
        "requesting-user-name": Attr.of(ipp.NAME, "kiosk"),
        "requested-attributes": Attr.of(ipp.KEYWORD, "job-state", "job-state-reasons"),
        "job-id": Attr.of(ipp.INTEGER, 42),
        "purge-job": Attr.of(ipp.BOOLEAN, True),
        "copies-supported": Attr.of(ipp.RANGE_OF_INTEGER, (1, 99)),
        "printer-resolution": Attr.of(ipp.RESOLUTION, (600, 600, 3)),
        "media-col": Attr.of(ipp.BEGIN_COLLECTION, {"media-size-name": "iso_a4_210x297mm",
                                                    "media-top-margin": 0}),
    }, job_attrs={"copies": Attr.of(ipp.INTEGER, 1)}, data=b"%PDF-1.4 body")
    decoded = ipp.decode(ipp.encode(message))
    op = decoded.group(ipp.OPERATION_GROUP)
    assert (decoded.code, decoded.request_id, decoded.data) == (ipp.PRINT_JOB, 7, b"%PDF-1.4 body")
    assert op["attributes-charset"] == ["utf-8"]
    assert op["requested-attributes"] == ["job-state", "job-state-reasons"]
    assert op["job-id"] == [42] and op["purge-job"] == [True]
    assert op["copies-supported"] == [(1, 99)] and op["printer-resolution"] == [(600, 600, 3)]
    assert op["media-col"] == [{"media-size-name": ["iso_a4_210x297mm"], "media-top-margin": [0]}]
    assert decoded.group(ipp.JOB_GROUP) == {"copies": [1]}


def test_status_names_and_out_of_band_values():
    raw = ipp.encode(ipp.IppMessage(ipp.NOT_FOUND, 3, [(ipp.OPERATION_GROUP, {
        "status-message": Attr.of(ipp.TEXT, "no such job"),
        "job-state-message": Attr(ipp.NO_VALUE, ())})]))
    reply = ipp.decode(raw)
    assert not reply.ok and reply.status_name == "client-error-not-found"
    assert reply.value(ipp.OPERATION_GROUP, "job-state-message", "x") is None


@pytest.mark.parametrize("data, says", [
    (b"", "truncated"),
    (b"\x01\x01\x00\x02", "truncated"),
    (b"\x09\x00\x00\x02\x00\x00\x00\x01\x03", "version"),
    (b"\x01\x01\x00\x02\x00\x00\x00\x01\x01\x21\x00\x05job-i", "truncated"),
    (b"\x01\x01\x00\x02\x00\x00\x00\x01\x21\x00\x01a\x00\x04\x00\x00\x00\x01\x03", "before any group"),
    (b"\x01\x01\x00\x02\x00\x00\x00\x01\x01", "truncated"),
])
def test_malformed_messages_are_refused(data, says):
    with pytest.raises(ipp.IppError, match=says):
        ipp.decode(data)


def nested_collections(depth: int) -> bytes:
    """A Get-Printer-Attributes reply whose media-col holds `depth` collections, one in another."""
    header = b"\x01\x01\x00\x00\x00\x00\x00\x01\x04" + b"\x34\x00\x09media-col\x00\x00"
    opening = b"\x4a\x00\x00\x00\x01m" + b"\x34\x00\x00\x00\x00"
    closing = b"\x37\x00\x00\x00\x00"
    return header + opening * (depth - 1) + closing * depth + b"\x03"


def test_collections_nested_up_to_the_limit_decode():
    reply = ipp.decode(nested_collections(ipp.MAX_COLLECTION_DEPTH))
    value, depth = reply.value(ipp.PRINTER_GROUP, "media-col"), 1
    while value:
        value, depth = value["m"][0], depth + 1
    assert depth == ipp.MAX_COLLECTION_DEPTH and value == {}


@pytest.mark.parametrize("depth", [ipp.MAX_COLLECTION_DEPTH + 1, 700, 20_000])
def test_collections_nested_too_deep_are_an_ipp_error_not_a_recursion_error(depth):
    # Found by tests/fuzz (corpus/ipp/04-deeply-nested-collections): 700 levels used to
    # exhaust the stack with RecursionError, which no caller catches.
    with pytest.raises(ipp.IppError, match=f"nested deeper than {ipp.MAX_COLLECTION_DEPTH}"):
        ipp.decode(nested_collections(depth))


@pytest.mark.parametrize("url, endpoint", [
    ("ipp://localhost/printers/KK-A4", "http://localhost:631/printers/KK-A4"),
    ("ipp://127.0.0.1:8631/printers/KK-A4", "http://127.0.0.1:8631/printers/KK-A4"),
    ("ipps://printer.local:443/ipp/print", "https://printer.local:443/ipp/print"),
])
def test_ipp_urls_ride_on_http(url, endpoint):
    assert http_url(url) == endpoint


def test_bare_queue_name_is_the_local_cups(monkeypatch):
    monkeypatch.delenv("CUPS_SERVER", raising=False)
    assert resolve_printer_uri("KK-A4") == "ipp://localhost:631/printers/KK-A4"
    monkeypatch.setenv("CUPS_SERVER", "/run/cups/cups.sock")
    assert resolve_printer_uri("KK-A4") == "ipp://localhost:631/printers/KK-A4"
    monkeypatch.setenv("CUPS_SERVER", "cups.lan:8631")
    assert resolve_printer_uri("KK-A4") == "ipp://cups.lan:8631/printers/KK-A4"
    monkeypatch.setenv("CUPS_SERVER", "cups.lan")
    assert resolve_printer_uri("KK-A4") == "ipp://cups.lan:631/printers/KK-A4"
    assert resolve_printer_uri("ipp://h:1/printers/Q?timeout=3") == "ipp://h:1/printers/Q"


@pytest.mark.parametrize("reason, code", [
    ("media-empty-error", FaultCode.PAPER_OUT), ("media-needed", FaultCode.PAPER_OUT),
    ("media-low-warning", FaultCode.PAPER_LOW), ("media-jam-report", FaultCode.MEDIA_JAM),
    ("door-open-error", FaultCode.COVER_OPEN), ("cover-open", FaultCode.COVER_OPEN),
    ("toner-empty-error", FaultCode.TONER_OUT), ("marker-supply-low-warning", FaultCode.TONER_LOW),
    ("toner-low-report", FaultCode.TONER_LOW), ("offline-report", FaultCode.OFFLINE),
    ("paused", FaultCode.OFFLINE), ("fuser-over-temp-error", FaultCode.HARDWARE),
])
def test_reason_keywords_map_to_faults(reason, code):
    assert [f.code for f in faults_from_reasons([reason])] == [code]


@pytest.mark.parametrize("reasons", [["none"], ["cups-waiting-for-job-completed"],
                                     ["some-vendor-thing-report"], ["moving-to-paused"],
                                     ["some-vendor-thing-error"], ["com.hp-tray3-sensor-warning"]])
def test_informational_reasons_are_not_faults(reasons):
    assert faults_from_reasons(reasons) == []


def test_stopped_printer_without_a_reason_is_offline():
    status = status_from_attributes({"printer-state": [ipp.PRINTER_STOPPED],
                                     "printer-state-reasons": ["none"],
                                     "printer-state-message": ["Paused by technician"]})
    assert status.state == DeviceState.OFFLINE
    assert status.faults[0].detail == "Paused by technician"


def test_marker_levels_give_the_toner_count():
    status = status_from_attributes({"printer-state": [ipp.PRINTER_IDLE],
                                     "marker-levels": [7, -1], "marker-low-levels": [10, 10],
                                     "marker-types": ["toner", "waste-toner"]})
    toner = status.supply(Consumable.TONER)
    assert (toner.level, toner.count) == (SupplyLevel.LOW, 7)
    assert status.state == DeviceState.READY


@pytest.mark.parametrize("attrs", [
    {"printer-state": [ipp.PRINTER_IDLE], "printer-state-reasons": ["com.example-tray-sensor-error"]},
    {"printer-state": [7], "printer-state-reasons": ["none"]},                  # not an enum value we know
    {"printer-state": [b"\x00\x03"], "printer-state-reasons": ["none"]},      # an odd value tag
    {"printer-state": [ipp.PRINTER_PROCESSING], "printer-state-reasons": ["x-new-pwg-thing-report"],
     "marker-levels": [-2], "marker-types": ["toner"]},
])
def test_an_unexpected_printer_status_is_unknown_not_a_refusal(attrs, caplog):
    """Issue 9: what we cannot read is noted once per device, and the printer stays usable."""
    import logging
    from devices.unreadable import UnreadableAnswers
    notes = UnreadableAnswers(logging.getLogger("a4-test"), "a4_printer")
    with caplog.at_level(logging.WARNING, logger="a4-test"):
        for _ in range(3):
            status = status_from_attributes(attrs, unreadable=notes)
    assert status.usable and not status.faults and status.state in (DeviceState.READY, DeviceState.BUSY)
    assert len(caplog.records) == 1 and "cannot read" in caplog.records[0].getMessage()
    assert status.supply(Consumable.TONER).level == SupplyLevel.UNKNOWN


def test_a_stopped_printer_with_an_unknown_reason_is_still_offline():
    status = status_from_attributes({"printer-state": [ipp.PRINTER_STOPPED],
                                     "printer-state-reasons": ["com.example-tray-sensor-error"]})
    assert status.state == DeviceState.OFFLINE and not status.usable
    assert status.capabilities["unknown_reasons"] == ["com.example-tray-sensor-error"]
