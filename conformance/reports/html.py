"""report.html: one self-contained, offline page of a run, written from report.json data.

A thin writer: it reads a report (the mapping `json.build_report` makes, or a loaded
report.json) and never runs a case. The page has a header (target, command, verdict counts),
a matrix of cases by area, and every case as a <details> with its clause, expected vs observed,
rerun command, latencies, timeline (SVG, `html_svg.py`) and transcript, and its audio embedded
as data: URIs. Everything from the report is escaped: payloads, event names and messages come
from the server under test. A Content-Security-Policy allows no fetch at all and only the
page's own script (by hash), so even a slip in escaping could not run a server's script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from conformance.reports.html_assets import SCRIPT, STYLE, VERDICT_COLOURS
from conformance.reports.html_svg import latency_chart, timeline

__all__ = ["AUDIO_MIME_TYPES", "REPORT_HTML_FILENAME", "render_html", "transcript", "write_html"]

REPORT_HTML_FILENAME = "report.html"
AUDIO_MIME_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "webm": "audio/webm",
    "flac": "audio/flac",
}
# Verdicts whose case opens by default: what the server's author has to act on.
_OPEN = frozenset({"FAILED", "ERROR", "NON-STRICT"})
_PAYLOAD_CHARS = 140
_TITLE_CHARS = 2000


def write_html(report: Mapping[str, Any], directory: Path) -> Path:
    """Write `report.html` into `directory` (created), embedding the audio found there."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_HTML_FILENAME
    path.write_text(render_html(report, directory), encoding="utf-8")
    return path


def render_html(report: Mapping[str, Any], directory: Path) -> str:
    """The page of `report`; audio paths are read relative to `directory`."""
    cases: Sequence[Mapping[str, Any]] = report.get("cases", [])
    anchors = [_anchor(index, case) for index, case in enumerate(cases)]
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; media-src data:; img-src data:; "
        f"script-src 'sha256-{script_hash}'"
    )
    summary: Mapping[str, Any] = report.get("summary", {})
    failing = sum(int(summary.get(v, 0)) for v in ("FAILED", "ERROR"))
    title = f"{report.get('protocol', '?')} conformance: {summary.get('total', len(cases))} cases"
    if failing:
        title += f", {failing} failed or errored"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',  # ours, no quotes
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            _header(report),
            "<main>\n<h2>By area</h2>\n",
            _matrix(cases, anchors),
            f"<h2>Cases ({len(cases)})</h2>\n",
            '<div class="toolbar"><button type="button" data-open="1">expand all</button>'
            '<button type="button" data-open="0">collapse all</button></div>\n',
            *(_case(case, anchor, directory) for case, anchor in zip(cases, anchors, strict=True)),
            _audio_section(cases, directory),
            "</main>\n",
            _footer(report),
            f"<script>{SCRIPT}</script>\n</body>\n</html>\n",
        ]
    )


# -- page parts --------------------------------------------------------------------------------


def _header(report: Mapping[str, Any]) -> str:
    target: Mapping[str, Any] = report.get("target", {})
    summary: Mapping[str, Any] = report.get("summary", {})
    embedded = " (embedded reference server)" if target.get("embedded") else ""
    meta = [
        ("target", f"<code>{_e(target.get('url', '?'))}</code>{embedded}"),
        ("profile", f"<code>{_e(target.get('profile', '?'))}</code>"),
        ("started", _e(report.get("started_at", "?"))),
        ("duration", _e(_seconds(report.get("duration_s")))),
        ("strict", "yes" if report.get("strict") else "no"),
        ("exit code", _e(report.get("exit_code", "?"))),
    ]
    chips = [
        f'<button type="button" class="chip {_vclass(verdict)}{"" if count else " zero"}"'
        f' data-verdict="{verdict}"><b>{_e(count)}</b>{verdict}</button>'
        for verdict, count in ((v, summary.get(v, 0)) for v in VERDICT_COLOURS)
    ]
    total = _e(summary.get("total", "?"))
    return (
        f"<header>\n<h1>{_e(report.get('protocol', '?'))} conformance report</h1>\n"
        '<dl class="meta">'
        + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in meta)
        + "</dl>\n"
        f'<pre class="command"><code>{_e(report.get("command", ""))}</code></pre>\n'
        f'<div class="summary" title="click a verdict to show only its cases">'
        f'<button type="button" class="chip all" data-verdict=""><b>{total}</b>'
        f"cases</button>{''.join(chips)}</div>\n</header>\n"
    )


