"""KIA card PDF -> the full encoded command stream for both sides (ARCHITECTURE §9).

    python -m benchmarks.bench_card_imaging [--runs 20] [--levels 32]

Uses the reference server's specimen KIA (2 pages, CR-80, colour front, black back).
Prints the median time of the whole pipeline and of its stages, and the bytes on the wire
compressed (Dbc) against raw (Db). Budgets: <= 150 ms, compressed <= 1/3 of raw.
"""

from __future__ import annotations

import argparse
import statistics
import time

from printer_drivers.evolis.imaging import card_panels, rasterize_pdf
from printer_drivers.evolis.protocol import download_frame, frame
from tests.fixtures.evolis import demo_kia_pdf

BUDGET_MS = 150.0
BUDGET_RATIO = 1 / 3


def card_stream(panels, compressed: bool) -> bytes:
    """The bytes a print sends: Pr, Ss, Sr + front panels, Sv + back panels, Se."""
    parts = [frame("Pr", panels.ribbon), frame("Ss"), frame("Sr")]
    parts += [download_frame(p.name, p.levels, p.payload(compressed), compressed) for p in panels.front]
    if panels.back:
        parts.append(frame("Sv"))
        parts += [download_frame(p.name, p.levels, p.payload(compressed), compressed) for p in panels.back]
    return b"".join(parts + [frame("Se")])


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--levels", type=int, default=32, choices=(32, 64, 128))
    parser.add_argument("--ribbon", default="ymcko")
    args = parser.parse_args()
    pdf = demo_kia_pdf()

    total, raster, separate, encode = [], [], [], []
    stream = b""
    for _ in range(args.runs):
        start = time.perf_counter()
        pages = rasterize_pdf(pdf)
        rasterised = time.perf_counter()
        panels = card_panels(pages, args.ribbon, args.levels)
        separated = time.perf_counter()
        stream = card_stream(panels, compressed=True)
        done = time.perf_counter()
        total.append(done - start)
        raster.append(rasterised - start)
        separate.append(separated - rasterised)
        encode.append(done - separated)
    raw = card_stream(panels, compressed=False)
    ratio = len(stream) / len(raw)

    print(f"KIA PDF ({len(pdf)} bytes, 2 pages) -> {args.ribbon} stream at {args.levels} levels, "
          f"median of {args.runs} runs")
    print(f"  total            {median_ms(total):7.1f} ms   (budget {BUDGET_MS:.0f} ms)")
    print(f"    rasterise      {median_ms(raster):7.1f} ms")
    print(f"    separate       {median_ms(separate):7.1f} ms")
    print(f"    encode (Dbc)   {median_ms(encode):7.1f} ms")
    print(f"  compressed       {len(stream):9,d} bytes")
    print(f"  raw (Db)         {len(raw):9,d} bytes")
    print(f"  ratio            {ratio:9.3f}      (budget {BUDGET_RATIO:.3f})")
    for name, size in ((p.name, len(p.payload(True))) for p in panels.front + panels.back):
        print(f"    panel {name}: {size:,d} bytes")
    within = median_ms(total) <= BUDGET_MS and ratio <= BUDGET_RATIO
    print("  within budget" if within else "  OVER BUDGET")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
