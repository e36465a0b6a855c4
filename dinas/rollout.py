"""Staged rollouts (hawkBit's model): one signed envelope reaches a group in waves.

    adm-dinas config rollout --group kota-bandung --file settings.toml --key k.key \
        --waves 10,50,100 --max-failures 10% --timeout 900

`--waves` are cumulative shares of the group's kiosks (sorted by id, so a rerun picks the
same first kiosks). Each wave stores the group's envelope for its kiosks only
(`PUT /admin/config` with their ids), then waits until every one of them has reported on
this version. A kiosk that reports `rejected` or `rolled_back`, or does not report within
`--timeout` seconds, has failed. When a wave's failed share passes `--max-failures`, the
rollout stops and says so; the kiosks not reached keep what they run. The progress is
recorded at the dinas after every step (`PUT /admin/config/rollouts/{id}`), so
`adm-dinas config status` shows it from any machine.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from .config_admin import AdminApi, AdminError, check_version_is_new


def parse_waves(text: str) -> list[float]:
    try:
        waves = [float(part.strip().rstrip("%")) for part in text.split(",") if part.strip()]
    except ValueError:
        waves = []
    if not waves or any(not 0 < w <= 100 for w in waves) or waves != sorted(set(waves)) or waves[-1] != 100:
        raise AdminError("--waves must be growing percentages of the group ending at 100, e.g. 10,50,100")
    return waves


def parse_threshold(text: str) -> float:
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise AdminError("--max-failures must be a share of a wave from 0% to 100%, e.g. 10%")
    return value


def waves_of(kiosk_ids: list[str], waves: list[float]) -> list[list[str]]:
    """The kiosks each wave adds: wave i reaches ceil(share_i × n) kiosks in all, at least one
    more than the wave before."""
    members, reached = [], 0
    for share in waves:
        upto = min(len(kiosk_ids), max(reached + 1, math.ceil(share * len(kiosk_ids) / 100)))
        if upto > reached:
            members.append(kiosk_ids[reached:upto])
            reached = upto
    return members


def _outcome(kiosk_id: str, report: dict | None, version: int, timeout_s: float) -> str | None:
    """None when the kiosk applied `version`; else why it counts as failed."""
    if report is None or report.get("version") != version:
        return f"no report within {timeout_s:.0f} s"
    if report["result"] == "applied":
        return None
    return f"{report['result']}: {report.get('reason') or 'no reason given'}"


def run_rollout(api: AdminApi, envelope: dict[str, Any], *, rollout_id: str, version: int, group: str,
                waves: list[float], max_failures: float, timeout_s: float, poll_s: float = 5.0,
                say: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    fleet = api.kiosks()
    members = sorted(k["kiosk_id"] for k in fleet if k.get("group") == group)
    if not members:
        raise AdminError(f"group {group!r} has no kiosks (see `adm-dinas fleet`)")
    check_version_is_new(fleet, members, [], version)
    progress: dict[str, Any] = {"group": group, "version": version, "waves": waves,
                                "max_failures_percent": max_failures, "state": "running", "waves_done": []}
    api.record_rollout(rollout_id, progress)
    planned = waves_of(members, waves)
    for number, kiosk_ids in enumerate(planned, start=1):
        api.publish(envelope, kiosk_ids, [])
        say(f"wave {number}/{len(planned)}: v{version} pushed to {len(kiosk_ids)} kiosk(s): {', '.join(kiosk_ids)}; "
            f"waiting up to {timeout_s:.0f} s for their reports")
        deadline = clock() + timeout_s
        while True:
            reports = {k["kiosk_id"]: k.get("last_config_report") for k in api.kiosks() if k["kiosk_id"] in kiosk_ids}
            failures = {kid: _outcome(kid, reports.get(kid), version, timeout_s) for kid in kiosk_ids}
            pending = [kid for kid in kiosk_ids if (reports.get(kid) or {}).get("version") != version]
            if not pending or clock() >= deadline:
                break
            sleep(poll_s)
        failed = {kid: why for kid, why in failures.items() if why is not None}
        share = 100.0 * len(failed) / len(kiosk_ids)
        progress["waves_done"].append({"wave": number, "kiosks": kiosk_ids,
                                       "applied": [k for k in kiosk_ids if k not in failed],
                                       "failed": [f"{k} ({why})" for k, why in failed.items()],
                                       "failed_percent": round(share, 1)})
        for kiosk_id, why in failed.items():
            say(f"  {kiosk_id}: {why}")
        say(f"wave {number}: {len(kiosk_ids) - len(failed)} applied, {len(failed)} failed ({share:.0f}%)")
        if share > max_failures:
            progress["state"] = "stopped"
            progress["message"] = (f"stopped after wave {number}: {share:.0f}% failed, more than the "
                                   f"{max_failures:g}% allowed; {len(members) - sum(map(len, planned[:number]))} "
                                   "kiosk(s) not reached")
            api.record_rollout(rollout_id, progress)
            say(progress["message"])
            return progress
        api.record_rollout(rollout_id, progress)
    progress["state"] = "completed"
    progress["message"] = f"completed: v{version} reached all {len(members)} kiosk(s) of {group}"
    api.record_rollout(rollout_id, progress)
    say(progress["message"])
    return progress
