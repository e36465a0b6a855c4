"""Fuzzing budget and kept corpora, shared by every fuzz test (docs/FUZZING.md).

`make test` runs each fuzz target for a few dozen examples; `make fuzz` sets ADM_FUZZ_SCALE
(default there: 40) to multiply every budget. The kept corpus of a target is the files in
tests/fuzz/corpus/<target>/ (one input per file, bytes as they are): each runs as an explicit
`@example` on every run, before the random ones, so a case that once found a bug is tried
for ever. Hypothesis's own example database is in the temporary folder (tests/conftest.py):
it is per machine, and what it finds worth keeping is copied here as a corpus file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from hypothesis import HealthCheck, example, settings

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SCALE = max(1, int(os.environ.get("ADM_FUZZ_SCALE", "1") or 1))


def budget(examples: int) -> settings:
    """Hypothesis settings for `examples` random inputs, times ADM_FUZZ_SCALE."""
    return settings(max_examples=examples * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def seeds(target: str) -> list[bytes]:
    """The kept inputs of `target`, in file-name order; a target without any is a mistake."""
    folder = CORPUS / target
    found = [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()] if folder.is_dir() else []
    if not found:
        raise FileNotFoundError(f"no kept corpus for fuzz target {target!r} in {folder}")
    return found


def with_seeds(inputs: Iterable[object], convert: Callable[[bytes], object] = lambda raw: raw):
    """Decorate a one-argument @given test with an @example per kept input."""
    def wrap(test):
        for raw in inputs:
            test = example(convert(raw) if isinstance(raw, bytes) else raw)(test)
        return test
    return wrap
