"""The printer's answers to the status reads -> one `DeviceStatus` (see docs/CARD-PRINTER.md).

The status read is a fixed list of read commands; each answer is mapped on its own, so a
printer that answers one of them oddly still reports the rest. An answer this driver cannot
read (a word it does not know, a sensor voltage with no threshold table for the model, an
``ERR COMMAND`` from firmware without that read) makes that sensor or supply `unknown`,
noted once with the raw answer, and never takes the printer out of service: the print
itself still hears ``ERR …`` when something is really wrong. ``ERR`` answers that name a
fault (``ERR NEED CLEANING``, ``ERR CARD``, ``ERR COVER OPEN`` …) stay faults.
"""

from __future__ import annotations

from typing import Mapping

from devices.status import (Consumable, DeviceError, DeviceState, DeviceStatus, Fault, FaultCode, Severity, Supply,
                            SupplyLevel)
from devices.unreadable import UnreadableAnswers

from .protocol import Answer
from .sensors import UNKNOWN, Threshold, read_sensor

ROLE = "card_printer"
RIBBON_LOW_PRINTS = 20

# key -> the command that reads it
STATUS_READS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cover", ("Rse", "o")),          # CLOSED | OPEN, or volts (sensors.py)
    ("feeder", ("Rse", "m")),         # CARDS | LOW | EMPTY, or volts
    ("card", ("Rlr", "p")),           # OK / NO CARD | CARD / SMART CARD / CONTACTLESS CARD | ERR CARD
    ("cleaning", ("Rlr", "r")),       # OK | ERR NEED CLEANING
    ("ribbon_left", ("Rco", "l")),    # cards left on the ribbon (integer)
)
CARD_INSIDE = ("CARD", "SMART CARD", "CONTACTLESS CARD")
NO_CARD = ("OK", "NO CARD")
CARD_LEFT_INSIDE = "card left inside"     # the media_jam detail for a card no print is handling
_FEEDER_LEVELS = {"cards": SupplyLevel.FULL, "low": SupplyLevel.LOW, "empty": SupplyLevel.OUT, UNKNOWN: SupplyLevel.UNKNOWN}


def card_position(answer: Answer) -> bool | None:
    """True while a card is in the printer (printing, or waiting to come out), False when
    there is none, None for an answer we cannot read. DeviceError for a stuck card (ERR CARD)."""
    answer.raise_for_fault()
    text = answer.text.strip().upper()
    if text in CARD_INSIDE:
        return True
    if text in NO_CARD:
        return False
    return None


def card_inside(answer: Answer) -> bool:
    """`card_position`, where an unreadable answer is a protocol error (crash recovery must
    know, not guess, whether a card is inside)."""
    inside = card_position(answer)
    if inside is None:
        raise DeviceError(FaultCode.PROTOCOL_ERROR, f"Rlr;p answered {answer.text!r}")
    return inside


def build_status(answers: Mapping[str, Answer], capabilities: Mapping[str, object], *,
                 card_expected: bool = True, thresholds: Mapping[str, Threshold] | None = None,
                 unreadable: UnreadableAnswers | None = None) -> DeviceStatus:
    """`card_expected`: the driver is printing, so a card inside is its own (busy). When it
    runs no print (False), a card inside was left by a crash, a power cut or a refused
    reject and nothing will take it out: media_jam ("card left inside") until it is cleared,
    so the KIA is not offered and no next card is fed into it. `thresholds`: the sensor
    table for this model (sensors.py); `unreadable` notes odd answers once per device."""
    faults: list[Fault] = []
    supplies: list[Supply] = []
    sensors: dict[str, str] = {}
    busy = False

    def cannot_read(key: str, meaning: str) -> None:
        sensors[key] = UNKNOWN
        if unreadable is not None:
            answer = answers[key]
            unreadable.note(answer.command, answer.fault.detail if answer.fault else answer.text, meaning)

    def read(key: str) -> str | None:
        """The answer's text, or None when it is a fault (kept) or a refused read (unknown)."""
        answer = answers.get(key)
        if answer is None:
            return None
        if answer.fault is None:
            return answer.text.strip().upper()
        if answer.fault.code == FaultCode.COMMAND_REJECTED:    # firmware without this read
            cannot_read(key, f"{key} unknown")
        else:
            faults.append(answer.fault)
        return None

    def sensor(key: str) -> str | None:
        """The sensor's state (sensors.py), `unknown` noted with why; None when `read` gave none."""
        text = read(key)
        if text is None:
            return None
        state, why = read_sensor(key, text, thresholds)
        sensors[key] = state
        if why:
            cannot_read(key, why)
        return state

    cover = sensor("cover")
    if cover == "open":
        faults.append(Fault(FaultCode.COVER_OPEN, f"Rse;o {answers['cover'].text}"))
    feeder = sensor("feeder")
    if feeder == "empty":
        faults.append(Fault(FaultCode.FEEDER_EMPTY, f"Rse;m {answers['feeder'].text}"))
    elif feeder == "low":
        faults.append(Fault(FaultCode.FEEDER_LOW, f"Rse;m {answers['feeder'].text}"))
    if feeder is not None:
        supplies.append(Supply(Consumable.CARDS, _FEEDER_LEVELS[feeder]))
    elif sensors.get("feeder") == UNKNOWN:
        supplies.append(Supply(Consumable.CARDS, SupplyLevel.UNKNOWN))
    card = read("card")
    if card is not None:
        sensors["card"] = "inside" if card in CARD_INSIDE else "none" if card in NO_CARD else UNKNOWN
        if card in CARD_INSIDE and card_expected:
            busy = True
        elif card in CARD_INSIDE:
            faults.append(Fault(FaultCode.MEDIA_JAM, f"{CARD_LEFT_INSIDE} (Rlr;p {card})"))
        elif card not in NO_CARD:
            cannot_read("card", "card position unknown")
    cleaning = read("cleaning")
    if cleaning is not None and cleaning != "OK":
        cannot_read("cleaning", "cleaning state unknown")
    ribbon_left = read("ribbon_left")
    if ribbon_left is not None and ribbon_left.isdigit():
        left = int(ribbon_left)
        if left == 0:
            level = SupplyLevel.OUT
            faults.append(Fault(FaultCode.RIBBON_OUT, "Rco;l 0"))
        elif left <= RIBBON_LOW_PRINTS:
            level = SupplyLevel.LOW
            faults.append(Fault(FaultCode.RIBBON_LOW, f"Rco;l {left}"))
        else:
            level = SupplyLevel.FULL
        supplies.append(Supply(Consumable.RIBBON, level, left))
    elif ribbon_left is not None or sensors.get("ribbon_left") == UNKNOWN:
        if ribbon_left is not None:
            cannot_read("ribbon_left", "ribbon level unknown")
        supplies.append(Supply(Consumable.RIBBON, SupplyLevel.UNKNOWN))
    if unreadable is not None:
        for key, answer in answers.items():
            if sensors.get(key) != UNKNOWN:
                unreadable.readable(answer.command)

    if any(f.severity == Severity.ALARM for f in faults):
        state = DeviceState.USER_ERROR
    else:
        state = DeviceState.BUSY if busy else DeviceState.READY
    return DeviceStatus(ROLE, state, tuple(supplies), tuple(_unique(faults)),
                        {**capabilities, "sensors": sensors})


def _unique(faults: list[Fault]) -> list[Fault]:
    seen: set[FaultCode] = set()
    kept = []
    for fault in faults:
        if fault.code not in seen:
            seen.add(fault.code)
            kept.append(fault)
    return kept
