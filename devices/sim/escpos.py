"""An ESC/POS thermal receipt printer, as a `DeviceSimulator`.

It parses the byte stream the way a printer does: real-time status queries (DLE EOT n) are
answered with the status bytes of its current state, text is collected into lines, raster
images (GS v 0, and GS ( L store + print, which python-escpos uses for images and QR codes)
are decoded into Pillow images, and GS V cuts the paper. `render_text()` and `render_png()`
show everything it printed, for review.

Like a real printer it stops printing while not ready (cover open, paper out, offline):
data waits in its receive buffer and is printed once the fault is cleared; when that buffer
is full the host's write stalls (over USB, `stalled()` makes the bulk OUT time out).
Status queries are still answered while stopped, as real-time commands are.

Faults (`inject()` / `clear()`, or `sim:receipt_printer?faults=paper_out,cover_open`):
paper_out, paper_near_end, cover_open, offline (a recoverable error), cutter_error,
garbage (status replies are noise), odd_status (as some clones: DLE EOT 3 and 4 answer a
byte without the fixed bits; `odd_queries` picks others), silent (no status replies) and
hang_up_mid_print (the link drops after `hang_up_after` bytes of print data).

Mechanical time (`mechanism`, from ``speed=realistic``; devices.sim.mechanics): each receipt
comes out 2 s after its first byte (a warm-up on the first one after power-on or a long
idle), one after another. Like a real printer it takes the data into its buffer and answers
status at once meanwhile; `cuts` counts the receipts that are out by now.

Serve it with `devices.sim.serve.serve_pty` / `serve_socket`, or plug it into
`devices.sim.usb_backend.SimulatedUsbBus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from PIL import Image, ImageDraw, ImageFont

from .base import DeviceSimulator
from .mechanics import RECEIPT_S, RECEIPT_TIMING, Mechanism

ESC, GS, FS, DLE, EOT = 0x1B, 0x1D, 0x1C, 0x10, 0x04
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

PAPER_OUT = "paper_out"
PAPER_NEAR_END = "paper_near_end"
COVER_OPEN = "cover_open"
OFFLINE = "offline"
CUTTER_ERROR = "cutter_error"
GARBAGE = "garbage"
ODD_STATUS = "odd_status"
SILENT = "silent"
HANG_UP_MID_PRINT = "hang_up_mid_print"
FAULTS = (PAPER_OUT, PAPER_NEAR_END, COVER_OPEN, OFFLINE, CUTTER_ERROR, GARBAGE, ODD_STATUS, SILENT,
          HANG_UP_MID_PRINT)
_STOPS_PRINTING = {PAPER_OUT, COVER_OPEN, OFFLINE, CUTTER_ERROR}

# Status bytes always have bit 1 and bit 4 set and bits 0 and 7 clear (Epson ESC/POS).
STATUS_FIXED = 0x12
GARBAGE_REPLY = b"\xff\xa5\x00"

# Parameter bytes after ESC x / GS x / FS x for the fixed-length commands we know.
_ESC_ARGS = {ord(c): n for c, n in {
    "@": 0, "!": 1, "E": 1, "a": 1, "t": 1, "{": 1, "-": 1, "M": 1, "G": 1, "d": 1, "J": 1,
    "2": 0, "3": 1, "R": 1, "V": 1, "p": 3, "U": 1, " ": 1, "$": 2, "\\": 2, "r": 1, "i": 0,
    "m": 0, "=": 1, "L": 0, "S": 0, "T": 1, "e": 1, "c": 2, "B": 2}.items()}
_GS_ARGS = {ord(c): n for c, n in {
    "!": 1, "B": 1, "b": 1, "L": 2, "W": 2, "H": 1, "f": 1, "h": 1, "w": 1, "a": 1, "I": 1,
    "r": 1, "P": 2, "$": 2, "\\": 2, "T": 1}.items()}
_FS_ARGS = {ord("."): 0, ord("&"): 0, ord("C"): 1, ord("p"): 2}
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}


@dataclass(frozen=True)
class PrintedLine:
    text: str
    align: str = "left"
    bold: bool = False
    double_width: bool = False
    double_height: bool = False


@dataclass(frozen=True)
class PrintedImage:
    image: Image.Image        # mode "1": black dots are 0


@dataclass(frozen=True)
class Cut:
    partial: bool = False


class _Incomplete(Exception):
    """The command at the buffer's head needs bytes that have not arrived yet."""


