"""Reading the cover and feeder sensors (``Rse;o``, ``Rse;m``), in words or in volts.

The programming guide says these reads answer sensor voltages (``0.21``) and gives no
thresholds; models and firmware differ, and some firmware answers state words (``OPEN``,
``EMPTY``) instead. So a word we know is read as its state, a voltage is read only through a
per-model threshold table the site configures, and anything else is `unknown`: the sensor
is not trusted either way, and the printer stays in service (the print itself still reports
a cover opened or a feeder run dry with ``ERR …``).

The table is the ``sensor_thresholds`` option of ``[devices.card_printer]``, keyed by the model
as ``Rtp`` answers it; each sensor names its limit in volts and on which side of it the fault
lies (docs/CARD-PRINTER.md has the worked example):

    [devices.card_printer.sensor_thresholds."Evolis KC200"]
    cover = { open_above = 2.5 }          # Rse;o above 2.5 V: the cover is open
    feeder = { empty_below = 0.8 }        # Rse;m below 0.8 V: no card in the feeder
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

UNKNOWN = "unknown"
# sensor -> (its read, the state a threshold detects, the state on the other side, the words)
SENSORS: Mapping[str, tuple[str, str, str, Mapping[str, str]]] = {
    "cover": ("Rse;o", "open", "closed", {"CLOSED": "closed", "OPEN": "open"}),
    "feeder": ("Rse;m", "empty", "cards", {"CARDS": "cards", "LOW": "low", "EMPTY": "empty"}),
}
_VOLTS = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)\s*V?$", re.IGNORECASE)
_MAX_VOLTS = 50.0          # a sensor line on a printer's logic board; beyond this it is a typo


@dataclass(frozen=True)
class Threshold:
    limit: float           # volts
    above: bool            # the detected state (open, empty) lies above the limit

    def detects(self, volts: float) -> bool:
        return volts > self.limit if self.above else volts < self.limit


def volts(text: str) -> float | None:
    """The voltage an answer carries (``0.21``, ``4.9 V``), or None when it is not one."""
    match = _VOLTS.match(text.strip())
    return float(match.group(0).rstrip("vV ")) if match else None


def parse_thresholds(option: object) -> dict[str, dict[str, Threshold]]:
    """The ``sensor_thresholds`` option -> {model (upper case): {sensor: Threshold}}.
    ValueError naming the key for anything else."""
    if option is None:
        return {}
    if not isinstance(option, Mapping):
        raise ValueError('sensor_thresholds: a table of models, e.g. {"Evolis KC200" = {cover = {open_above = 2.5}}}')
    table: dict[str, dict[str, Threshold]] = {}
    for model, sensors in option.items():
        where = f"sensor_thresholds.{model!r}"
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"{where}: a model name as the printer's Rtp answers it")
        if not isinstance(sensors, Mapping) or not sensors:
            raise ValueError(f"{where}: a table of sensors ({', '.join(SENSORS)})")
        table[model.strip().upper()] = {sensor: _threshold(f"{where}.{sensor}", sensor, spec)
                                        for sensor, spec in sensors.items()}
    return table


def _threshold(where: str, sensor: object, spec: object) -> Threshold:
    if sensor not in SENSORS:
        raise ValueError(f"{where}: unknown sensor; known: {', '.join(SENSORS)}")
    detected = SENSORS[str(sensor)][1]
    keys = (f"{detected}_above", f"{detected}_below")
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in keys:
        raise ValueError(f"{where}: exactly one of {keys[0]} or {keys[1]} (volts)")
    key, limit = next(iter(spec.items()))
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) \
            or not 0 <= limit <= _MAX_VOLTS:
        raise ValueError(f"{where}.{key}: volts between 0 and {_MAX_VOLTS:g}, got {limit!r}")
    return Threshold(float(limit), key.endswith("_above"))


def read_sensor(sensor: str, text: str, thresholds: Mapping[str, Threshold] | None) -> tuple[str, str | None]:
    """(state, why it is unknown or None). State: a word of `SENSORS[sensor]` or ``unknown``."""
    _, detected, other, words = SENSORS[sensor]
    word = words.get(text.strip().upper())
    if word is not None:
        return word, None
    value = volts(text)
    if value is None:
        return UNKNOWN, f"{sensor} unknown"
    threshold = (thresholds or {}).get(sensor)
    if threshold is None:
        return UNKNOWN, f"{sensor} unknown (a sensor voltage, and no threshold is configured for this model)"
    return (detected if threshold.detects(value) else other), None
