"""Reading an Evolis command stream the way the printer does: commands, panels, cards.

Used by the card printer simulator (fed incrementally from the wire) and by
`adm-kiosk simulate decode-card` (a captured file). It tolerates what real streams carry:
commands it does not know (`Pdt`, `Mr;s`, `Ppws;…`, `Se;1`), NUL padding and stray bytes
between commands. Panel payloads are decoded here, independently of the host's encoder
(`printer_drivers.evolis.compression`), so a round trip checks one reading against the other.

Panels are arrays of 1016 lines x 648 pixels (`uint8`): for K and O 1 = print, for Y/M/C the
dye level. The card's top edge is the panel's right edge; `card_image` turns it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ESC, CR = 0x1B, 0x0D
PANEL_WIDTH, PANEL_LINES = 648, 1016
LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7}
PANEL_NAMES = ("y", "m", "c", "k", "o")
_HEADER_LIMIT = 64   # a command header longer than this is noise, not a command


class StreamError(ValueError):
    """The stream breaks the format (a bad header, a panel of the wrong size …)."""


@dataclass(frozen=True)
class Command:
    name: str
    params: tuple[str, ...] = ()
    data: bytes | None = None      # the payload of Db / Dbc

    def __str__(self) -> str:
        text = ";".join((self.name, *self.params))
        return f"{text};<{len(self.data)} bytes>" if self.data is not None else text


@dataclass
class Panel:
    name: str
    levels: int
    pixels: np.ndarray             # PANEL_LINES x PANEL_WIDTH, uint8
    compressed: bool


@dataclass
class Card:
    ribbon: str = ""
    front: dict[str, Panel] = field(default_factory=dict)
    back: dict[str, Panel] = field(default_factory=dict)


# --- the command stream ---------------------------------------------------------------------

def panel_bytes(levels: int, width: int = PANEL_WIDTH, lines: int = PANEL_LINES) -> int:
    """Size of an uncompressed panel: bits per pixel, packed with no gaps."""
    return width * lines * level_bits(levels) // 8


def level_bits(levels: int) -> int:
    try:
        return LEVEL_BITS[levels]
    except KeyError:
        raise StreamError(f"unsupported level count {levels}") from None


class CommandReader:
    """Splits bytes into commands as they arrive. `push()` returns the complete ones;
    an incomplete command waits for more. `skipped` counts stray non-NUL bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0

    def push(self, data: bytes) -> list[Command | StreamError]:
        self._buffer += data
        found: list[Command | StreamError] = []
        while True:
            start = self._buffer.find(ESC)
            noise = self._buffer[:len(self._buffer) if start < 0 else start]
            self.skipped += len(noise) - noise.count(0)
            del self._buffer[:len(noise)]
            if start < 0:
                return found
            try:
                parsed = _parse_one(self._buffer)
            except StreamError as exc:
                del self._buffer[:1]        # resynchronise on the next ESC
                found.append(exc)
                continue
            if parsed is None:
                return found
            command, used = parsed
            del self._buffer[:used]
            found.append(command)

    @property
    def pending(self) -> int:
        return len(self._buffer)


def _parse_one(buffer: bytearray) -> tuple[Command, int] | None:
    """One command at the start of `buffer` (which starts with ESC), or None if incomplete."""
    if buffer.startswith(b"\x1bDbc;") or buffer.startswith(b"\x1bDb;"):
        return _parse_download(buffer)
    end = buffer.find(CR, 1)
    if end < 0:
        if len(buffer) > _HEADER_LIMIT:
            raise StreamError("command without a CR")
        return None
    text = bytes(buffer[1:end])
    if len(text) > _HEADER_LIMIT or not text or any(b < 0x20 or b > 0x7E for b in text):
        raise StreamError(f"not a command: {text[:16]!r}")
    name, *params = text.decode("ascii").split(";")
    return Command(name, tuple(params)), end + 1