def _matrix(cases: Sequence[Mapping[str, Any]], anchors: Sequence[str]) -> str:
    if not cases:
        return '<p class="none">no cases were run</p>\n'
    areas: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for case, anchor in zip(cases, anchors, strict=True):
        areas.setdefault(str(case.get("area", "")) or "(none)", []).append((case, anchor))
    rows = []
    for area, members in areas.items():
        passed = sum(1 for case, _ in members if case.get("verdict") == "PASS")
        cells = "".join(
            f'<a class="cell {_vclass(case.get("verdict"))}" href="#{anchor}" '
            f'title="{_e(case.get("id", "?"))}: {_e(case.get("verdict", "?"))}"></a>'
            for case, anchor in members
        )
        rows.append(
            f'<tr><th>{_e(area)}</th><td><div class="cells">{cells}</div></td>'
            f'<td class="count">{passed}/{len(members)} pass</td></tr>'
        )
    legend = "".join(
        f'<span class="{_vclass(verdict)}"><i></i>{verdict}</span>' for verdict in VERDICT_COLOURS
    )
    return (
        f'<table class="matrix">{"".join(rows)}</table>\n'
        f'<div class="legend">{legend}<span>· hover a cell for its id, click to open it</span>'
        "</div>\n"
    )


def _case(case: Mapping[str, Any], anchor: str, directory: Path) -> str:
    verdict = str(case.get("verdict", "?"))
    is_open = " open" if verdict in _OPEN else ""
    baseline = case.get("baseline") or ""
    flag = f'<span class="flag">baseline: {_e(baseline)}</span>' if baseline else ""
    summary = (
        f'<summary><span class="badge {_vclass(verdict)}">{_e(verdict)}</span>'
        f'<code class="id">{_e(case.get("id", "?"))}</code>'
        f'<span class="title">{_e(case.get("title", ""))}</span>'
        f'<span class="level">{_e(case.get("level", "?"))}</span>{flag}'
        f'<span class="dur">{_e(_seconds(case.get("duration_s")))}</span></summary>'
    )
    parts = [
        f'<blockquote class="clause"><span class="level">{_e(case.get("level", "?"))}</span> '
        f"{_e(case.get('clause', ''))}<cite>source: {_e(case.get('source', '') or '?')}</cite>"
        "</blockquote>",
    ]
    if case.get("message"):
        parts.append(f'<p class="message">{_e(case["message"])}</p>')
    if case.get("expected") or case.get("observed"):
        parts.append(
            '<div class="eo">'
            + "".join(
                f'<div class="{side}"><h4>{side}</h4><pre>{_e(case.get(side, ""))}</pre></div>'
                for side in ("expected", "observed")
            )
            + "</div>"
        )
    if case.get("rerun"):
        parts.append(
            '<h4>rerun</h4><div class="rerun">'
            f"<pre><code>{_e(case['rerun'])}</code></pre>"
            '<button type="button" class="copy">copy</button></div>'
        )
    notes: Sequence[Any] = case.get("notes") or []
    if notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in notes)
        parts.append(f'<h4>notes</h4><ul class="notes">{items}</ul>')
    if baseline:
        parts.append(
            f"<h4>baseline</h4><p>the profile's baseline lists this case: {_e(baseline)}</p>"
        )
    chart = latency_chart(case.get("latencies_ms") or {})
    if chart:
        parts.append(f"<h4>latencies</h4>{chart}")
    parts.append(transcript(case.get("transcript") or [], anchor))
    audio: Sequence[Mapping[str, Any]] = case.get("audio") or []
    if audio:
        # Scenarios are shared by many cases: each file is embedded once, in "Audio".
        links = "".join(
            f'<li><a href="#{_audio_anchor(entry)}">{_e(entry.get("label", "") or "audio")}</a> '
            f"({_e(entry.get('ms', '?'))} ms)</li>"
            for entry in audio
        )
        parts.append(f'<h4>audio</h4><ul class="audio-links">{links}</ul>')
    return (
        f'<details class="case {_vclass(verdict)}" id="{anchor}" data-verdict="{_e(verdict)}"'
        f'{is_open}>{summary}<div class="body">{"".join(parts)}</div></details>\n'
    )


