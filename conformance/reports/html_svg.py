"""Inline SVG for report.html: a case's timeline (one lane per socket) and its latency bars.

Pure functions from report data (plain JSON values) to SVG markup; every text that comes
from the report is escaped, since event names and payloads come from the server under test.
The markup is XML (well-formed, attributes quoted), so it parses as SVG inside HTML and alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["latency_chart", "nice_ticks", "timeline"]

# Timeline geometry (viewBox units; the SVG scales to the page width).
_WIDTH = 960
_GUTTER = 104  # lane labels
_PAD = 16
_LANE = 40
_AXIS = 26
_LABEL_CHARS = 14

# Latency chart geometry.
_BAR_WIDTH = 720
_BAR_GUTTER = 230
_BAR_VALUE = 90
_BAR = 18
_BAR_GAP = 6


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (null, a string, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def nice_ticks(span: float, target: int = 6) -> list[float]:
    """Round tick values from 0 to at least `span` (1-2-5 steps), about `target` of them."""
    if span <= 0 or not math.isfinite(span):
        return [0.0]
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = math.ceil(span / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _ms_label(ms: float, step: float) -> str:
    if step >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms"


def timeline(events: Sequence[Mapping[str, Any]], *, row_ids: Sequence[str]) -> str:
    """An SVG with one lane per socket and a mark per event at its time; "" without events.

    Sent events are filled triangles above the lane line, received ones hollow circles below
    it; each mark's <title> (shown on hover) names the time, socket, direction and event, and
    its `data-row` is the id of the event's row in the transcript table (`row_ids`, in order).
    """
    if not events:
        return ""
    sockets: list[str] = []
    for event in events:
        if str(event.get("socket", "?")) not in sockets:
            sockets.append(str(event.get("socket", "?")))
    times = [(_number(event.get("at")) or 0.0) * 1000 for event in events]
    # The axis ends just past the last event (not at the next round tick), so marks use the width.
    span = max(max(times) * 1.04, 1.0)
    ticks = [tick for tick in nice_ticks(span) if tick <= span]
    plot = _WIDTH - _GUTTER - _PAD
    height = _PAD + _LANE * len(sockets) + _AXIS

    def x(ms: float) -> float:
        return round(_GUTTER + plot * ms / span, 2)

    def lane_y(socket: str) -> int:
        return _PAD + _LANE * sockets.index(socket) + _LANE // 2

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    axis_y = _PAD + _LANE * len(sockets)
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'aria-label="timeline of {len(events)} events on {len(sockets)} sockets">'
    ]
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{x(tick)}" y1="{_PAD // 2}" x2="{x(tick)}" y2="{axis_y}"/>'
            f'<text class="tick" x="{x(tick)}" y="{axis_y + 16}" text-anchor="middle">'
            f"{_e(_ms_label(tick, step))}</text>"
        )
    for socket in sockets:
        y = lane_y(socket)
        parts.append(
            f'<line class="lane" x1="{_GUTTER}" y1="{y}" x2="{_WIDTH - _PAD}" y2="{y}"/>'
            f'<text class="lane-label" x="{_GUTTER - 8}" y="{y + 4}" text-anchor="end">'
            f"<title>{_e(socket)}</title>{_e(_clip(socket, _LABEL_CHARS))}</text>"
        )
    for event, ms, row_id in zip(events, times, row_ids, strict=False):
        socket = str(event.get("socket", "?"))
        sent = event.get("direction") == "sent"
        direction = "sent" if sent else "received"
        cx, y = x(ms), lane_y(socket)
        if sent:
            left, right = round(cx - 5, 2), round(cx + 5, 2)
            shape = f'<polygon points="{left},{y - 13} {right},{y - 13} {cx},{y - 3}"/>'
        else:
            shape = f'<circle cx="{cx}" cy="{y + 8}" r="4.5"/>'
        title = f"{ms:.1f} ms · {socket} {direction} {event.get('event', '')}"
        parts.append(
            f'<g class="mark {direction}" data-row="{_e(row_id)}" tabindex="0">'
            f"<title>{_e(title)}</title>{shape}</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def latency_chart(latencies: Mapping[str, Any]) -> str:
    """A horizontal bar per latency (name, bar, "N ms"), scaled to the largest; "" if none.

    A latency that is null or not a finite number is listed as "n/a" without a bar.
    """
    if not latencies:
        return ""
    values = {str(name): _number(value) for name, value in latencies.items()}
    largest = max((v for v in values.values() if v is not None and v > 0), default=1.0)
    plot = _BAR_WIDTH - _BAR_GUTTER - _BAR_VALUE
    height = _BAR_GAP + (_BAR + _BAR_GAP) * len(values)
    parts = [
        f'<svg class="latencies" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {_BAR_WIDTH} {height}" width="100%" style="max-width:{_BAR_WIDTH}px" '
        f'aria-label="latencies in milliseconds">'
    ]
    for index, (name, value) in enumerate(values.items()):
        y = _BAR_GAP + index * (_BAR + _BAR_GAP)
        text_y = y + _BAR - 5
        parts.append(
            f'<text class="bar-label" x="{_BAR_GUTTER - 8}" y="{text_y}" text-anchor="end">'
            f"<title>{_e(name)}</title>{_e(_clip(name, 32))}</text>"
        )
        if value is None:
            parts.append(f'<text class="bar-value na" x="{_BAR_GUTTER}" y="{text_y}">n/a</text>')
            continue
        width = round(max(plot * max(value, 0.0) / largest, 1.0), 2)
        parts.append(
            f'<rect class="bar" x="{_BAR_GUTTER}" y="{y}" width="{width}" height="{_BAR}" rx="2">'
            f"<title>{_e(name)}: {value:.1f} ms</title></rect>"
            f'<text class="bar-value" x="{round(_BAR_GUTTER + width + 6, 2)}" y="{text_y}">'
            f"{value:,.1f} ms</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
