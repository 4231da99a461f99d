"""load.json: the record of one load run, format "conformance-load-report" version 1.

A thin writer over `Stats` (it never plays a turn). The shape is described by
`load.schema.json` beside this module; `validate_load_report` checks a report against it and
adds what a schema cannot state (the counts agree with each other).
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from conformance import __version__
from conformance.load.slo import SloVerdict
from conformance.load.stats import Stats
from conformance.reports.json import write_json

__all__ = [
    "LOAD_FORMAT",
    "LOAD_REPORT",
    "LOAD_VERSION",
    "build_load_report",
    "load_schema",
    "validate_load_report",
    "write_load_json",
]

LOAD_FORMAT = "conformance-load-report"
LOAD_VERSION = 1
LOAD_REPORT = "load.json"
_TIMELINE_POINTS = 2000  # turns drawn in the latency-over-time plot, evenly sampled


def _timeline(stats: Stats) -> list[dict[str, Any]]:
    points = stats.timeline
    step = max(1, math.ceil(len(points) / _TIMELINE_POINTS))
    return [
        {
            "t": round(at, 3),
            "latencies_ms": {name: round(ms, 1) for name, ms in latencies.items()},
            "failed": failed,
            "error": errored,
        }
        for at, latencies, failed, errored in points[::step]
    ]


def _throughput(stats: Stats) -> list[dict[str, Any]]:
    """Turns ended in each second of the run."""
    seconds = max(1, math.ceil(stats.last_at)) if stats.timeline else 0
    buckets = [{"t": s, "turns": 0, "failed": 0, "errors": 0} for s in range(seconds)]
    for at, _, failed, errored in stats.timeline:
        bucket = buckets[min(int(at), seconds - 1)]
        bucket["turns"] += 1
        bucket["failed"] += int(failed)
        bucket["errors"] += int(errored)
    return buckets


def build_load_report(
    stats: Stats,
    *,
    protocol: str,
    target: Mapping[str, Any],
    command: str,
    options: Mapping[str, Any],
    started_at: datetime,
    duration_s: float,
    slo: Sequence[SloVerdict],
    generator: Mapping[str, Any],
    interrupted: bool,
    exit_code: int,
) -> dict[str, Any]:
    """The report of one load run, as JSON-ready data."""
    started = started_at.astimezone(UTC).isoformat(timespec="milliseconds")
    return {
        "format": LOAD_FORMAT,
        "version": LOAD_VERSION,
        "tool": {"name": "conformance", "version": __version__},
        "protocol": protocol,
        "target": dict(target),
        "command": command,
        "options": dict(options),
        "started_at": started.replace("+00:00", "Z"),
        "duration_s": round(duration_s, 3),
        "interrupted": interrupted,
        "summary": {
            "sessions_opened": stats.sessions_opened,
            "turns": stats.turns,
            "turns_failed": stats.failed,
            "turns_errored": stats.errored,
            "cases_judged": stats.judged,
            "cases_blocked": stats.blocked,
            "violations": dict(stats.failures_by_level()),
            "turns_per_s": round(stats.turns / duration_s, 3) if duration_s > 0 else 0.0,
            "error_rate": round(stats.errored / stats.turns, 4) if stats.turns else 0.0,
        },
        "latencies_ms": stats.latency_figures(),
        "throughput": _throughput(stats),
        "timeline": _timeline(stats),
        "violations": stats.violations(),
        "errors": [
            {"message": e.message, "turns": e.count, "examples": e.examples}
            for e in sorted(stats.errors.values(), key=lambda e: -e.count)
        ],
        "slo": [verdict.record() for verdict in slo],
        "generator": dict(generator),
        "exit_code": exit_code,
    }


def write_load_json(report: Mapping[str, Any], directory: Path) -> Path:
    """Write `load.json` into `directory` (the run report's writer), creating it."""
    return write_json(report, directory, LOAD_REPORT)


def load_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of load.json (a copy)."""
    return copy.deepcopy(_schema())


def validate_load_report(report: Any) -> list[str]:
    """Every way `report` breaks the format, as `<JSON pointer>: <message>`; [] if none."""
    found = sorted(
        ("/" + "/".join(str(p) for p in error.absolute_path), error.message)
        for error in _validator().iter_errors(report)
    )
    if not found:
        summary = report["summary"]
        if sum(b["turns"] for b in report["throughput"]) != summary["turns"]:
            found.append(("/throughput", "the seconds' turns do not add up to summary.turns"))
        if sum(e["turns"] for e in report["errors"]) != summary["turns_errored"]:
            found.append(("/errors", "the errors' turns do not add up to summary.turns_errored"))
        if summary["turns_failed"] > summary["turns"]:
            found.append(("/summary/turns_failed", "more failed turns than turns"))
    return [f"{pointer}: {message}" for pointer, message in found]


@cache
def _schema() -> dict[str, Any]:
    resource = importlib.resources.files("conformance.load").joinpath("load.schema.json")
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema(), format_checker=FormatChecker())
