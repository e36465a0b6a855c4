"""Driver options in `[devices.<role>]`: read with the registry's schema, strictly, and handed
to the driver the kiosk builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.devices_runtime import DeviceBoard
from printer_drivers import registry

BASE = """
[kiosk]
id = "K1"
state_dir = "state"

[dinas]
url = "https://dinas.example.go.id/api/v1"
token_file = "token"
"""


def config_with(tmp_path: Path, devices: str):
    (tmp_path / "token").write_text("secret-token")
    path = tmp_path / "kiosk.toml"
    path.write_text(BASE + devices)
    return load_config(path)


def problems(tmp_path: Path, devices: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, devices)
    return caught.value.problems


def test_card_printer_options_reach_the_driver(tmp_path):
    cfg = config_with(tmp_path, '[devices.card_printer]\nurl = "sim:card_printer"\nlevels = 64\n'
                                'black_policy = "all_black"\ncompressed = false\ncard_timeout = 30\n'
                                'overlay_holes = [[40, 60, 200, 80]]\n')
    assert dict(cfg.device("card_printer").options) == {
        "levels": 64, "black_policy": "all_black", "compressed": False, "card_timeout": 30.0,
        "overlay_holes": ((40, 60, 200, 80),)}
    board = DeviceBoard.from_config(cfg)
    try:
        printer = board.printer("card_printer")
        assert (printer.levels, printer.black_policy, printer.compressed, printer.card_timeout) == \
            (64, "all_black", False, 30.0)
        assert printer.overlay_holes == ((40, 60, 200, 80),)
    finally:
        board.stop()


def test_an_unset_option_keeps_the_driver_default(tmp_path):
    cfg = config_with(tmp_path, '[devices.a4_printer]\nurl = "sim:a4_printer"\njob_timeout = 60\n')
    assert dict(cfg.device("a4_printer").options) == {"job_timeout": 60.0}


def test_an_unknown_option_names_its_key_with_a_hint(tmp_path):
    found = problems(tmp_path, '[devices.card_printer]\nurl = "sim:card_printer"\nlevel = 64\n')
    assert len(found) == 1
    assert found[0].endswith("devices.card_printer.level: unknown key (did you mean 'levels'?)")


@pytest.mark.parametrize("line, key, expected", [
    ("levels = \"64\"", "levels", "expected an integer, got '64'"),
    ("levels = 48", "levels", "expected one of 32, 64, 128, got 48"),
    ("black_policy = \"grey\"", "black_policy", "expected one of 'none', 'all_black', 'text', got 'grey'"),
    ("compressed = 1", "compressed", "expected true or false, got 1"),
    ("card_timeout = 1", "card_timeout", "expected seconds from 10 to 600, got 1"),
    ("overlay_holes = [[1, 2, 3]]", "overlay_holes", "expected a list of [x, y, width, height]"),
])
def test_a_wrong_value_is_one_line_naming_the_key(tmp_path, line, key, expected):
    found = problems(tmp_path, f'[devices.card_printer]\nurl = "sim:card_printer"\n{line}\n')
    assert len(found) == 1 and f"devices.card_printer.{key}: {expected}" in found[0], found


def test_an_option_of_another_driver_is_unknown_here(tmp_path):
    found = problems(tmp_path, '[devices.receipt_printer]\nurl = "sim:receipt_printer"\nlevels = 64\n')
    assert found[0].endswith("devices.receipt_printer.levels: unknown key")


def _block(text: str, start: str, end: str) -> str:
    head = text.index(start)
    tail = text.find(end, head + len(start))
    return text[head:tail if tail != -1 else None]


@pytest.mark.parametrize("role", registry.roles())
def test_each_option_is_in_the_example_config_and_the_docs(role):
    repo = Path(__file__).resolve().parents[2]
    docs = _block((repo / "docs" / "CONFIGURATION.md").read_text(), f"#### `[devices.{role}]`", "\n#")
    example = _block((repo / "config" / "kiosk.example.toml").read_text(), f"[devices.{role}]", "\n[")
    for option in registry.device(role).options:
        assert f"| `{option.name}` |" in docs, f"docs/CONFIGURATION.md lacks {role}.{option.name}"
        assert f"{option.name} =" in example, f"config/kiosk.example.toml lacks {role}.{option.name}"


def test_the_card_printers_sensor_table_and_contrast_reach_the_driver(tmp_path):
    """Issue 9: the guide's sensor voltages are read through a table from kiosk.toml."""
    cfg = config_with(tmp_path, '[devices.card_printer]\nurl = "sim:card_printer?answers=guide"\n'
                                'contrast = { k = 12 }\n'
                                '[devices.card_printer.sensor_thresholds."Evolis KC200"]\n'
                                'cover = { open_above = 2.5 }\nfeeder = { empty_above = 2.5 }\n')
    board = DeviceBoard.from_config(cfg)
    try:
        printer = board.printer("card_printer")
        assert printer.contrast == {"k": 12}
        assert printer.status().capabilities["sensors"]["cover"] == "closed"
        printer.simulator.set_cover(True)
        assert not printer.status().usable
    finally:
        board.stop()


