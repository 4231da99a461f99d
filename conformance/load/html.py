"""load.html: one self-contained, offline page of a load run, written from load.json data.

A thin writer: the verdict, the SLOs, the latency percentiles, three plots (latency over
time, latency by percentile, throughput; inline SVG from `svg.py`), and each clause broken and
each error with its example turns' timelines and wire logs (drawn as `conformance run`'s
report draws a case's). Everything from the report is escaped; the Content-Security-Policy
allows no fetch and only the run report's own script (by hash), as report.html does.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from conformance.load.svg import latency_over_time, percentile_plot, throughput_plot
from conformance.protocols.load import LATENCIES
from conformance.reports.html import transcript
from conformance.reports.html_assets import SCRIPT, STYLE, VERDICT_COLOURS

__all__ = ["LOAD_HTML", "render_load_html", "write_load_html"]

LOAD_HTML = "load.html"
_COLUMNS = ("count", "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max")
_LATENCY_SLO = re.compile(r"^(?P<latency>[a-z][a-z_]*)_(?P<p>p[0-9.]+)_ms$")
_STYLE = """
.verdict { display: inline-block; color: #fff; background: var(--v); border-radius: 6px;
  padding: 4px 14px; font-size: 18px; font-weight: 700; margin: 6px 0 10px; }
.figures { border-collapse: collapse; background: var(--card); }
.figures th, .figures td { padding: 3px 12px; border-bottom: 1px solid var(--line);
  text-align: right; font-variant-numeric: tabular-nums; }
