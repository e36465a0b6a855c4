"""The printer's answers to the status reads -> one `DeviceStatus` (see docs/CARD-PRINTER.md).

The status read is a fixed list of read commands; each answer is mapped on its own, so a
printer that answers one of them oddly still reports the rest. Which answers come from the
vendor's notes and which are our reading of them is set out in the docs.
"""

from __future__ import annotations

from typing import Mapping

from devices.status import (Consumable, DeviceError, DeviceState, DeviceStatus, Fault, FaultCode, Severity, Supply,
                            SupplyLevel)

from .protocol import Answer

ROLE = "card_printer"
RIBBON_LOW_PRINTS = 20

# key -> the command that reads it
STATUS_READS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cover", ("Rse", "o")),          # CLOSED | OPEN
    ("feeder", ("Rse", "m")),         # CARDS | LOW | EMPTY
    ("card", ("Rlr", "p")),           # OK / NO CARD | CARD / SMART CARD / CONTACTLESS CARD | ERR CARD
    ("cleaning", ("Rlr", "r")),       # OK | ERR NEED CLEANING
    ("ribbon_left", ("Rco", "l")),    # cards left on the ribbon (integer)
)
CARD_INSIDE = ("CARD", "SMART CARD", "CONTACTLESS CARD")
NO_CARD = ("OK", "NO CARD")
CARD_LEFT_INSIDE = "card left inside"     # the media_jam detail for a card no print is handling


def card_inside(answer: Answer) -> bool:
    """True while a card is in the printer (printing, or waiting to come out)."""
    answer.raise_for_fault()
    text = answer.text.strip().upper()
    if text in CARD_INSIDE:
        return True
    if text in NO_CARD:
        return False
    raise DeviceError(FaultCode.PROTOCOL_ERROR, f"Rlr;p answered {answer.text!r}")


def build_status(answers: Mapping[str, Answer], capabilities: Mapping[str, object], *,
                 card_expected: bool = True) -> DeviceStatus:
    """`card_expected`: the driver is printing, so a card inside is its own (busy). When it
    runs no print (False), a card inside was left by a crash, a power cut or a refused
    reject and nothing will take it out: media_jam ("card left inside") until it is cleared,
    so the KIA is not offered and no next card is fed into it."""
    faults: list[Fault] = []
    supplies: list[Supply] = []
    busy = False

    def unexpected(key: str) -> None:
        faults.append(Fault(FaultCode.PROTOCOL_ERROR, f"{answers[key].command} answered {answers[key].text!r}"))

    for key, answer in answers.items():
        if answer.fault is not None:
            faults.append(answer.fault)
    text = {key: answer.text.strip().upper() for key, answer in answers.items() if answer.ok}

    if "cover" in text:
        if text["cover"] == "OPEN":
            faults.append(Fault(FaultCode.COVER_OPEN, "Rse;o OPEN"))
        elif text["cover"] != "CLOSED":
            unexpected("cover")
    if "feeder" in text:
        level = {"CARDS": SupplyLevel.FULL, "LOW": SupplyLevel.LOW, "EMPTY": SupplyLevel.OUT}.get(text["feeder"])
        if level is None:
            unexpected("feeder")
            level = SupplyLevel.UNKNOWN
        elif level == SupplyLevel.OUT:
            faults.append(Fault(FaultCode.FEEDER_EMPTY, "Rse;m EMPTY"))
        elif level == SupplyLevel.LOW:
            faults.append(Fault(FaultCode.FEEDER_LOW, "Rse;m LOW"))
        supplies.append(Supply(Consumable.CARDS, level))
    if "card" in text:
        if text["card"] in CARD_INSIDE and card_expected:
            busy = True
        elif text["card"] in CARD_INSIDE:
            faults.append(Fault(FaultCode.MEDIA_JAM, f"{CARD_LEFT_INSIDE} (Rlr;p {text['card']})"))
        elif text["card"] not in NO_CARD:
            unexpected("card")
    if "cleaning" in text and text["cleaning"] != "OK":
        unexpected("cleaning")
    if "ribbon_left" in text:
        if text["ribbon_left"].isdigit():
            left = int(text["ribbon_left"])
            if left == 0:
                level = SupplyLevel.OUT
                faults.append(Fault(FaultCode.RIBBON_OUT, "Rco;l 0"))
            elif left <= RIBBON_LOW_PRINTS:
                level = SupplyLevel.LOW
                faults.append(Fault(FaultCode.RIBBON_LOW, f"Rco;l {left}"))
            else:
                level = SupplyLevel.FULL
            supplies.append(Supply(Consumable.RIBBON, level, left))
        else:
            unexpected("ribbon_left")
            supplies.append(Supply(Consumable.RIBBON, SupplyLevel.UNKNOWN))

    if any(f.severity == Severity.ALARM for f in faults):
        state = DeviceState.USER_ERROR
    else:
        state = DeviceState.BUSY if busy else DeviceState.READY
    return DeviceStatus(ROLE, state, tuple(supplies), tuple(_unique(faults)), capabilities)


def _unique(faults: list[Fault]) -> list[Fault]:
    seen: set[FaultCode] = set()
    kept = []
    for fault in faults:
        if fault.code not in seen:
            seen.add(fault.code)
            kept.append(fault)
    return kept
