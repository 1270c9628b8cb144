"""Small SVG charts drawn on the server: no JavaScript, readable on a 360 px phone, announced to screen readers.

Each chart is an <svg role="img"> with a <title> and a <desc> that says the figures in words; the page also shows
the same figures in a table. Colours are SVG attributes, not inline styles, so the page's CSP allows them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 360  # the viewBox width: the chart scales to its container, this is the size the text is drawn for
PALETTE = ("#1f5fa8", "#2e8540", "#c77c02", "#8e44ad", "#b3261e", "#5f6b7a")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    color: str = ""


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;"})


def number(value: float) -> str:
    """Vietnamese digit grouping: 12.345 and 12,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _open(title: str, desc: str, height: int) -> tuple[str, str]:
    n = next(_ids)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-labelledby="chart{n}t chart{n}d" class="chart" font-family="sans-serif" font-size="12">'
            f'<title id="chart{n}t">{escape(title)}</title><desc id="chart{n}d">{escape(desc)}</desc>')
    return head, "</svg>"


def _legend_width(name: str) -> int:
    return 24 + 7 * len(name)  # about 7 units a letter at font size 12


def _legend_places(series: list[Series]) -> list[tuple[int, int]]:
    """Where each legend entry goes: left to right, wrapping before an entry that would not fit."""
    places, x, row = [], 8, 0
    for item in series:
        if x > 8 and x + _legend_width(item.name) > WIDTH - 4:
            x, row = 8, row + 1
        places.append((x, row))
        x += _legend_width(item.name)
    return places


def _legend(series: list[Series], y: int) -> str:
    return "".join(f'<rect x="{x}" y="{y + 16 * row - 10}" width="10" height="10" fill="{_attr(item.color)}"/>'
                   f'<text x="{x + 14}" y="{y + 16 * row}">{escape(item.name)}</text>'
                   for item, (x, row) in zip(series, _legend_places(series)))


def _colored(series: list[Series]) -> list[Series]:
    return [s if s.color else Series(s.name, s.values, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]


def _legend_rows(series: list[Series]) -> int:
    return 1 + max((row for _, row in _legend_places(series)), default=0)


def stacked_bars(title: str, labels: list[str], series: list[Series], *, unit: str = "") -> str:
    """Vertical bars, one per label, each split into the series (e.g. months split by channel)."""
    series = _colored(series)
    legend_height = 16 * _legend_rows(series) + 6
    top, left, plot_height = 12 + legend_height, 40, 150
    height = top + plot_height + 26
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max(totals + [1])
    step = (WIDTH - left - 6) / max(len(labels), 1)
    bar = max(step * 0.7, 2)
    desc = "; ".join(f"{label}: " + ", ".join(f"{s.name} {number(s.values[i])}{unit}" for s in series)
                     for i, label in enumerate(labels))
    head, tail = _open(title, desc, height)
    parts = [head, _legend(series, 14)]
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{number(round(peak * fraction))}</text>')
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar) / 2
        y = top + plot_height
        for item in series:
            h = plot_height * item.values[i] / peak
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{_attr(item.color)}"><title>{escape(label)} · {escape(item.name)}: '
                             f'{number(item.values[i])}{escape(unit)}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_height + 18}" text-anchor="middle">'
                     f'{escape(label)}</text>')
    parts.append(tail)
    return "".join(parts)


def line(title: str, labels: list[str], values: list[float | None], *, unit: str = "%", maximum: float = 100,
         color: str = PALETTE[0]) -> str:
    """One line over the labels (e.g. the online share by month); a missing value breaks the line."""
    top, left, plot_height = 12, 40, 130
    height = top + plot_height + 26
    step = (WIDTH - left - 12) / max(len(labels) - 1, 1)
    known = [f"{label}: {number(v)}{unit}" for label, v in zip(labels, values) if v is not None]
    head, tail = _open(title, "; ".join(known) or "Không có số liệu", height)
    parts = [head]
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{number(maximum * fraction)}{unit}</text>')
    segment: list[str] = []
    points: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = left + i * step
        parts.append(f'<text x="{x:.1f}" y="{top + plot_height + 18}" text-anchor="middle">{escape(label)}</text>')
        if value is None:
            if len(segment) > 1:
                points.append(" ".join(segment))
            segment = []
            continue
        y = top + plot_height * (1 - min(value, maximum) / maximum)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_attr(color)}"><title>{escape(label)}: '
                     f'{number(value)}{escape(unit)}</title></circle>')
    if len(segment) > 1:
        points.append(" ".join(segment))
    parts.extend(f'<polyline points="{p}" fill="none" stroke="{_attr(color)}" stroke-width="2"/>' for p in points)
    parts.append(tail)
    return "".join(parts)


def bars(title: str, items: list[tuple[str, float]], *, unit: str = "", color: str = PALETTE[0]) -> str:
    """Horizontal bars with their label above and value beside: long Vietnamese labels stay readable."""
    row = 30
    height = 8 + row * max(len(items), 1)
    peak = max([value for _, value in items] + [1])
    desc = "; ".join(f"{label}: {number(value)}{unit}" for label, value in items) or "Không có số liệu"
    head, tail = _open(title, desc, height)
    parts = [head]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = (WIDTH - 80) * value / peak
        parts.append(f'<text x="4" y="{y + 10}">{escape(label)}</text>'
                     f'<rect x="4" y="{y + 14}" width="{max(w, 0.5):.1f}" height="10" fill="{_attr(color)}"/>'
                     f'<text x="{w + 10:.1f}" y="{y + 23}">{number(value)}{escape(unit)}</text>')
    parts.append(tail)
    return "".join(parts)