.figures th:first-child, .figures td:first-child { text-align: left; }
.plot-card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px; margin-bottom: 14px; }
svg.plot .axis { stroke: #9aa0a6; }
svg.plot .axis-label { fill: var(--fg); }
svg.plot .curve { stroke-width: 2; }
svg.plot .legend text { fill: var(--fg); }
"""


def write_load_html(report: Mapping[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOAD_HTML
    path.write_text(render_load_html(report), encoding="utf-8")
    return path


def render_load_html(report: Mapping[str, Any]) -> str:
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'"
    )
    summary = report["summary"]
    title = f"{report['protocol']} load: {summary['turns']} turns, {summary['turns_failed']} failed"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',
            f"<title>{_e(title)}</title>\n<style>{STYLE}{_STYLE}</style>\n</head>\n<body>\n",
            _header(report),
            "<main>\n",
            _slo(report["slo"]),
            _latencies(report["latencies_ms"]),
            _plots(report),
            _violations(report["violations"], summary["turns"]),
            _errors(report["errors"]),
            "</main>\n",
            f"<footer>conformance {_e(report['tool']['version'])} · load.json format "
            f"{_e(report['format'])} v{_e(report['version'])}</footer>\n",
            f"<script>{SCRIPT}</script>\n</body>\n</html>\n",
        ]
    )


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _v(verdict: str) -> str:
    return f"v-{verdict}" if verdict in VERDICT_COLOURS else "v-ERROR"


def _header(report: Mapping[str, Any]) -> str:
    target, options, summary = report["target"], report["options"], report["summary"]
    generator = report["generator"]
    failed = report["exit_code"] != 0
    verdict = "INTERRUPTED" if report["interrupted"] else ("FAILED" if failed else "PASS")
    embedded = " (embedded reference server)" if target.get("embedded") else ""
    length = (
        f"{options['turns']} turns per session"
        if options.get("turns")
        else f"{options.get('duration_s')} s"
    )
    cpu = generator.get("cpu_ms_per_turn")
    meta = [
        ("target", f"<code>{_e(target.get('url'))}</code>{embedded}"),
        ("profile", f"<code>{_e(target.get('profile'))}</code>"),
        ("started", _e(report["started_at"])),
        ("load", _e(f"{options['sessions']} sessions at {options['spawn_rate']:g}/s, {length}")),
        ("duration", _e(f"{report['duration_s']:.1f} s")),
        ("turns", _e(f"{summary['turns']} ({summary['turns_per_s']:g}/s)")),
        ("failed (MUST)", _e(summary["turns_failed"])),
        ("in ERROR", _e(f"{summary['turns_errored']} (error rate {summary['error_rate']:g})")),
        (
            "generator CPU",
            _e(
                f"{generator['cpu_s']:.2f} s ({100 * generator['cpu_share']:.0f}% of one core)"
                + (f", {cpu:.1f} ms per turn" if cpu is not None else "")
                + f"; its loop woke late by {generator['loop_lag_ms'].get('p99', 0)} ms at p99"
            ),
        ),
        ("exit code", _e(report["exit_code"])),
    ]
    colour = "FAILED" if verdict == "FAILED" else ("ERROR" if verdict == "INTERRUPTED" else "PASS")
    return (
        f"<header>\n<h1>{_e(report['protocol'])} load report</h1>\n"
        f'<div class="verdict {_v(colour)}">{_e(verdict)}</div>\n<dl class="meta">'
        + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in meta)
        + "</dl>\n"
        f'<pre class="command"><code>{_e(report["command"])}</code></pre>\n</header>\n'
    )


def _slo(verdicts: Sequence[Mapping[str, Any]]) -> str:
    if not verdicts:
        return (
            '<h2>Service-level objectives</h2><p class="none">the profile sets no `slo`: the '
            "figures are reported, not judged</p>\n"
        )
    rows = "".join(
        f"<tr><td><code>{_e(v['name'])}</code></td><td>{_e(v['objective'])}</td>"
        f"<td>{_e(v['measured'] if v['measured'] is not None else 'n/a')}</td>"
        f'<td><span class="badge {_v(v["verdict"])}">{_e(v["verdict"])}</span></td>'
        f"<td>{_e(v['message'])}</td></tr>"
        for v in verdicts
    )
    return (
        '<h2>Service-level objectives</h2>\n<table class="figures slo"><thead><tr><th>SLO</th>'
        "<th>objective</th><th>measured</th><th>verdict</th><th>how</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n"
    )


def _latencies(figures: Mapping[str, Mapping[str, Any]]) -> str:
    if not figures:
        return '<h2>Latencies</h2><p class="none">no latency was measured</p>\n'
    head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    rows = "".join(
        f"<tr><td>{_e(name)}</td>"
        + "".join(f"<td>{_e(values.get(c, ''))}</td>" for c in _COLUMNS)
        + "</tr>"
        for name, values in figures.items()
    )
    return (
        "<h2>Latencies (ms)</h2>\n"
        f'<table class="figures latencies"><thead><tr><th>latency</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>\n"
    )


def _plots(report: Mapping[str, Any]) -> str:
    figures = report["latencies_ms"]
    names = [n for n in LATENCIES if n in figures] + [n for n in figures if n not in LATENCIES]
    objectives: dict[str, list[tuple[str, float]]] = {}
    for verdict in report["slo"]:
        found = _LATENCY_SLO.match(verdict["name"])
        if found is not None:
            objectives.setdefault(found["latency"], []).append(
                (found["p"], float(verdict["objective"]))
            )
    plots = [
        ("Latency over time", latency_over_time(report["timeline"], names)),
        ("Latency by percentile", percentile_plot(figures, names, objectives)),
        ("Throughput", throughput_plot(report["throughput"])),
    ]
    return "".join(
        f'<h2>{title}</h2>\n<div class="plot-card">{svg}</div>\n'
        if svg
        else f'<h2>{title}</h2><p class="none">no turn to plot</p>\n'
        for title, svg in plots
    )


def _examples(kind: str, index: int, examples: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for number, example in enumerate(examples):
        anchor = f"{kind}{index}-x{number}"
        parts.append(
            f"<h4>example: {_e(example['session'])}, turn {_e(example['turn'])} "
            f"(at {_e(example['at_s'])} s)</h4>"
            f'<p class="message">{_e(example["message"])}</p>'
        )
        if "expected" in example:
            parts.append(
                f'<div class="eo"><div><h4>expected</h4><pre>{_e(example["expected"])}</pre>'
                f'</div><div class="observed"><h4>observed</h4>'
                f"<pre>{_e(example.get('observed', ''))}</pre></div></div>"
            )
        parts.append(transcript(example["transcript"], anchor))
    return "".join(parts)


def _violations(clauses: Sequence[Mapping[str, Any]], turns: int) -> str:
    if not clauses:
        return '<h2>Clauses broken</h2><p class="none">no turn broke a clause</p>\n'
    parts = [f"<h2>Clauses broken ({len(clauses)})</h2>\n"]
    for index, clause in enumerate(clauses):
        verdict = str(clause["verdict"])
        parts.append(
            f'<details class="case {_v(verdict)}" data-verdict="{_e(verdict)}"'
            f"{' open' if verdict == 'FAILED' else ''}>"
            f'<summary><span class="badge">{_e(verdict)}</span>'
            f'<span class="id">{_e(clause["id"])}</span>'
            f'<span class="title">{_e(clause["turns"])} of {_e(turns)} turns</span>'
            f'<span class="level">{_e(clause["level"])}</span></summary><div class="body">'
            f'<blockquote class="clause">{_e(clause["clause"])}</blockquote>'
            + _examples("c", index, clause["examples"])
            + "</div></details>\n"
        )
    return "".join(parts)


def _errors(errors: Sequence[Mapping[str, Any]]) -> str:
    if not errors:
        return ""
    parts = [f"<h2>Errors ({len(errors)})</h2>\n"]
    for index, error in enumerate(errors):
        parts.append(
            '<details class="case v-ERROR" data-verdict="ERROR"><summary>'
            '<span class="badge">ERROR</span>'
            f'<span class="title">{_e(error["message"])}</span>'
            f'<span class="dur">{_e(error["turns"])} turns</span></summary><div class="body">'
            + _examples("e", index, error["examples"])
            + "</div></details>\n"
        )
    return "".join(parts)