def _parse_download(buffer: bytearray) -> tuple[Command, int] | None:
    compressed = buffer.startswith(b"\x1bDbc;")
    fields_wanted = 3 if compressed else 2     # panel;levels[;nbytes] then ';'
    position, fields = 1, []
    for _ in range(fields_wanted + 1):
        separator = buffer.find(b";", position)
        if separator < 0:
            if len(buffer) > _HEADER_LIMIT:
                raise StreamError("download header without its fields")
            return None
        fields.append(bytes(buffer[position:separator]).decode("ascii", "replace"))
        position = separator + 1
    name, panel, levels_text, *rest = fields
    if panel not in PANEL_NAMES:
        raise StreamError(f"unknown panel {panel!r}")
    if not levels_text.isdigit():
        raise StreamError(f"bad level count {levels_text!r}")
    levels = int(levels_text)
    if compressed:
        if not rest[0].isdigit():
            raise StreamError(f"bad byte count {rest[0]!r}")
        size = int(rest[0])
    else:
        size = panel_bytes(levels)
    end = position + size
    if len(buffer) < end + 1:
        return None
    if buffer[end] != CR:
        raise StreamError(f"{name};{panel}: payload not followed by CR (length wrong?)")
    params = (panel, levels_text, *rest)
    return Command(name, params, bytes(buffer[position:end])), end + 1


# --- panel payloads ---------------------------------------------------------------------------

def decode_panel(command: Command) -> Panel:
    """The pixels of a Db or Dbc command."""
    # A bare "Db" (no panel, no levels) is framed as a plain command: refuse it here.
    if len(command.params) < 2 or not command.params[1].isascii() or not command.params[1].isdigit():
        raise StreamError(f"{command.name} needs a panel and a level count, got {';'.join(command.params)[:20]!r}")
    panel, levels = command.params[0], int(command.params[1])
    bits = level_bits(levels)
    if (bits == 1) != (panel in ("k", "o")):
        raise StreamError(f"panel {panel} cannot have {levels} levels")
    data = command.data or b""
    if command.name == "Db":
        pixels = unpack_levels(data, levels)
    elif bits == 1:
        pixels = decode_mono(data)
    else:
        pixels = decode_runs(data, levels)
    return Panel(panel, levels, pixels, command.name == "Dbc")


def unpack_levels(data: bytes, levels: int, width: int = PANEL_WIDTH, lines: int = PANEL_LINES) -> np.ndarray:
    bits = level_bits(levels)
    if len(data) != width * lines * bits // 8:
        raise StreamError(f"uncompressed panel is {len(data)} bytes, expected {width * lines * bits // 8}")
    all_bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).reshape(-1, bits)
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
    return (all_bits @ weights).astype(np.uint8).reshape(lines, width) if bits > 1 \
        else all_bits.reshape(lines, width)


def decode_mono(data: bytes, width: int = PANEL_WIDTH, lines: int = PANEL_LINES) -> np.ndarray:
    line_bytes = width // 8
    packed = np.zeros((lines, line_bytes), dtype=np.uint8)
    position = 0
    for line in range(lines):
        if position >= len(data):
            raise StreamError(f"compressed K/O panel ends at line {line} of {lines}")
        head = data[position]
        position += 1
        if head == 0xFF:
            packed[line] = 0xFF
        elif head:
            if head > line_bytes or position + head > len(data):
                raise StreamError(f"line {line}: bad length byte {head}")
            packed[line, :head] = np.frombuffer(data, np.uint8, head, position)
            position += head
    if position != len(data):
        raise StreamError(f"{len(data) - position} bytes left after the last line")
    return np.unpackbits(packed, axis=1)[:, :width]


