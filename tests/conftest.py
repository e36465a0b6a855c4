"""Shared test set-up. Area fixtures live in tests/fixtures/<area>.py and are imported by
the tests that use them, so each area's set-up stays next to its own code."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ARTIFACTS = Path(os.environ.get("ADM_TEST_ARTIFACTS", REPO / "artifacts"))

# Hypothesis keeps the failures it found between runs (to try them first next time) and a
# cache of constants. Both live in the temporary folder, one per checkout, never in the
# repository: what is worth keeping for good goes into tests/fuzz/corpus/ (docs/FUZZING.md).
set_hypothesis_home_dir(Path(tempfile.gettempdir())
                        / f"adm-kiosk-hypothesis-{hashlib.sha256(str(REPO).encode()).hexdigest()[:12]}")

# `make test` (and CI) draws the same inputs on every run: a red build means a change broke
# something, never that a fresh random input happened to find an old bug on that run.
# Exploring new inputs is `make fuzz`'s job (ADM_FUZZ_SCALE set): random, with the database.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("explore" if os.environ.get("ADM_FUZZ_SCALE") else "repeatable")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave things for a person to look at (screenshots, decoded cards)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def evolis_testdata() -> Path:
    path = SHARED / "testdata" / "evolis"
    if not path.is_dir():
        pytest.fail(f"captured Evolis streams not found at {path}: shared/ must sit beside the repo")
    return path


@pytest.fixture
def dinas_backend() -> str:
    """The database the reference dinas server runs on: SQLite unless a module imports
    `tests.fixtures.dinas_server.on_both_backends` (the dinas contract suite does)."""
    return "sqlite"
