"""Document kinds as the core offers them to the UI: the registry's names, in the citizen's
language (printer_drivers/registry.py is the one list; the UI keeps none of its own)."""

from __future__ import annotations

from printer_drivers.registry import kind_brief, kind_codes, kind_label, kind_name

__all__ = ["kind_brief", "kind_codes", "kind_label", "kind_name"]