def decode_runs(data: bytes, levels: int, width: int = PANEL_WIDTH, lines: int = PANEL_LINES) -> np.ndarray:
    bits = level_bits(levels)
    value_mask = (1 << bits) - 1
    total = width * lines
    out = bytearray(total)
    position = pixel = 0
    size = len(data)
    while pixel < total:
        if position >= size:
            raise StreamError(f"compressed panel ends at pixel {pixel} of {total}")
        head = data[position]
        position += 1
        if head < 0x80:
            if head > value_mask:
                raise StreamError(f"value {head} does not fit {levels} levels")
            out[pixel] = head
            pixel += 1
            continue
        if position >= size:
            raise StreamError("run without its count byte")
        count = ((head & 0x7F) >> bits) << 8 | data[position]
        position += 1
        line_end = (pixel // width + 1) * width
        if count == 0:
            pixel = line_end              # rest of the line blank; out is zero already
            continue
        if pixel + count > line_end:
            raise StreamError(f"run of {count} crosses the end of a line")
        value = head & value_mask
        if value:
            out[pixel:pixel + count] = bytes((value,)) * count
        pixel += count
    if position != size:
        raise StreamError(f"{size - position} bytes left after the last pixel")
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(lines, width)


# --- whole streams and pictures -----------------------------------------------------------------

def decode_stream(data: bytes) -> list[Card]:
    """Every card in a captured stream. Raises StreamError on a malformed command."""
    reader = CommandReader()
    builder = CardBuilder()
    for item in reader.push(data):
        if isinstance(item, StreamError):
            raise item
        builder.apply(item)
    if reader.pending:
        raise StreamError(f"stream ends inside a command ({reader.pending} bytes)")
    return builder.finish()


class CardBuilder:
    """Follows the print sequence (Pr, Ss, Sr/Sv, panels, Se) and collects cards."""

    def __init__(self) -> None:
        self.ribbon = ""
        self.cards: list[Card] = []
        self.current: Card | None = None
        self._side = "front"

    def apply(self, command: Command) -> Panel | None:
        if command.name == "Pr" and command.params:
            self.ribbon = command.params[0]
        elif command.name == "Ss":
            self.current, self._side = Card(self.ribbon), "front"
        elif command.name in ("Sr", "Sv"):
            self._side = "front" if command.name == "Sr" else "back"
        elif command.name in ("Db", "Dbc"):
            panel = decode_panel(command)
            if self.current is None:        # a panel without Ss: the printer starts a card
                self.current = Card(self.ribbon)
            getattr(self.current, self._side)[panel.name] = panel
            return panel
        elif command.name in ("Se", "Ser") and self.current is not None:
            self.cards.append(self.current)
            self.current = None
        return None

    def finish(self) -> list[Card]:
        if self.current is not None and (self.current.front or self.current.back):
            self.cards.append(self.current)
            self.current = None
        return self.cards


def card_image(panels: dict[str, Panel]) -> Image.Image:
    """One side as the citizen sees it: Y/M/C dye subtracted from white, K resin on top,
    the clear overlay ignored. Landscape, 1016 x 648."""
    rgb = np.full((PANEL_LINES, PANEL_WIDTH, 3), 255.0, dtype=np.float32)
    for channel, name in enumerate(("c", "m", "y")):   # C absorbs red, M green, Y blue
        panel = panels.get(name)
        if panel is not None:
            rgb[..., channel] -= panel.pixels * (255.0 / (panel.levels - 1))
    if "k" in panels:
        rgb[panels["k"].pixels.astype(bool)] = 0
    image = np.clip(rgb, 0, 255).astype(np.uint8)
    return Image.fromarray(np.rot90(image, 1))        # panel's right edge is the card's top


def panel_image(panel: Panel) -> Image.Image:
    """A panel as a grey picture, in panel orientation: dark where it prints."""
    scale = 255.0 / (panel.levels - 1)
    return Image.fromarray((255 - panel.pixels * scale).astype(np.uint8))


def save_card(card: Card, out_dir: Path, stem: str) -> list[Path]:
    """Write the composite of each printed side and every panel as PNG; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for side in ("front", "back"):
        panels = getattr(card, side)
        if not panels:
            continue
        path = out_dir / f"{stem}-{side}.png"
        card_image(panels).save(path)
        written.append(path)
        for name, panel in panels.items():
            path = out_dir / f"{stem}-{side}-{name}.png"
            panel_image(panel).save(path)
            written.append(path)
    return written