class EscPosSimulator(DeviceSimulator):
    def __init__(self, faults: tuple[str, ...] | list[str] = (), receive_buffer: int = 4096,
                 hang_up_after: int = 2000, mechanism: Mechanism | None = None) -> None:
        super().__init__()
        self.mechanism = mechanism or Mechanism(RECEIPT_TIMING)
        self._receipts_out_at: list[float] = []       # when each cut receipt is (or will be) out
        self._receipt_started: float | None = None
        self.faults: set[str] = set()
        self.receive_buffer = receive_buffer
        self.hang_up_after = hang_up_after
        self.odd_queries = {3, 4}           # the queries `odd_status` answers outside the pattern
        self.printed: list[PrintedLine | PrintedImage | Cut] = []
        self.unknown_commands: list[bytes] = []
        self.status_queries: list[int] = []
        self._pending = bytearray()           # received, not yet printed
        self._line = bytearray()
        self._align, self._bold, self._codepage = "left", False, "cp437"
        self._wide = self._tall = False
        self._stored_graphic: Image.Image | None = None
        self._print_bytes = 0
        self.inject(*faults)

    # --- faults ------------------------------------------------------------------------
    def inject(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown ESC/POS simulator fault(s): {', '.join(sorted(unknown))}")
        with self.lock:
            self.faults.update(faults)

    def clear(self, *faults: str) -> None:
        """Clear the named faults (all when none named); buffered data then prints."""
        with self.lock:
            if faults:
                self.faults.difference_update(faults)
            else:
                self.faults.clear()
            self._process()

    def reconnect(self) -> None:
        """Power back on after a hang-up: what was in the receive buffer is lost."""
        with self.lock:
            self._pending.clear()
            self._line.clear()
            self._print_bytes = 0
            self.take_output()
            super().reconnect()

    @property
    def ready(self) -> bool:
        return not (self.faults & _STOPS_PRINTING)

    # --- the wire ----------------------------------------------------------------------
    def stalled(self, data: bytes) -> bool:
        """True while the receive buffer cannot take `data` (a stopped printer fills up)."""
        with self.lock:
            return (not self.ready and not _is_status_query(data)
                    and len(self._pending) + len(data) > self.receive_buffer)

    def feed(self, data: bytes) -> None:
        with self.lock:
            if not self.ready and _is_status_query(data[-3:]):
                # Real-time: answered even while stopped, also when the link delivered it
                # in one read with print data that is still waiting in the buffer.
                self._answer_status(data[-1])
                data = data[:-3]
            self._pending += data
            self._process()

    def _answer_status(self, n: int) -> None:
        self.status_queries.append(n)
        if SILENT in self.faults:
            return
        if GARBAGE in self.faults:
            self.send(GARBAGE_REPLY)
        elif ODD_STATUS in self.faults and n in self.odd_queries:
            self.send(b"\x00")                  # a clone's answer: none of the fixed bits
        else:
            self.send(bytes((self.status_byte(n),)))

    def status_byte(self, n: int) -> int:
        """DLE EOT n: 1 printer, 2 offline cause, 3 error cause, 4 paper roll sensor."""
        f = self.faults
        value = STATUS_FIXED
        if n == 1 and not self.ready:
            value |= 0x08                                   # offline
        elif n == 2:
            value |= (0x04 if COVER_OPEN in f else 0) | (0x20 if PAPER_OUT in f else 0)
            value |= 0x40 if f & {OFFLINE, CUTTER_ERROR} else 0      # an error occurred
        elif n == 3:
            value |= (0x08 if CUTTER_ERROR in f else 0) | (0x40 if OFFLINE in f else 0)
        elif n == 4:
            value |= (0x0C if PAPER_NEAR_END in f or PAPER_OUT in f else 0)
            value |= 0x60 if PAPER_OUT in f else 0
        return value

    # --- the parser --------------------------------------------------------------------
    def _process(self) -> None:
        while self._pending and not self.hung_up.is_set():
            head = self._pending[0]
            if head == DLE and len(self._pending) >= 2 and self._pending[1] == EOT:
                if len(self._pending) < 3:
                    return
                self._answer_status(self._pending[2])
                del self._pending[:3]
                continue
            if not self.ready:
                return
            try:
                used = self._command(bytes(self._pending))
            except _Incomplete:
                return
            del self._pending[:used]
            self._print_bytes += used
            if self._receipt_started is None:
                self._receipt_started = self.mechanism.clock()
            if HANG_UP_MID_PRINT in self.faults and self._print_bytes >= self.hang_up_after:
                self.hang_up()

    def _command(self, buf: bytes) -> int:
        """Act on the command at the head of `buf`; return how many bytes it took."""
        head = buf[0]
        if head in (ESC, GS, FS):
            if len(buf) < 2:
                raise _Incomplete
            return {ESC: self._esc, GS: self._gs, FS: self._fs}[head](buf)
        if head == LF:
            self._end_line()
        elif head == HT:
            self._line += b"    "
        elif head >= 0x20:
            self._line.append(head)
        elif head not in (CR, FF):
            self.unknown_commands.append(bytes((head,)))
        return 1

    def _esc(self, buf: bytes) -> int:
        code = buf[1]
        if code == ord("*"):                       # column bit image: skipped, counted
            m, width = _need(buf, 5)[2], buf[3] | buf[4] << 8
            size = 5 + width * (3 if m in (32, 33) else 1)
            _need(buf, size)
            self.printed.append(PrintedImage(Image.new("1", (width, 24 if m in (32, 33) else 8), 1)))
            return size
        args = self._fixed_args(buf, _ESC_ARGS)
        if args is None:
            return 2
        if code == ord("@"):
            self._align, self._bold, self._codepage = "left", False, "cp437"
            self._wide = self._tall = False
        elif code == ord("a"):
            self._align = ("left", "center", "right")[args[0] % 48 % 3]
        elif code == ord("E"):
            self._bold = bool(args[0] & 1)
        elif code == ord("!"):
            self._bold, self._tall, self._wide = bool(args[0] & 0x08), bool(args[0] & 0x10), bool(args[0] & 0x20)
        elif code == ord("t"):
            self._codepage = _CODEPAGES.get(args[0], "cp437")
        elif code == ord("d"):
            self._end_line()
            for _ in range(max(args[0] - 1, 0)):
                self._end_line()
        return 2 + len(args)

    def _gs(self, buf: bytes) -> int:
        code = buf[1]
        if code == ord("V"):
            mode = _need(buf, 3)[2]
            size = 4 if mode in (65, 66, 97, 98, 103, 104) else 3
            _need(buf, size)
            self._end_line(only_if_text=True)
            if CUTTER_ERROR not in self.faults:
                self.printed.append(Cut(partial=mode in (1, 49, 66, 98, 104)))
                self._receipt_cut()
            return size
        if code == ord("v"):                       # GS v 0 m xL xH yL yH d1..dk
            header = _need(buf, 8)
            width_bytes, height = header[4] | header[5] << 8, header[6] | header[7] << 8
            data = _need(buf, 8 + width_bytes * height)[8:8 + width_bytes * height]
            self._end_line(only_if_text=True)
            self.printed.append(PrintedImage(_raster(data, width_bytes * 8, width_bytes, height)))
            return 8 + width_bytes * height
        if code == ord("("):                       # GS ( fn pL pH payload
            header = _need(buf, 5)
            size = 5 + (header[3] | header[4] << 8)
            self._extended(header[2], _need(buf, size)[5:size])
            return size
        if code == ord("k"):                       # a 1D barcode: consumed, not drawn
            m = _need(buf, 3)[2]
            if m < 65:
                end = buf.find(b"\x00", 3)
                if end < 0:
                    raise _Incomplete
                return end + 1
            return 4 + _need(buf, 4)[3]
        args = self._fixed_args(buf, _GS_ARGS)
        if args is None:
            return 2
        if code == ord("!"):
            self._wide, self._tall = bool(args[0] & 0xF0), bool(args[0] & 0x0F)
        return 2 + len(args)

    def _extended(self, fn: int, payload: bytes) -> None:
        if fn == ord("L") and len(payload) >= 2:
            function = payload[1]
            if function == 112 and len(payload) >= 10:     # store raster graphics
                width, height = payload[6] | payload[7] << 8, payload[8] | payload[9] << 8
                width_bytes = (width + 7) // 8
                self._stored_graphic = _raster(payload[10:], width, width_bytes, height)
            elif function == 50 and self._stored_graphic is not None:   # print stored graphics
                self._end_line(only_if_text=True)
                self.printed.append(PrintedImage(self._stored_graphic))
        # GS ( k (native 2D codes) and other GS ( functions are accepted and not drawn.

    def _fs(self, buf: bytes) -> int:
        args = self._fixed_args(buf, _FS_ARGS)
        return 2 if args is None else 2 + len(args)

    def _fixed_args(self, buf: bytes, table: Mapping[int, int]) -> bytes | None:
        """The arguments of a fixed-length command of `table` (its second byte -> how many),
        `_Incomplete` until they have all come; None for a command not in it, noted as
        unknown (the caller skips its two bytes)."""
        code = buf[1]
        if code not in table:
            self.unknown_commands.append(buf[:2])
            return None
        size = 2 + table[code]
        return _need(buf, size)[2:size]

    def _end_line(self, only_if_text: bool = False) -> None:
        if only_if_text and not self._line:
            return
        text = bytes(self._line).decode(self._codepage, errors="replace")
        self.printed.append(PrintedLine(text, self._align, self._bold, self._wide, self._tall))
        self._line.clear()

    # --- review ------------------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        with self.lock:
            return [item.text for item in self.printed if isinstance(item, PrintedLine)]

    @property
    def images(self) -> list[Image.Image]:
        with self.lock:
            return [item.image for item in self.printed if isinstance(item, PrintedImage)]

    def _receipt_cut(self) -> None:
        now = self.mechanism.clock()
        started = self._receipt_started if self._receipt_started is not None else now
        previous = self._receipts_out_at[-1] if self._receipts_out_at else started
        begins = max(started, previous)          # one receipt after another through the head
        seconds = self.mechanism.job_seconds(RECEIPT_S, now=begins)
        out_at = begins + seconds
        self._receipts_out_at.append(out_at)
        self.mechanism.finished(out_at, began=begins, seconds=seconds)
        self._receipt_started = None

    @property
    def cuts(self) -> int:
        """Receipts cut and out of the printer by now."""
        with self.lock:
            now = self.mechanism.clock()
            return sum(out_at <= now for out_at in self._receipts_out_at)

    @property
    def receipts_out_at(self) -> list[float]:
        """The mechanism's clock time each receipt is (or will be) out, in order."""
        with self.lock:
            return list(self._receipts_out_at)

    def forget_output(self) -> None:
        """Drop what was printed and the queries seen (kept for inspection): a long-running
        demo or benchmark calls this so the simulator's memory stays flat."""
        with self.lock:
            self.printed.clear()
            self._receipts_out_at.clear()
            self.status_queries.clear()
            self.unknown_commands.clear()

    def render_text(self) -> str:
        out = []
        with self.lock:
            for item in self.printed:
                if isinstance(item, PrintedLine):
                    out.append(item.text)
                elif isinstance(item, PrintedImage):
                    out.append(f"[image {item.image.width}x{item.image.height}]")
                else:
                    out.append("-" * 16 + (" partial cut " if item.partial else " cut ") + "-" * 16)
        return "\n".join(out) + "\n"

    def render_png(self, path: str | Path, width: int = 576) -> Path:
        """Draw the paper roll as printed (12 x 24 dot characters, as Font A): text wrapped
        at the paper's width, double sizes, images at dot scale, cut marks."""
        with self.lock:
            items = list(self.printed)
        strips = [strip for item in items for strip in _draw(item, width)]
        roll = Image.new("L", (width, sum(s.height for s in strips) + 24), 255)
        y = 12
        for strip in strips:
            roll.paste(strip, (0, y))
            y += strip.height
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        roll.save(target)
        return target


CELL_WIDTH, CELL_HEIGHT = 12, 24


def _draw(item: PrintedLine | PrintedImage | Cut, width: int) -> list[Image.Image]:
    """One printed item as strips of the roll's width."""
    if isinstance(item, PrintedImage):
        strip = Image.new("L", (width, item.image.height), 255)
        strip.paste(item.image.convert("L"), (0, 0))
        return [strip]
    if isinstance(item, Cut):
        strip = Image.new("L", (width, CELL_HEIGHT), 255)
        ImageDraw.Draw(strip).line((0, CELL_HEIGHT // 2, width, CELL_HEIGHT // 2), fill=0, width=1)
        ImageDraw.Draw(strip).text((4, 0), "partial cut" if item.partial else "cut", font=_font(), fill=0)
        return [strip]
    x_scale, y_scale = (2 if item.double_width else 1), (2 if item.double_height else 1)
    columns = max(width // (CELL_WIDTH * x_scale), 1)
    text = item.text or " "
    strips = []
    for start in range(0, len(text), columns):
        chunk = text[start:start + columns]
        cells = Image.new("L", (len(chunk) * CELL_WIDTH, CELL_HEIGHT), 255)
        draw = ImageDraw.Draw(cells)
        for offset in ((0, 0), (1, 0)) if item.bold else ((0, 0),):   # bold: struck twice
            draw.text((offset[0], 2 + offset[1]), chunk, font=_font(), fill=0)
        cells = cells.resize((cells.width * x_scale, CELL_HEIGHT * y_scale))
        strip = Image.new("L", (width, cells.height), 255)
        x = {"left": 0, "center": (width - cells.width) // 2, "right": width - cells.width}[item.align]
        strip.paste(cells, (x, 0))
        strips.append(strip)
    return strips


def _is_status_query(data: bytes) -> bool:
    return len(data) == 3 and data[0] == DLE and data[1] == EOT


def _need(buf: bytes, size: int) -> bytes:
    if len(buf) < size:
        raise _Incomplete
    return buf


def _raster(data: bytes, width: int, width_bytes: int, height: int) -> Image.Image:
    """Raster bit image (1 = black dot, MSB first) to a Pillow image with black = 0."""
    packed = bytes(b ^ 0xFF for b in data[:width_bytes * height])
    image = Image.frombytes("1", (width_bytes * 8, height), packed)
    return image.crop((0, 0, width, height)) if width != width_bytes * 8 else image


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A monospaced face at the 12-dot pitch of a receipt printer's Font A. python-barcode
    (a python-escpos dependency) ships DejaVu Sans Mono; Pillow's own font is the fallback."""
    try:
        import barcode
        return ImageFont.truetype(str(Path(barcode.__file__).parent / "fonts" / "DejaVuSansMono.ttf"), 19)
    except (ImportError, OSError):
        return ImageFont.load_default()


# --- as a sim: URL (devices/sim/catalogue.py) ----------------------------------------------------

SIM_NAMES = ("receipt_printer",)


def simulated_link(url: str, params) -> "SimulatedSerialLink":
    """`sim:receipt_printer?faults=paper_near_end,…`: the simulator on a pty, as a byte link."""
    from .link import SimulatedSerialLink
    faults = [f for f in params.get("faults", "").split(",") if f]
    return SimulatedSerialLink(url, EscPosSimulator(faults, mechanism=Mechanism.from_params(params, RECEIPT_TIMING)))
