"""Which simulator answers a `sim:NAME` URL.

Each simulator module declares the names it answers to (`SIM_NAMES`, by convention the role
of the device it stands in for) and `simulated_link(url, params)`, which builds the simulator
from the URL's query and returns the link a driver opens: a `SimulatedSerialLink` for a
byte-protocol device, an `IppEndpoint` for the A4 printer. Modules are imported only when a
`sim:` URL is opened, so a kiosk on real hardware never loads a simulator.

A test or a plug-in adds its own with `register_simulator(name, simulated_link)`.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

SimulatedLinkFactory = Callable[[str, Mapping[str, str]], Any]

SIMULATOR_MODULES = ("devices.sim.evolis", "devices.sim.escpos", "devices.sim.a4", "devices.sim.scanner")
_registered: dict[str, SimulatedLinkFactory] = {}


def register_simulator(name: str, factory: SimulatedLinkFactory) -> None:
    _registered[name] = factory


def simulator_factory(name: str) -> SimulatedLinkFactory:
    """The factory of the simulator called `name`; ValueError naming the known ones."""
    if name in _registered:
        return _registered[name]
    known: list[str] = sorted(_registered)
    for module_name in SIMULATOR_MODULES:
        module = importlib.import_module(module_name)
        if name in module.SIM_NAMES:
            return module.simulated_link
        known += module.SIM_NAMES[:1]
    raise ValueError(f"sim:{name}: no such simulator; one of {', '.join('sim:' + k for k in sorted(known))}")
