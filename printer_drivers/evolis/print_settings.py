"""What the driver sets around every print, as the vendor's own driver sends it
(shared/testdata/evolis/): cards from the feeder, out to the standard output (``Pmi;F;s``),
and the contrast of each panel the card prints that has one set (``Pc;<panel>;=;<n>``). A
printer left in manual or both-ways insertion by a technician's tool would otherwise wait
for a hand-fed card. No imaging imports here: the registry checks the `contrast` option
with `contrast_problem` without loading the card code.
"""

from __future__ import annotations

from typing import Any, Mapping

INSERTION = ("F", "s")
DEFAULT_CONTRAST = {"k": 10}                 # the vendor driver's value for the resin black panel
CONTRAST_PANELS = ("y", "m", "c", "k")       # the overlay is a varnish: no contrast
CONTRAST_RANGE = range(0, 21)


def contrast_problem(contrast: Any) -> str | None:
    """Why `contrast` is not {panel: 0..20}, or None."""
    if not isinstance(contrast, Mapping):
        return "contrast is a table of panels, e.g. {k = 10}"
    for panel, value in contrast.items():
        if panel not in CONTRAST_PANELS:
            return f"contrast.{panel}: not a panel; one of {', '.join(CONTRAST_PANELS)}"
        if isinstance(value, bool) or not isinstance(value, int) or value not in CONTRAST_RANGE:
            return f"contrast.{panel}: a whole number from 0 to 20, got {value!r}"
    return None