def transcript(events: Sequence[Mapping[str, Any]], anchor: str) -> str:
    if not events:
        return '<h4>timeline</h4><p class="none">no events recorded</p>'
    row_ids = [f"{anchor}-ev{index}" for index in range(len(events))]
    rows = []
    for event, row_id in zip(events, row_ids, strict=True):
        direction = "sent" if event.get("direction") == "sent" else "received"
        arrow = "→ sent" if direction == "sent" else "← received"
        payload = json.dumps(event.get("payload"), ensure_ascii=False, default=str)
        short = payload if len(payload) <= _PAYLOAD_CHARS else payload[: _PAYLOAD_CHARS - 1] + "…"
        long = payload if len(payload) <= _TITLE_CHARS else payload[: _TITLE_CHARS - 1] + "…"
        rows.append(
            f'<tr id="{row_id}" class="{direction}"><td class="t">{_e(_ms(event.get("at")))}</td>'
            f'<td>{_e(event.get("socket", "?"))}</td><td class="d">{arrow}</td>'
            f"<td><code>{_e(event.get('event', '?'))}</code></td>"
            f'<td class="p" title="{_e(long)}">{_e(short)}</td></tr>'
        )
    return (
        f"<h4>timeline</h4>{timeline(events, row_ids=row_ids)}"
        '<p class="key"><span class="s">▼ sent</span> above each socket\'s lane, '
        '<span class="r">○ received</span> below it; hover a mark for its event, '
        "click it to find its row</p>"
        f"<h4>transcript ({len(events)} events)</h4>"
        '<div class="scroll"><table class="transcript"><thead><tr><th>ms</th><th>socket</th>'
        f"<th>direction</th><th>event</th><th>payload</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></div>"
    )


def _audio_anchor(entry: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(str(entry.get("path", "")).encode()).hexdigest()[:12]
    return f"audio-{digest}"


def _audio_section(cases: Sequence[Mapping[str, Any]], directory: Path) -> str:
    """Every distinct audio file of the report, playable, once."""
    entries: dict[str, Mapping[str, Any]] = {}
    for case in cases:
        for entry in case.get("audio") or []:
            entries.setdefault(_audio_anchor(entry), entry)
    if not entries:
        return ""
    figures = "".join(
        f'<div id="{anchor}">{_audio(entry, directory)}</div>' for anchor, entry in entries.items()
    )
    return f'<h2>Audio ({len(entries)})</h2>\n<div class="audio">{figures}</div>\n'


def _audio(entry: Mapping[str, Any], directory: Path) -> str:
    label = _e(entry.get("label", "") or "audio")
    fmt = str(entry.get("format", "")).lower()
    caption = f"{label} · {_e(fmt or '?')} · {_e(entry.get('ms', '?'))} ms"
    path = entry.get("path")
    try:
        if not isinstance(path, str) or not path:
            raise FileNotFoundError(path)
        data = (directory / path).read_bytes()
    except OSError:
        return (
            f"<figure><figcaption>{caption}</figcaption>"
            f'<span class="missing">missing</span> <code>{_e(path)}</code></figure>'
        )
    mime = AUDIO_MIME_TYPES.get(fmt, "application/octet-stream")
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return (
        f"<figure><figcaption>{caption} · <code>{_e(path)}</code></figcaption>"
        f'<audio controls preload="metadata" src="{uri}"></audio></figure>'
    )


def _footer(report: Mapping[str, Any]) -> str:
    tool: Mapping[str, Any] = report.get("tool", {})
    return (
        f"<footer>written by {_e(tool.get('name', 'conformance'))} {_e(tool.get('version', ''))}"
        f" · report format {_e(report.get('format', '?'))} v{_e(report.get('version', '?'))}"
        " · one self-contained file: no network needed</footer>\n"
    )


# -- small helpers -----------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _vclass(verdict: object) -> str:
    """The CSS class of a verdict; anything unknown (a tampered report) gets a neutral one."""
    return f"v-{verdict}" if verdict in VERDICT_COLOURS else "v-unknown"


def _anchor(index: int, case: Mapping[str, Any]) -> str:
    """A unique, URL-safe element id for a case (ids like `X-1[a-b]` are not fragment-safe)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(case.get("id", ""))).strip("-")
    return f"case-{index}-{slug}" if slug else f"case-{index}"


def _seconds(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "?"


def _ms(value: Any) -> str:
    return f"{value * 1000:.1f}" if isinstance(value, int | float) else "?"
