"""A kiosk's prints and failures per day over the last 30 days, as an SVG bar chart made by
pygal. The page shows it as an <img>, so no script in it would run; pygal's own scripts
(tooltips, fetched from elsewhere) are left out all the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pygal
from pygal.style import Style

DAYS = 30
PRINTED_COLOUR = "#1b7f3b"
FAILED_COLOUR = "#c62828"


def _style(scale: float) -> Style:
    def size(points: int) -> int:
        return round(points * scale)
    return Style(background="#ffffff", plot_background="#ffffff", foreground="#222222",
                 foreground_strong="#111111", foreground_subtle="#d0d0d0", opacity="1", opacity_hover="1",
                 colors=(PRINTED_COLOUR, FAILED_COLOUR), font_family="DejaVu Sans, Arial, sans-serif",
                 label_font_size=size(13), major_label_font_size=size(13), legend_font_size=size(15),
                 value_font_size=size(12), title_font_size=size(16), no_data_font_size=size(18))


def days_ending(last_day: date, count: int = DAYS) -> list[date]:
    return [last_day - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


@dataclass(frozen=True)
class Shape:
    width: int
    height: int
    label_every: int          # an x label every this many days
    font_scale: float
    legend_columns: int
    bar_spacing: int


# The page picks one by the screen's width (<picture>): a phone gets a squarer chart with
# bigger letters, instead of a wide one shrunk until nothing can be read.
SHAPES = {"wide": Shape(900, 340, 5, 1.0, 2, 6), "narrow": Shape(420, 320, 7, 1.25, 2, 2)}


def prints_per_day(days: list[date], counts: dict[str, tuple[int, int]], *, printed_label: str,
                   failed_label: str, day_label: str, shape: Shape = SHAPES["wide"]) -> bytes:
    """`counts` is {"YYYY-MM-DD": (printed, failed)}; a day with no report is zero.
    `day_label` formats a day for the axis, e.g. "{day}/{month}"."""
    chart = pygal.Bar(width=shape.width, height=shape.height, style=_style(shape.font_scale), js=[],
                      legend_at_bottom=True, legend_at_bottom_columns=shape.legend_columns,
                      show_minor_x_labels=False, x_labels_major_every=shape.label_every, truncate_label=-1,
                      print_zeroes=False, margin=12, spacing=shape.bar_spacing, show_y_guides=True,
                      show_x_guides=False, disable_xml_declaration=False)
    printed = [counts.get(d.isoformat(), (0, 0))[0] for d in days]
    failed = [counts.get(d.isoformat(), (0, 0))[1] for d in days]
    chart.x_labels = [day_label.format(day=d.day, month=d.month) for d in days]
    chart.y_labels = whole_number_ticks(max(printed + failed, default=0))
    chart.add(printed_label, printed)
    chart.add(failed_label, failed)
    return chart.render()


def whole_number_ticks(highest: int, most: int = 6) -> list[int]:
    """0 up to at least `highest` in whole steps of 1, 2, 5, 10, 20, 50 ... (prints are
    counted, so the axis never says 2.5), at most `most` ticks."""
    step = 1
    while -(-max(highest, 1) // step) + 1 > most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return list(range(0, -(-max(highest, 1) // step) * step + 1, step))
