"""Inline SVG plots of load.html: latency over time, latency by percentile, throughput.

Pure functions from load.json data to SVG markup, drawn offline (no library, no script); the
axes use the run report's tick rule (`reports/html_svg.nice_ticks`). Names come from the
report, so every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.reports.html_svg import nice_ticks

__all__ = ["SERIES_COLOURS", "latency_over_time", "percentile_plot", "throughput_plot"]

SERIES_COLOURS = ("#1565c0", "#00897b", "#8e24aa", "#ef6c00", "#5d4037", "#546e7a")
_FAILED = "#c62828"
_ERROR = "#6a1b9a"
_W, _H = 960, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 14, 40
# The percentile axis: "nines" (-log10(1 - p)), so p99 and p99.9 get room of their own.
_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9))


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _frame(kind: str, label: str, body: list[str]) -> str:
    return (
        f'<svg class="plot {kind}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {_W} {_H}" width="100%" aria-label="{_e(label)}">' + "".join(body) + "</svg>"
    )


def _axes(
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    x_label: str,
    y_label: str,
) -> list[str]:
    """Grid lines and tick labels at plot coordinates (already mapped)."""
    parts = []
    for y, text in y_ticks:
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y}" x2="{_W - _RIGHT}" y2="{y}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">{_e(text)}</text>'
        )
    for x, text in x_ticks:
        parts.append(
            f'<line class="grid" x1="{x}" y1="{_TOP}" x2="{x}" y2="{_H - _BOTTOM}"/>'
            f'<text class="tick" x="{x}" y="{_H - _BOTTOM + 16}" text-anchor="middle">'
            f"{_e(text)}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" '
        f'y2="{_H - _BOTTOM}"/>'
        f'<text class="axis-label" x="{(_LEFT + _W - _RIGHT) / 2}" y="{_H - 6}" '
        f'text-anchor="middle">{_e(x_label)}</text>'
        f'<text class="axis-label" x="14" y="{(_TOP + _H - _BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(_TOP + _H - _BOTTOM) / 2})">{_e(y_label)}</text>'
    )
    return parts


def _ms_ticks(largest: float) -> tuple[list[float], float]:
    ticks = nice_ticks(max(largest, 1.0), target=5)
    return ticks, max(ticks[-1], 1.0)


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def _y(ms: float, top: float) -> float:
    return round(_H - _BOTTOM - (_H - _BOTTOM - _TOP) * ms / top, 2)


def _legend(names: Sequence[str]) -> list[str]:
    return [
        f'<g class="legend"><rect x="{_LEFT + 12 + 150 * i}" y="{_TOP + 2}" width="10" '
        f'height="10" fill="{SERIES_COLOURS[i % len(SERIES_COLOURS)]}"/>'
        f'<text x="{_LEFT + 26 + 150 * i}" y="{_TOP + 11}">{_e(name)}</text></g>'
        for i, name in enumerate(names)
    ]


def latency_over_time(timeline: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """A dot per turn and latency at the time the turn ended; a failed turn's dots are ringed
    in red, a turn in ERROR is a purple tick on the time axis. "" without turns."""
    if not timeline:
        return ""
    span = max(max(float(p["t"]) for p in timeline), 1.0)
    values = [float(v) for p in timeline for n, v in p["latencies_ms"].items() if n in names]
    ticks, top = _ms_ticks(max(values, default=1.0))
    x_ticks = [t for t in nice_ticks(span, target=8) if t <= span * 1.0001]

    def x(t: float) -> float:
        return round(_LEFT + (_W - _LEFT - _RIGHT) * t / span, 2)

    parts = _axes(
        [(x(t), f"{t:g} s") for t in x_ticks],
        [(_y(t, top), _ms(t)) for t in ticks],
        "time since the run began (when each turn ended)",
        "latency",
    )
    for point in timeline:
        px = x(float(point["t"]))
        if point["error"]:
            parts.append(
                f'<line class="error" x1="{px}" y1="{_H - _BOTTOM - 6}" x2="{px}" '
                f'y2="{_H - _BOTTOM + 4}" stroke="{_ERROR}"><title>{_e(point["t"])} s: '
                "ERROR</title></line>"
            )
        for index, name in enumerate(names):
            ms = point["latencies_ms"].get(name)
            if ms is None:
                continue
            ring = f' stroke="{_FAILED}" stroke-width="1.5"' if point["failed"] else ""
            parts.append(
                f'<circle class="dot" cx="{px}" cy="{_y(float(ms), top)}" r="2.6" '
                f'fill="{SERIES_COLOURS[index % len(SERIES_COLOURS)]}"{ring}>'
                f"<title>{_e(name)} {float(ms):.0f} ms at {_e(point['t'])} s"
                f"{' (failed)' if point['failed'] else ''}</title></circle>"
            )
    parts += _legend(names)
    return _frame("over-time", "latency of each turn over the run", parts)


def _nines(p: float) -> float:
    return -math.log10(1 - p / 100)


def percentile_plot(
    figures: Mapping[str, Mapping[str, Any]],
    names: Sequence[str],
    objectives: Mapping[str, Sequence[tuple[str, float]]] | None = None,
) -> str:
    """Each latency's p50 … p99.9 and max on a "nines" axis (HdrHistogram's), and each SLO
    on that latency as a diamond at its percentile. "" when nothing was measured."""
    measured = [n for n in names if figures.get(n, {}).get("count")]
    if not measured:
        return ""
    objectives = objectives or {}
    last = _nines(99.9) + 0.5  # where max is drawn
    tops = [float(figures[n]["max"]) for n in measured]
    tops += [ms for n in measured for _, ms in objectives.get(n, ())]
    ticks, top = _ms_ticks(max(tops))

    def x(nines: float) -> float:
        return round(_LEFT + (_W - _LEFT - _RIGHT) * nines / last, 2)

    x_ticks = [(x(_nines(p)), label) for label, p in _PERCENTILES] + [(x(last), "max")]
    parts = _axes(x_ticks, [(_y(t, top), _ms(t)) for t in ticks], "percentile", "latency")
    for index, name in enumerate(names):
        if name not in measured:
            continue
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        points = [(x(_nines(p)), float(figures[name][label]), label) for label, p in _PERCENTILES]
        points.append((x(last), float(figures[name]["max"]), "max"))
        path = " ".join(f"{px},{_y(ms, top)}" for px, ms, _ in points)
        parts.append(f'<polyline class="curve" points="{path}" fill="none" stroke="{colour}"/>')
        parts += [
            f'<circle class="dot" cx="{px}" cy="{_y(ms, top)}" r="3.5" fill="{colour}">'
            f"<title>{_e(name)} {label}: {ms:.1f} ms</title></circle>"
            for px, ms, label in points
        ]
        for label, ms in objectives.get(name, ()):
            p = dict(_PERCENTILES).get(label)
            if p is None:
                continue
            cx, cy = x(_nines(p)), _y(ms, top)
            parts.append(
                f'<polygon class="objective" points="{cx},{cy - 7} {cx + 7},{cy} {cx},{cy + 7} '
                f'{cx - 7},{cy}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>SLO: {_e(name)} {label} ≤ {ms:g} ms</title></polygon>"
            )
    parts += _legend(measured)
    return _frame("percentiles", "latency by percentile", parts)


def throughput_plot(buckets: Sequence[Mapping[str, Any]]) -> str:
    """A bar per second: the turns that ended in it, failed and ERROR stacked on top."""
    if not buckets:
        return ""
    ticks = nice_ticks(max(max(int(b["turns"]) for b in buckets), 1), target=4)
    top = max(ticks[-1], 1.0)
    width = (_W - _LEFT - _RIGHT) / len(buckets)
    x_ticks = [t for t in nice_ticks(len(buckets), target=8) if t <= len(buckets)]
    parts = _axes(
        [(round(_LEFT + width * t, 2), f"{t:g} s") for t in x_ticks],
        [(_y(t, top), f"{t:g}") for t in ticks],
        "second of the run",
        "turns ended",
    )
    for index, bucket in enumerate(buckets):
        bx = round(_LEFT + width * index + 0.5, 2)
        bw = round(max(width - 1, 0.5), 2)
        ok = int(bucket["turns"]) - int(bucket["failed"]) - int(bucket["errors"])
        base = 0
        for count, colour, what in (
            (ok, SERIES_COLOURS[1], "passed"),
            (int(bucket["failed"]), _FAILED, "failed"),
            (int(bucket["errors"]), _ERROR, "ERROR"),
        ):
            if count <= 0:
                continue
            y_top, y_bottom = _y(base + count, top), _y(base, top)
            parts.append(
                # style, not fill=: the run report's CSS colours `.bar`s, and CSS wins.
                f'<rect class="turns {what}" x="{bx}" y="{y_top}" width="{bw}" '
                f'height="{round(y_bottom - y_top, 2)}" style="fill:{colour}">'
                f"<title>second {bucket['t']}: {count} {what}</title></rect>"
            )
            base += count
    return _frame("throughput", "turns ended each second", parts)
