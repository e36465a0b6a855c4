"""Signed remote configuration on the kiosk (ARCHITECTURE §6, docs/REMOTE-CONFIG.md).

- `envelope`: the DSSE envelope and its payload, read strictly; the closed list of reasons;
- `verify`: every check an envelope must pass before its settings may run;
- `store`: what was applied, what ran before, the last report, persisted in the state folder;
- `sync`: the worker that fetches, verifies, applies between sessions, checks health, rolls
  back and reports.
"""
