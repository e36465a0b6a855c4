"""ScannerReader on a real pty and a socket against the scanner simulator."""

import queue
from contextlib import contextmanager

import pytest

from devices.scanner import ScannerReader, ScanRejected, parse_scan
from devices.sim.scanner import ScannerSimulator
from devices.sim.serve import serve_pty, serve_socket
from devices.status import DeviceState, FaultCode

VALID = "ADM1:REQ-20261122-AB12CD"


def reader_for(url, **options):
    """A started reader (quick retries and partial timeout unless `options` say otherwise),
    its scans and its states, each in a queue."""
    reader = ScannerReader(url, **{"retry_interval": 0.05, "partial_timeout": 0.2, **options})
    scans, states = queue.Queue(), queue.Queue()
    reader.events.subscribe(scans.put)
    reader.status_events.subscribe(lambda s: states.put(s.state))
    return reader.start(), scans, states


def wait_for_state(states, wanted, timeout=3.0):
    while True:
        if states.get(timeout=timeout) == wanted:
            return


@contextmanager
def reading(sim, serve=serve_pty, **options):
    """The simulator served (on a pty unless `serve` says otherwise) and a reader on it, once
    READY: (reader, scans, states, link); the reader stops after."""
    with serve(sim) as link:
        reader, scans, states = reader_for(link.url, **options)
        try:
            wait_for_state(states, DeviceState.READY)
            yield reader, scans, states, link
        finally:
            reader.stop()


@pytest.mark.parametrize("terminator", ["cr", "lf", "crlf"])
def test_a_valid_qr_gives_the_request_number(terminator):
    sim = ScannerSimulator(terminator)
    with reading(sim) as (reader, scans, _, link):
        sim.scan(VALID)
        sim.scan(VALID.replace("AB12CD", "ZZ99ZZ"))
        first, second = scans.get(timeout=2), scans.get(timeout=2)
        assert parse_scan(first) == "REQ-20261122-AB12CD"
        assert parse_scan(second) == "REQ-20261122-ZZ99ZZ"
        assert first.source == f"serial:{link.url}"
        assert scans.empty()                  # CR LF is one terminator, not an empty scan
        assert reader.status().state == DeviceState.READY


@pytest.mark.parametrize("inject, reason", [
    (lambda sim: sim.scan_garbage(), "garbage"),
    (lambda sim: sim.scan("https://example.com/promo"), "not_adm_code"),
    (lambda sim: sim.scan("ADM1:REQ-2026-XYZ"), "malformed_request"),
    (lambda sim: sim.scan_partial(VALID), "incomplete"),
])
def test_bad_scans_are_rejected_with_the_reason(inject, reason):
    sim = ScannerSimulator()
    with reading(sim) as (_, scans, _, _):
        inject(sim)
        with pytest.raises(ScanRejected) as caught:
            parse_scan(scans.get(timeout=2))
        assert caught.value.reason_code == reason
        sim.scan(VALID)                        # the next good scan still reads cleanly
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-AB12CD"


def test_the_tail_of_an_over_long_code_is_not_a_scan_of_its_own():
    # Found by tests/fuzz/test_fuzz_scanner.py: a code that outgrew the limit was handed on cut,
    # and what came after the cut, up to the terminator, was then read as a new code.
    sim = ScannerSimulator()
    with reading(sim, partial_timeout=5.0, max_length=64) as (_, scans, _, _):
        sim.send(b"X" * 100)                            # no terminator yet
        with pytest.raises(ScanRejected) as caught:
            parse_scan(scans.get(timeout=2))
        assert caught.value.reason_code == "too_long"
        sim.scan(VALID)                                # the same code's end
        sim.scan(VALID.replace("AB12CD", "ZZ99ZZ"))    # the next scan
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-ZZ99ZZ"
        assert scans.empty()


def test_socket_hang_up_then_the_scanner_comes_back():
    sim = ScannerSimulator()
    with reading(sim, serve_socket) as (_, scans, states, _):
        # A scan first: TCP connects before the listener accepts, and the accept
        # powers the simulator on again, which would undo an earlier hang-up.
        sim.scan(VALID)
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-AB12CD"
        sim.disconnect()
        wait_for_state(states, DeviceState.NO_DEVICE)
        wait_for_state(states, DeviceState.READY)      # the listener takes the reconnect
        sim.scan(VALID)
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-AB12CD"


def test_pty_unplug_is_reported_as_no_device():
    sim = ScannerSimulator()
    with reading(sim) as (reader, _, states, _):
        sim.disconnect()
        wait_for_state(states, DeviceState.NO_DEVICE)
        assert reader.status().has_fault(FaultCode.DISCONNECTED)


def test_a_missing_scanner_is_no_device():
    reader, _, states = reader_for("serial:///dev/ttyACM-missing")
    try:
        wait_for_state(states, DeviceState.NO_DEVICE)
    finally:
        reader.stop()


def test_sim_scanner_url_runs_the_built_in_simulator():
    reader, scans, states = reader_for("sim:scanner")
    try:
        wait_for_state(states, DeviceState.READY)
        reader.simulator.scan(VALID)
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-AB12CD"
        reader.simulator.disconnect()
        wait_for_state(states, DeviceState.NO_DEVICE)
        wait_for_state(states, DeviceState.READY)          # back on a fresh pty
        reader.simulator.scan(VALID)
        assert parse_scan(scans.get(timeout=2)) == "REQ-20261122-AB12CD"
    finally:
        reader.stop()


@pytest.mark.parametrize("url", ["sim:printer", "ftp://scanner"])
def test_bad_scanner_urls_are_refused(url):
    with pytest.raises(ValueError):
        ScannerReader(url)
