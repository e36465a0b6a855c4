"""A simulated Evolis kiosk card printer: the protocol, supplies, counters, time and faults.

It reads the same command stream a real printer does (`evolis_decode.CommandReader`),
answers every command the way `docs/CARD-PRINTER.md` describes (a value, ``OK``,
``ERR …``; or ACK/NACK in ACK mode), decodes every panel it receives and, given an output
folder, writes each finished card as PNG (front and back composites plus the panels).

Faults, by name (URL ``faults=a,b`` or `inject()`):

    feeder_empty    the feeder is empty (``Ss`` answers ERR FEEDER EMPTY)
    needs_cleaning  the cleaning counter ran out (``Rlr;r`` and ``Ss`` answer ERR NEED CLEANING)
    ribbon_out      the ribbon ends during the next card (its 2nd panel)
    cover_open      the cover is opened during the next card (its 2nd panel)
    hang_up         the link drops during the next card's 2nd panel download
    nack            the next card's 2nd panel is refused with NACK 2 (parameter error)
    jam_mid_card    the next card jams on its way out (after ``Se``; ``Rlr;p`` says ERR CARD)
    garbage         the next answer is line noise
    silence         the printer stops answering

Answer modes (``answers=``), for the reads that firmware answers differently:

    words    (default) state words: ``Rse;o`` CLOSED/OPEN, ``Rse;m`` CARDS/LOW/EMPTY,
             ``Rse;p`` CARD/NO CARD, ``Rlr;p`` OK when there is no card
    guide    as the programming guide reads: ``Rse;o`` / ``Rse;p`` / ``Rse;m`` answer sensor
             voltages (`VOLTS`), ``Rlr;p`` answers NO CARD when there is none
    minimal  firmware that knows only identification, ``Rr``, ``Rco;c`` / ``Rco;p`` and
             ``Rlr;p``, and answers ``OK`` to every other read

In ACK mode (``ack=1``) actions and downloads are answered ACK or NACK + code; read
commands still answer their value as text. A card is taken from the feeder at ``Ss``; ``Ser`` sends a card that can still move to the
reject box. Time: ``panel_seconds`` per panel download, ``card_seconds`` from ``Se`` until
the card is out (zero in tests), and with ``speed=realistic`` the mechanical time of
`devices.sim.mechanics` (20 s a colour side, 8 s a K-only side, warm-ups), counted from
``Ss``: the printer takes the panels into its buffer as they come and ``Rlr;p`` answers CARD
until the card is out (``time_scale`` speeds the model up for tests).

A host that goes away mid-card (crash, power cut of the PC, cable pulled) leaves the card
where it is: inside, half printed, ``Rlr;p`` answering CARD and ``Ss`` refused (ERR CARD),
for as long as it takes; only ``Ser`` (to the reject box, counted in ``rejected``) or a
technician's hands take it out. A new host connection starts a fresh command stream: a
command the old host left half sent is dropped, as a real printer's parser drops it on a
USB reset or its receive timeout.

The cleaning cycle (``Scp``), the ribbon taken out and the cleaning card put in are
`devices.sim.evolis_cleaning.CleaningCycle`'s (``cleaning_seconds=`` its length).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterable, Mapping

from .base import DeviceSimulator
from .evolis_cleaning import CleaningCycle
from .evolis_decode import Card, CardBuilder, Command, CommandReader, StreamError, save_card
from .mechanics import CARD_COLOUR_SIDE_S, CARD_MONO_SIDE_S, CARD_TIMING, Mechanism

log = logging.getLogger(__name__)

FAULTS = ("feeder_empty", "needs_cleaning", "ribbon_out", "cover_open", "hang_up", "nack",
          "jam_mid_card", "garbage", "silence")
_MID_CARD = ("ribbon_out", "cover_open", "hang_up", "nack")
_MID_CARD_PANEL = 2
_COLOUR_RIBBONS = ("ymcko", "ymckos", "ymckok", "ymckoo")
ANSWER_MODES = ("words", "guide", "minimal")
# The voltages this simulator answers in `guide` mode (our model: the guide gives no values
# beyond its example 0.21): sensor -> (volts when clear, volts when tripped).
VOLTS = {"o": ("0.21", "4.86"),      # cover closed / open
         "p": ("0.18", "3.95"),      # no card / a card at the sensor
         "m": ("0.35", "4.62")}      # cards in the feeder / feeder empty
INSERTION_MODES = ("F", "M", "B")       # feeder, manual, both
_MINIMAL_READS = ("Rfv", "Rtp", "Rsn", "Rr", "Rco;c", "Rco;p", "Rlr;p")
# NACK codes used in ACK mode for the ERR answers below (programming guide's list).
_NACK_FOR = (("COVER", b"C"), ("FEEDER", b"F"), ("RIBBON", b"R"), ("CARD", b"T"),
             ("MECHANICAL", b"T"), ("CLEANING", b"T"), ("COMMAND", b"1"))


class EvolisSimulator(CleaningCycle, DeviceSimulator):
    def __init__(self, *, model: str = "Evolis KC200", firmware: str = "1.7.2",
                 serial_number: str = "SIMKC200-0001", ribbon: str = "ymcko", cards: int = 100,
                 ribbon_prints: int = 200, faults: Iterable[str] = (), out_dir: str | Path | None = None,
                 panel_seconds: float = 0.0, card_seconds: float = 0.0, ack_mode: bool = False,
                 low_cards: int = 10, answers: str = "words", insertion: str = "F",
                 mechanism: Mechanism | None = None, cleaning_seconds: float = 0.0) -> None:
        super().__init__()
        self.cleaning_seconds = cleaning_seconds
        self.mechanism = mechanism or Mechanism(CARD_TIMING)
        self._card_started = 0.0
        if answers not in ANSWER_MODES:
            raise ValueError(f"unknown answer mode {answers!r}; one of {', '.join(ANSWER_MODES)}")
        self.answers = answers
        self.insertion = insertion          # F: cards from the feeder; M / B wait for a hand-fed card
        self.model, self.firmware, self.serial_number = model, firmware, serial_number
        self.ribbon = ribbon.lower()
        self.cards_in_feeder = cards
        self.ribbon_left = ribbon_prints
        self.low_cards = low_cards
        self.out_dir = Path(out_dir) if out_dir else None
        self.panel_seconds, self.card_seconds = panel_seconds, card_seconds
        self.ack_mode = ack_mode
        self.counters = {"panels": 0, "cards": 0, "cleanings": 0, "rejected": 0}
        self.cover_open = False
        self.needs_cleaning = False
        self.silent = False
        self.card: str | None = None        # None, "in" (printing), "out_pending", "stuck", "cleaning"
        self._card_out_at = 0.0
        self._card_panels = 0
        self._pending: set[str] = set()
        self._reader = CommandReader()
        self._builder = CardBuilder()
        self.decoded: list[Card] = []       # every finished or rejected card, decoded
        self.written: list[Path] = []
        self.log: list[str] = []            # command names received, for tests and the CLI
        self.received: list[Command] = []   # the commands with their parameters (panel data left out)
        self._cards_finished = 0
        for fault in faults:
            self.inject(fault)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EvolisSimulator:
        """Build from `sim:card_printer?...` URL parameters."""
        known = {"faults", "out", "cards", "ribbon", "ribbon_prints", "panel_seconds",
                 "card_seconds", "ack", "answers", "speed", "time_scale", "cleaning_seconds"}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown card printer simulator options: {', '.join(sorted(unknown))}")
        try:
            return cls(faults=[f for f in params.get("faults", "").split(",") if f.strip()],
                       out_dir=params.get("out") or None,
                       cards=int(params.get("cards", 100)),
                       ribbon=params.get("ribbon", "ymcko"),
                       ribbon_prints=int(params.get("ribbon_prints", 200)),
                       panel_seconds=float(params.get("panel_seconds", 0)),
                       card_seconds=float(params.get("card_seconds", 0)),
                       cleaning_seconds=float(params.get("cleaning_seconds", 0)),
                       ack_mode=params.get("ack", "0") in ("1", "true", "yes"),
                       answers=params.get("answers", "words"),
                       mechanism=Mechanism.from_params(params, CARD_TIMING))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad card printer simulator option: {exc}") from exc

    # --- faults and the technician's hands ----------------------------------------------------
    def inject(self, fault: str) -> None:
        fault = fault.strip()
        if fault not in FAULTS:
            raise ValueError(f"unknown card printer fault {fault!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            if fault == "feeder_empty":
                self.cards_in_feeder = 0
            elif fault == "needs_cleaning":
                self.needs_cleaning = True
            elif fault == "silence":
                self.silent = True
            else:
                self._pending.add(fault)

    def set_cover(self, open_: bool) -> None:
        with self.lock:
            self.cover_open = open_

    def clear_jam(self) -> None:
        """A technician pulls the stuck card out."""
        with self.lock:
            if self.card == "stuck":
                self._finish_card(rejected=True)

    def reconnect(self) -> None:
        """A host (re)connects: drop whatever the previous one left half sent and unread."""
        with self.lock:
            self._reader = CommandReader()
            self.take_output()
            super().reconnect()

    def load(self, cards: int | None = None, ribbon_prints: int | None = None) -> None:
        with self.lock:
            if cards is not None:
                self.cards_in_feeder = cards
            if ribbon_prints is not None:
                self.ribbon_left = ribbon_prints

    # --- the wire -------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        with self.lock:
            for item in self._reader.push(data):
                if self.silent or self.hung_up.is_set():
                    continue
                if isinstance(item, StreamError):
                    log.info("card printer sim: bad command: %s", item)
                    self._answer("ERR PARAM")
                    continue
                self.log.append(item.name)
                self.received.append(Command(item.name, item.params))
                self._answer(self._handle(item), is_read=item.name.startswith("R"))

    def _answer(self, text: str | None, is_read: bool = False) -> None:
        if text is None:
            return
        if "garbage" in self._pending:
            self._pending.discard("garbage")
            self.send(b"\xfe\x81\x9c\x07\xc3\r")
            return
        if self.ack_mode and not is_read and (text == "OK" or text.startswith("ERR")):
            if text == "OK":
                self.send(b"\x06")
            else:
                code = next((c for word, c in _NACK_FOR if word in text), b"2")
                self.send(b"\x15" + code)
            return
        self.send(text.encode("ascii") + b"\r")

    def _handle(self, command: Command) -> str | None:
        self._settle_card()
        name, params = command.name, command.params
        first = params[0] if params else ""
        if self.answers == "minimal" and name.startswith("R") and ";".join((name, *params[:1])) not in _MINIMAL_READS:
            return "OK"
        if self.answers == "guide" and name == "Rse" and first in VOLTS:
            tripped = {"o": self.cover_open, "p": self.card is not None, "m": self.cards_in_feeder <= 0}[first]
            return VOLTS[first][tripped]
        if name in ("Db", "Dbc"):
            return self._download(command)
        reads = {
            "Rfv": lambda: self.firmware, "Rtp": lambda: self.model, "Rsn": lambda: self.serial_number,
            "Rkn": lambda: "KIT-" + self.serial_number[-4:],
            "Rr": lambda: self.ribbon.upper() if self.ribbon_fitted else "ERR NO RIBBON",
        }
        if name in reads:
            return reads[name]()
        if name == "Rco":
            values = {"p": self.counters["panels"], "c": self.counters["cards"],
                      "n": self.counters["cleanings"], "l": self.ribbon_left}
            return str(values[first]) if first in values else "ERR PARAM"
        if name == "Rlr":
            if first == "p":
                none = "NO CARD" if self.answers == "guide" else "OK"
                return {None: none, "stuck": "ERR CARD"}.get(self.card, "CARD")
            if first == "r":
                return "ERR NEED CLEANING" if self.needs_cleaning else "OK"
            return "ERR PARAM"
        if name == "Rse":
            if first == "o":
                return "OPEN" if self.cover_open else "CLOSED"
            if first == "p":
                return "NO CARD" if self.card is None else "CARD"
            if first == "m":
                return "EMPTY" if self.cards_in_feeder <= 0 else \
                    "LOW" if self.cards_in_feeder <= self.low_cards else "CARDS"
            return "ERR PARAM"
        if name == "Pr":
            if first.lower() in _COLOUR_RIBBONS and self.ribbon not in _COLOUR_RIBBONS:
                return "ERR RIBBON TYPE"
            self._builder.apply(command)
            return "OK"
        if name == "Pmi":
            if first.upper() not in INSERTION_MODES:
                return "ERR PARAM"
            self.insertion = first.upper()   # remembered, as the printer's own setting is
            return "OK"
        if name.startswith(("P", "M")):      # settings (Pc, Pem, Pdt, Ppws, Mr …) are taken
            return "OK"
        if name in ("Ss", "Si"):
            return self._insert_card(start_sequence=name == "Ss")
        if name in ("Sr", "Sv"):
            if self.card != "in":
                return "ERR SEQUENCE"
            self._builder.apply(command)
            return "OK"
        if name == "Se":
            return self._end_card()
        if name == "Ser":
            return self._reject_card()
        if name in ("Srs", "Scs"):
            return "OK"
        if name == "Scp":
            return self._start_cleaning()
        return "ERR COMMAND"

    # --- a card's life --------------------------------------------------------------------------
    def _blocker(self) -> str | None:
        if self.cover_open:
            return "ERR COVER OPEN"
        if self.needs_cleaning:
            return "ERR NEED CLEANING"
        if self.card is not None:
            return "ERR CARD"
        if not self.ribbon_fitted:
            return "ERR NO RIBBON"
        if self.ribbon_left <= 0:
            return "ERR RIBBON ENDED"
        if self.cards_in_feeder <= 0:
            return "ERR FEEDER EMPTY"
        return None

    def _insert_card(self, start_sequence: bool) -> str | None:
        blocker = self._blocker()
        if blocker:
            return blocker
        if self.insertion != "F":
            return None                     # waits for a card by hand: no answer, ever, here
        self.cards_in_feeder -= 1
        self.counters["cards"] += 1
        self._card_started = self.mechanism.clock()
        self.card, self._card_panels = "in", 0
        if start_sequence:
            self._builder.apply(Command("Ss"))
        return "OK"

    def _download(self, command: Command) -> str | None:
        if self.card != "in":
            return "ERR SEQUENCE"
        self._card_panels += 1
        if self._card_panels == _MID_CARD_PANEL:
            fault = next((f for f in _MID_CARD if f in self._pending), None)
            if fault:
                self._pending.discard(fault)
                return self._mid_card(fault)
        try:
            self._builder.apply(command)
        except StreamError as exc:
            return f"ERR DATA {exc}"[:80]
        self.counters["panels"] += 1
        if self.panel_seconds:
            time.sleep(self.panel_seconds)
        return "OK"

    def _mid_card(self, fault: str) -> str | None:
        if fault == "hang_up":
            self.hang_up()
            return None
        if fault == "nack":
            self.send(b"\x15" + b"2")
            return None
        if fault == "ribbon_out":
            self.ribbon_left = 0
            return "ERR RIBBON ENDED"
        self.cover_open = True
        return "ERR COVER OPEN"

    def _end_card(self) -> str:
        if self.card != "in":
            return "ERR SEQUENCE"
        self.ribbon_left = max(self.ribbon_left - 1, 0)
        if "jam_mid_card" in self._pending:
            self._pending.discard("jam_mid_card")
            self.card = "stuck"
            return "OK"
        self.card = "out_pending"
        now = self.mechanism.clock()
        mechanical = self.mechanism.job_seconds(self._card_work(), now=self._card_started)
        self._card_out_at = max(now, self._card_started + mechanical) + self.card_seconds
        self.mechanism.finished(self._card_out_at, began=self._card_started, seconds=mechanical)
        self._settle_card()
        return "OK"

    def _card_work(self) -> float:
        """Realistic seconds for the card being printed: each side by its panels."""
        card = self._builder.current
        sides = (card.front, card.back) if card is not None else ()
        return sum(CARD_COLOUR_SIDE_S if set(side) & {"y", "m", "c"} else CARD_MONO_SIDE_S
                   for side in sides if side)

    def _reject_card(self) -> str:
        if self.card is None:
            return "ERR SEQUENCE"
        if self.cover_open:
            return "ERR COVER OPEN"
        if self.card in ("stuck", "cleaning"):
            return "ERR CARD"
        self._finish_card(rejected=True)
        return "OK"

    def _settle_card(self) -> None:
        self._settle_cleaning()
        if self.card == "out_pending" and self.mechanism.clock() >= self._card_out_at:
            self._finish_card(rejected=False)

    def _finish_card(self, rejected: bool) -> None:
        self.card = None
        if rejected:
            self.counters["rejected"] += 1
        card = self._builder.current
        self._builder.apply(Command("Se"))
        if card is None:
            return
        self._builder.cards.clear()   # the decoder's own list would be a second copy of every card
        self.decoded.append(card)
        self._cards_finished += 1
        if self.out_dir is not None:
            stem = f"card-{self._cards_finished:04d}{'-rejected' if rejected else ''}"
            self.written += save_card(card, self.out_dir, stem)

    # --- for tests and the CLI -------------------------------------------------------------------
    def forget_output(self) -> None:
        """Drop the decoded cards and logs kept for inspection (a real printer keeps none):
        a long-running demo or benchmark calls this so the simulator's memory stays flat."""
        with self.lock:
            self.decoded.clear()
            self.written.clear()
            self.log.clear()
            self.received.clear()

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            self._settle_card()
            return {"cards_in_feeder": self.cards_in_feeder, "ribbon_left": self.ribbon_left,
                    "card": self.card, "cover_open": self.cover_open, "ribbon_fitted": self.ribbon_fitted,
                    **self.counters}


# --- as a sim: URL (devices/sim/catalogue.py) ----------------------------------------------------

SIM_NAMES = ("card_printer", "evolis")


def simulated_link(url: str, params: Mapping[str, str]):
    """`sim:card_printer?faults=…&out=DIR&…`: the simulator on a pty, as a byte link."""
    from .link import SimulatedSerialLink
    return SimulatedSerialLink(url, EvolisSimulator.from_params(params))
