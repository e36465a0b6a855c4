"""The card printer simulator's cleaning cycle (``Scp``) and the technician's hands around it.

The programming guide (A5013 rev. E, "Scp — Sequence clean printer"): the printer checks
that no ribbon is fitted, takes the cleaning card from the feeder, runs it five times
forward and back under the transport rollers and the print head (and cleans the magnetic
head if there is an encoder), then ejects it. ``Rco;n`` counts the cleanings performed, and
``Rlr;r`` stops answering ERR NEED CLEANING once the printer has been cleaned.

Where the guide is silent, this simulator's choices (docs/CARD-PRINTER.md, "Cleaning"):

* ``Scp`` is answered when the printer has taken the cleaning card (``OK``, or ACK); the
  card is then inside (``Rlr;p`` answers CARD) for `cleaning_seconds` (plus the mechanics'
  CARD_CLEANING_S at ``speed=realistic``), and the cycle counts once it is out. A host that waits for the answer and then for the card suits either way
  a real firmware answers (at the start, or at the end of the cycle).
* Its refusals: ``ERR COVER OPEN``; ``ERR CARD`` (a card is already inside);
  ``ERR RIBBON PRESENT`` (the guide's "checks if there is no ribbon"; NACK R in ACK mode);
  ``ERR FEEDER EMPTY`` (nothing to take). The printer cannot tell a cleaning card from a blank
  one: with no cleaning card put in, it runs the top blank card through instead.
"""

from __future__ import annotations

from .mechanics import CARD_CLEANING_S


class CleaningCycle:
    """Mixed into `EvolisSimulator` (which owns `lock`, `card`, `cover_open`, `counters`,
    `cards_in_feeder`, `needs_cleaning` and `mechanism`)."""

    cleaning_seconds: float = 0.0
    ribbon_fitted: bool = True
    cleaning_card: bool = False            # the technician put the cleaning card in the feeder
    _cleaning_done_at: float = 0.0

    # --- the technician's hands --------------------------------------------------------------
    def remove_ribbon(self) -> None:
        with self.lock:
            self.ribbon_fitted = False

    def fit_ribbon(self) -> None:
        with self.lock:
            self.ribbon_fitted = True

    def insert_cleaning_card(self) -> None:
        with self.lock:
            self.cleaning_card = True

    # --- the wire ------------------------------------------------------------------------------
    def _start_cleaning(self) -> str:
        if self.cover_open:
            return "ERR COVER OPEN"
        if self.card is not None:
            return "ERR CARD"
        if self.ribbon_fitted:
            return "ERR RIBBON PRESENT"
        if not self.cleaning_card:
            if self.cards_in_feeder <= 0:
                return "ERR FEEDER EMPTY"
            self.cards_in_feeder -= 1          # a blank card goes through as the cleaning card
        self.cleaning_card = False
        self.card = "cleaning"
        self._cleaning_done_at = (self.mechanism.clock() + self.cleaning_seconds
                                  + CARD_CLEANING_S * self.mechanism.scale)
        self._settle_cleaning()
        return "OK"

    def _settle_cleaning(self) -> None:
        if self.card == "cleaning" and self.mechanism.clock() >= self._cleaning_done_at:
            self.card = None                   # the cleaning card is ejected
            self.counters["cleanings"] += 1
            self.needs_cleaning = False        # the printer's own cleaning counter restarts