@pytest.mark.parametrize("toml, key, expected", [
    ('sensor_thresholds = { KC200 = { lid = { open_above = 2 } } }', "sensor_thresholds",
     "'KC200'.lid: unknown sensor"),
    ('sensor_thresholds = { KC200 = { cover = { open_above = "2" } } }', "sensor_thresholds",
     "volts between 0 and 50"),
    ('sensor_thresholds = 2.5', "sensor_thresholds", "expected a table, got 2.5"),
    ('contrast = { o = 10 }', "contrast", "o: not a panel"),
    ('contrast = { k = 30 }', "contrast", "k: a whole number from 0 to 20, got 30"),
])
def test_a_wrong_sensor_table_or_contrast_names_its_key(tmp_path, toml, key, expected):
    found = problems(tmp_path, f'[devices.card_printer]\nurl = "sim:card_printer"\n{toml}\n')
    assert len(found) == 1 and f"devices.card_printer.{key}: " in found[0] and expected in found[0], found


def test_the_documented_sensor_table_example_is_read_as_it_says(tmp_path):
    """docs/CARD-PRINTER.md's worked example, as a technician would paste it (only the URL
    made the simulator's), and the example config's commented line, read the guide's voltages."""
    repo = Path(__file__).resolve().parents[2]
    docs = (repo / "docs" / "CARD-PRINTER.md").read_text()
    section = docs[docs.index("### `sensor_thresholds`"):]
    start = section.index("```toml\n") + len("```toml\n")
    example = section[start:section.index("```", start)]
    assert "[devices.card_printer.sensor_thresholds." in example
    url = next(line for line in example.splitlines() if line.startswith("url = "))
    pasted = example.replace(url, 'url = "sim:card_printer?answers=guide"')
    commented = next(line for line in (repo / "config" / "kiosk.example.toml").read_text().splitlines()
                     if line.startswith("# sensor_thresholds = "))
    one_line = '[devices.card_printer]\nurl = "sim:card_printer?answers=guide"\n' + commented.removeprefix("# ")
    for devices in (pasted, one_line):
        board = DeviceBoard.from_config(config_with(tmp_path, devices))
        try:
            printer = board.printer("card_printer")
            assert printer.status().capabilities["sensors"] == {"cover": "closed", "feeder": "cards", "card": "none"}
            printer.simulator.set_cover(True)
            assert [f.code.value for f in printer.status().faults] == ["cover_open"]
        finally:
            board.stop()


def test_the_scanners_options_reach_its_reader(tmp_path):
    """`[devices.scanner]` options go to the serial scanner's reader the running kiosk builds:
    with max_length = 16, the 24-byte WhatsApp code is cut there and refused."""
    import queue

    from devices.scanner import ScanRejected, parse_scan
    from devices.status import DeviceState
    from kiosk.scanner_runtime import ScannerInput

    cfg = config_with(tmp_path, '[devices.scanner]\nurl = "sim:scanner"\nmax_length = 16\npartial_timeout = 0.3\n')
    assert dict(cfg.device("scanner").options) == {"max_length": 16, "partial_timeout": 0.3}
    scanner = ScannerInput.from_config(cfg, retry_interval=0.05)
    scans, states = queue.Queue(), queue.Queue()
    scanner.reader.events.subscribe(scans.put)
    scanner.status_events.subscribe(lambda status: states.put(status.state))
    scanner.start()
    try:
        while states.get(timeout=5) != DeviceState.READY:
            pass
        code = "ADM1:REQ-20261122-AB12CD"                              # read whole, with the default 1024
        scanner.reader.simulator.scan(code)
        event = scans.get(timeout=5)
        assert len(event.text) < len(code)
        with pytest.raises(ScanRejected):
            parse_scan(event)
    finally:
        scanner.stop()
