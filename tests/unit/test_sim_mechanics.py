"""The printer simulators' mechanical time (issue 13): the model, proved on a test clock."""

import pytest

from devices.sim.escpos import EscPosSimulator
from devices.sim.evolis import EvolisSimulator
from devices.sim.mechanics import CARD_TIMING, RECEIPT_TIMING, Mechanism
from printer_drivers.evolis.protocol import download_frame, frame
from printer_drivers.receipt import compose_test_page


class ManualClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


WHITE_1BIT = b"\x00" * 1016          # Dbc: a white line is one 0x00


def feed_card(sim, front=("y", "m", "c", "k", "o"), back=("k", "o")):
    stream = frame("Pr", "ymcko") + frame("Ss") + frame("Sr")
    for side, panels in ((b"", front), (frame("Sv"), back)):
        stream += side if panels else b""
        for panel in panels:
            levels = 2 if panel in "ko" else 32
            payload = WHITE_1BIT if levels == 2 else bytes([0x80, 0]) * 1016
            stream += download_frame(panel, levels, payload, True)
    sim.feed(stream + frame("Se"))
    replies = sim.take_output().split(b"\r")
    assert all(r == b"OK" for r in replies if r), replies


def card_out_after(sim, clock):
    """Seconds of the test clock until Rlr;p stops answering CARD."""
    start = clock.now
    while True:
        sim.feed(frame("Rlr", "p"))
        if sim.take_output() != b"CARD\r":
            return round(clock.now - start, 1)
        clock.now += 0.5


def test_card_times_colour_and_mono_sides_with_a_cold_start_and_after_idle():
    clock = ManualClock()
    sim = EvolisSimulator(mechanism=Mechanism(CARD_TIMING, 1.0, clock))
    feed_card(sim)
    assert card_out_after(sim, clock) == 15 + 20 + 8            # cold start, colour front, K/O back
    feed_card(sim)
    assert card_out_after(sim, clock) == 20 + 8                 # warm
    feed_card(sim, front=("k",), back=())
    assert card_out_after(sim, clock) == 8                      # one K-only side
    clock.now += 601                                            # the heads cooled
    feed_card(sim)
    assert card_out_after(sim, clock) == 6 + 20 + 8
    clock.now += 30
    feed_card(sim)                                              # a long time on the wire counts too
    clock.now += 100
    assert card_out_after(sim, clock) == 0
    # Each card's own mechanical time is kept, for the family-wait benchmark.
    jobs = sim.mechanism.jobs
    assert [job.seconds for job in jobs] == [43, 28, 8, 34, 28]
    assert all(job.out == job.began + job.seconds for job in jobs)


def test_a_card_whose_data_comes_late_is_out_after_its_mechanical_time():
    clock = ManualClock()
    sim = EvolisSimulator(mechanism=Mechanism(CARD_TIMING, 1.0, clock))
    sim.feed(frame("Pr", "ymcko") + frame("Ss") + frame("Sr"))
    clock.now += 50                                             # the host sends the panels slowly
    sim.feed(download_frame("k", 2, WHITE_1BIT, True) + frame("Se"))
    (job,) = sim.mechanism.jobs
    assert (job.seconds, job.out - job.began) == (15 + 8, 50)   # the printer's 23 s, the host's 27


def test_zero_speed_by_default_and_a_scaled_clock():
    assert EvolisSimulator().mechanism.job_seconds(28) == 0
    clock = ManualClock()
    sim = EvolisSimulator.from_params({"speed": "realistic", "time_scale": "0.1"})
    sim.mechanism.clock = clock
    feed_card(sim)
    assert card_out_after(sim, clock) == 4.5                    # (15 + 20 + 8) × 0.1, to the 0.5 s poll


def test_receipts_come_out_one_after_another():
    clock = ManualClock()
    sim = EscPosSimulator(mechanism=Mechanism(RECEIPT_TIMING, 1.0, clock))
    page = compose_test_page("sim:receipt_printer")
    sim.feed(page)
    sim.feed(page)
    assert sim.receipts_out_at == [clock.now + 1 + 2, clock.now + 1 + 2 + 2]
    assert [(job.seconds, job.out) for job in sim.mechanism.jobs] == [(3, clock.now + 3), (2, clock.now + 5)]
    assert sim.cuts == 0
    clock.now += 3
    assert sim.cuts == 1
    clock.now += 2
    assert sim.cuts == 2


@pytest.mark.parametrize("params, says", [
    ({"speed": "fast"}, "speed='fast': one of zero, realistic"),
    ({"speed": "realistic", "time_scale": "quick"}, "time_scale='quick': a number"),
    ({"speed": "realistic", "time_scale": "-1"}, "time scale must be a number >= 0"),
    ({"time_scale": "0.1"}, "time_scale applies to speed=realistic only"),
])
def test_bad_speed_options_are_refused(params, says):
    with pytest.raises(ValueError, match=says):
        Mechanism.from_params(params, CARD_TIMING)
    with pytest.raises(ValueError):
        EvolisSimulator.from_params(params)
