from dataclasses import replace
from datetime import datetime, timezone

from devices.status import Consumable, DeviceState, DeviceStatus, Fault, FaultCode, Supply, SupplyLevel
from kiosk.config import OpeningHours, Settings
from kiosk.gating import available_kinds, document_refusal, out_of_service
from printer_drivers import registry

A4_KINDS = registry.kinds_for("a4_printer")        # KK and the A4 certificates

MONDAY_10_WIB = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)      # 10:00 in Asia/Jakarta
MONDAY_20_WIB = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)     # 20:00
OFFICE_HOURS = OpeningHours(tuple(((480, 960),) if day < 5 else () for day in range(7)))


def ready(role, *supplies):
    return DeviceStatus(role, DeviceState.READY, supplies=supplies)


ALL_READY = {"a4_printer": ready("a4_printer"), "card_printer": ready("card_printer")}


def test_everything_ready_offers_every_kind():
    assert available_kinds(ALL_READY, Settings(), MONDAY_10_WIB) == registry.kind_codes()
    # issue 9's kinds are there; a new kind is one registry entry, so this test needs no edit for it
    assert set(registry.kind_codes()) >= {"KK", "KIA", "AKTA_LAHIR", "AKTA_MATI", "SKPWNI"}
    assert out_of_service(ALL_READY, Settings(), MONDAY_10_WIB) is None


def test_a_supply_out_or_an_alarm_takes_only_that_kind_offline():
    statuses = {**ALL_READY, "card_printer": ready("card_printer", Supply(Consumable.RIBBON, SupplyLevel.OUT))}
    refusal = document_refusal("KIA", statuses, Settings(), MONDAY_10_WIB)
    assert refusal.key == "document.unavailable.printer" and refusal.params["fault"] == "ribbon_out"
    assert available_kinds(statuses, Settings(), MONDAY_10_WIB) == A4_KINDS
    jammed = {**ALL_READY, "a4_printer": DeviceStatus("a4_printer", DeviceState.USER_ERROR,
                                                       faults=(Fault(FaultCode.MEDIA_JAM),))}
    assert document_refusal("KK", jammed, Settings(), MONDAY_10_WIB).params["fault"] == "media_jam"


def test_a_missing_printer_is_absent():
    refusal = document_refusal("KIA", {"a4_printer": ready("a4_printer")}, Settings(), MONDAY_10_WIB)
    assert refusal.params["fault"] == "disconnected"


def test_settings_refusals_come_before_the_printer():
    settings = replace(Settings(), enabled_kinds=("KK",))
    assert document_refusal("KIA", {}, settings, MONDAY_10_WIB).key == "document.unavailable.kind_disabled"
    assert document_refusal("PASPOR", ALL_READY, settings, MONDAY_10_WIB).key == "document.unavailable.unsupported"


def test_closed_and_maintenance_put_the_kiosk_out_of_service():
    hours = replace(Settings(), opening_hours=OFFICE_HOURS)
    assert out_of_service(ALL_READY, hours, MONDAY_10_WIB) is None
    closed = out_of_service(ALL_READY, hours, MONDAY_20_WIB)
    assert closed.key == "out_of_service.closed" and closed.params == {"day": "tomorrow", "time": "08:00"}
    assert document_refusal("KK", ALL_READY, hours, MONDAY_20_WIB).key == "document.unavailable.closed"
    maintenance = replace(Settings(), maintenance_mode=True)
    assert out_of_service(ALL_READY, maintenance, MONDAY_10_WIB).key == "out_of_service.maintenance"


def test_no_usable_printer_or_a_required_one_down():
    offline = {role: DeviceStatus(role, DeviceState.OFFLINE) for role in ALL_READY}
    assert out_of_service(offline, Settings(), MONDAY_10_WIB).key == "out_of_service.no_printer"
    card_down = {**ALL_READY, "card_printer": DeviceStatus("card_printer", DeviceState.OFFLINE)}
    assert out_of_service(card_down, Settings(), MONDAY_10_WIB) is None            # KK still works
    required = out_of_service(card_down, Settings(), MONDAY_10_WIB, required_roles=("card_printer",))
    assert required.key == "out_of_service.device" and required.params["role"] == "card_printer"
    assert out_of_service(ALL_READY, replace(Settings(), enabled_kinds=()), MONDAY_10_WIB).key == \
        "out_of_service.no_documents"


def test_the_next_opening_is_today_tomorrow_or_a_weekday():
    from kiosk.gating import next_opening
    hours = replace(Settings(), opening_hours=OFFICE_HOURS)
    monday_6 = datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)          # Monday 06:00 WIB
    assert next_opening(hours, monday_6) == ("today", "08:00")
    assert next_opening(hours, MONDAY_20_WIB) == ("tomorrow", "08:00")
    friday_20 = datetime(2026, 11, 27, 13, 0, tzinfo=timezone.utc)
    assert next_opening(hours, friday_20) == ("mon", "08:00")
    holiday = replace(hours, closed_dates=("2026-11-24",))                  # Tuesday
    assert next_opening(holiday, MONDAY_20_WIB) == ("wed", "08:00")
    lunch = OpeningHours(tuple(((480, 720), (780, 960)) for _ in range(7)))
    monday_12_30 = datetime(2026, 11, 23, 5, 30, tzinfo=timezone.utc)
    assert next_opening(replace(Settings(), opening_hours=lunch), monday_12_30) == ("today", "13:00")
    never = replace(Settings(), opening_hours=OpeningHours(tuple(() for _ in range(7))))
    assert next_opening(never, MONDAY_20_WIB) is None
    assert out_of_service(ALL_READY, never, MONDAY_20_WIB).key == "out_of_service.closed_for_now"
