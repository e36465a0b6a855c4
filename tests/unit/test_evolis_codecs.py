"""Dbc / Db codecs: the host's encoders against the simulator's independent decoders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from devices.sim.evolis_decode import StreamError, decode_mono, decode_runs, unpack_levels
from printer_drivers.evolis.compression import encode_mono, encode_runs, max_run
from printer_drivers.evolis.imaging import pack_levels

LEVELS = [32, 64, 128]


@st.composite
def run_panels(draw, levels):
    """Panels made of runs (like real cards), with lines of random width."""
    lines = draw(st.integers(1, 6))
    width = draw(st.integers(1, 1200))
    runs = draw(st.lists(st.tuples(st.integers(0, levels - 1), st.integers(1, 1100)), min_size=1, max_size=12))
    flat = np.concatenate([np.full(length, value, np.uint8) for value, length in runs])
    flat = np.resize(flat, lines * width)
    return flat.reshape(lines, width)


@pytest.mark.parametrize("levels", LEVELS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_run_length_round_trip(levels, data):
    panel = data.draw(run_panels(levels))
    encoded = encode_runs(panel, levels)
    decoded = decode_runs(encoded, levels, width=panel.shape[1], lines=panel.shape[0])
    assert np.array_equal(decoded, panel)


@pytest.mark.parametrize("levels", LEVELS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_run_length_round_trip_noise(levels, data):
    panel = data.draw(arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 300)),
                             elements=st.integers(0, levels - 1)))
    decoded = decode_runs(encode_runs(panel, levels), levels, width=panel.shape[1], lines=panel.shape[0])
    assert np.array_equal(decoded, panel)


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 8), st.just(81)),
              elements=st.sampled_from([0, 0, 0, 0xFF, 0x55, 1, 0x80])))
def test_mono_round_trip(packed):
    decoded = decode_mono(encode_mono(packed), lines=packed.shape[0])
    assert np.array_equal(decoded, np.unpackbits(packed, axis=1))


@pytest.mark.parametrize("levels", [2, *LEVELS])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_uncompressed_round_trip(levels, data):
    lines = data.draw(st.integers(1, 4))
    panel = data.draw(arrays(np.uint8, (lines, 648), elements=st.integers(0, levels - 1)))
    assert np.array_equal(unpack_levels(pack_levels(panel, levels), levels, lines=lines), panel)


def test_mono_line_forms():
    packed = np.zeros((4, 81), np.uint8)
    packed[1] = 0xFF
    packed[2, :3] = [0x80, 0, 0x01]
    packed[3, 80] = 0x01
    assert encode_mono(packed) == b"\x00" + b"\xff" + b"\x03\x80\x00\x01" + b"\x51" + bytes(80) + b"\x01"


@pytest.mark.parametrize("levels", LEVELS)
def test_runs_use_spare_bits_and_blank_tail(levels):
    longest = max_run(levels)
    assert longest == {32: 1023, 64: 511, 128: 255}[levels]
    line = np.zeros(648, np.uint8)
    line[:600] = levels - 1
    line[600] = 1
    encoded = encode_runs(line[None], levels)
    # 600 pixels take one token where the count fits, then one literal, then the blank tail.
    tokens = 1 if longest >= 600 else -(-600 // longest)
    assert len(encoded) == 2 * tokens + 1 + 2
    assert encoded[-2:] == b"\x80\x00"


@pytest.mark.parametrize("bad, message", [
    (b"\x00" * 3, "ends at line"),
    (b"\x52" + bytes(82) + b"\x00\x00", "bad length"),
    (b"\x00" * 5, "left after"),
])
def test_mono_decoder_refuses_malformed(bad, message):
    with pytest.raises(StreamError, match=message):
        decode_mono(bad, lines=4)


@pytest.mark.parametrize("bad, message", [
    (b"\x05", "ends at pixel"),
    (b"\x85", "without its count"),
    (b"\x40" + b"\x80\x00", "does not fit"),
    (b"\x81\x09", "crosses the end"),
    (b"\x80\x00\x80\x00\x01", "left after"),
])
def test_run_decoder_refuses_malformed(bad, message):
    with pytest.raises(StreamError, match=message):
        decode_runs(bad, 32, width=8, lines=2)


def test_encoder_refuses_values_beyond_levels():
    with pytest.raises(ValueError, match="does not fit"):
        encode_runs(np.full((1, 8), 40, np.uint8), 32)


@pytest.mark.parametrize("stream", [b"\x1bDb\r", b"\x1bDbc\r", b"\x1bSs\r\x1bDb\r"])
def test_a_panel_command_without_its_parameters_is_a_stream_error(stream):
    # Found by atheris (tests/fuzz/corpus/evolis_stream/06): a bare Db raised IndexError.
    from devices.sim.evolis_decode import decode_stream
    with pytest.raises(StreamError, match="panel and a level count"):
        decode_stream(stream)
