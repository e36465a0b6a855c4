"""The words of the citizen-facing catalogues (docs/UI.md "Words"): no jargon from the
glossary's banned list, no PIN sent to staff, one word for one thing, and a spoken form for
every message that can be read aloud without a masked NIK or a code in it."""

from __future__ import annotations

import re

import pytest

from kiosk.session_model import Screen
from tests.ui.test_i18n import core_message_keys
from ui.i18n import LANGUAGES, spoken_key, translator

# docs/UI.md "Words": what a first-time user does not know, with the plain word chosen.
BANNED = {
    "id": ("sesi", "server", "file", "unduh", "diunduh", "mengunduh", "unggah", "PVC", "kode provinsi",
           "verifikasi", "diverifikasi", "kedaluwarsa", "login", "error", "database", "sistem",
           "memesan cetakan"),
    "en": ("session", "server", "file", "download", "downloaded", "upload", "PVC", "province code",
           "verify", "verified", "expired", "login", "error", "database", "system"),
}
STAFF = {"id": r"\bpetugas\b", "en": r"\bstaff\b"}
# The one message naming staff and the PIN together: in assisted mode it tells the operator
# to look away while the citizen types their own PIN (checked below to say exactly that).
PIN_PRIVACY = {"assisted.pin": {"id": ("berpaling", "sendiri"), "en": ("look away", "own PIN")}}
# Keys that are not for the citizen (a technician's screen may share the catalogue).
NOT_CITIZEN = ("technician.", "operator.", "tech.", "staff.")
# Every label of a button, and the chips of the printing steps: each word names one thing.
BUTTONS = ("action.next", "action.back", "action.cancel", "attract.start", "confirm.print", "done.finish",
           "error.restart", "idle.continue", "cancel.stay", "cancel.confirm", "pin.change_nik", "pin.show",
           "pin.hide", "keypad.clear", "keypad.delete", "listen.again", "printing.stop",
           "documents.hold_to_see")
CHIPS = ("step.state.pending", "step.state.active", "step.state.done", "step.state.failed",
         "documents.selected", "documents.not_selected")


def citizen_texts(language: str) -> dict[str, str]:
    catalogue = translator().catalogues[language]
    return {key: catalogue.gettext(key) for key in catalogue.keys() if not key.startswith(NOT_CITIZEN)}


def jargon(text: str, language: str) -> list[str]:
    return [word for word in BANNED[language] if re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_banned_word_in_the_citizens_catalogue(language):
    found = {key: jargon(text, language) for key, text in citizen_texts(language).items()}
    assert not {key: words for key, words in found.items() if words}
    # the check itself can fail
    assert jargon("Sesi akan ditutup; file diunduh dari server", "id") == ["sesi", "server", "file", "diunduh"]
    assert jargon("The session expired", "en") == ["session", "expired"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_sends_a_citizen_to_staff_with_their_pin(language):
    """The WhatsApp message says never to give the PIN to anyone; the kiosk must not either."""
    texts = citizen_texts(language)
    offenders = [key for key, text in texts.items() if key not in PIN_PRIVACY
                 and "PIN" in text and re.search(STAFF[language], text, re.IGNORECASE)]
    assert not offenders
    for key, words in PIN_PRIVACY.items():
        assert all(word in texts[key] for word in words[language]), f"{key} must say to look away"


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_word_means_one_thing_on_buttons_and_chips(language):
    labels = [translator().text(key, language).casefold() for key in BUTTONS + CHIPS]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    assert not repeated, f"one label for two things: {repeated}"


def unspeakable(text: str) -> str | None:
    """Why a sentence cannot be handed to the voice as it is, or None."""
    if "{nik}" in text:
        return "a NIK, even masked, is not read aloud"
    if "{code}" in text:
        return "a code means nothing when heard"
    words = re.sub(r"\{[a-z_]+\}", "", text)          # the fields filled in later ({attempts_left})
    for mark, why in (("*", "masked digits"), ("•", "a bullet"), ("[[", "a missing key"), ("_", "a code")):
        if mark in words:
            return why
    if re.search(r"\d{6,}", text):
        return "a long number"
    if not text.strip():
        return "nothing to say"
    return None


def spoken_keys() -> set[str]:
    """Every message the glass shows that the voice says: the core's, each screen's own
    sentence, the idle warning and the cancel question."""
    keys = core_message_keys() | {f"audio.{screen.value}" for screen in Screen}
    return keys | {"idle.spoken", "cancel.title", "cancel.body", "cancel.body_printing", "common.wait", "speak.pin_digit"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_key_has_a_spoken_form(language):
    problems = {}
    for key in sorted(spoken_keys()):
        said = spoken_key(key, language)
        if not translator().has(said, language):
            problems[key] = "no spoken form"
        elif (why := unspeakable(translator().text(said, language))) is not None:
            problems[key] = f"{said}: {why}"
    assert not problems
    # the check can fail: the written form of a wrong NIK/PIN carries the masked NIK
    assert unspeakable(translator().text("pin.no_match", language)) is not None
    assert spoken_key("pin.no_match", language) == "speak.pin.no_match"
    assert unspeakable("320101******0001") and unspeakable("kode contract_violation")
    assert translator().text("speak.pin_digit", "id") == "bintang"
