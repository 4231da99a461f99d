"""report.json: the machine-readable record of one run, format "conformance-report" version 1.

A thin writer: it reads `CaseResult`s (never runs a case) and turns them into plain JSON data.
The shape is described, field by field, by `report.schema.json` beside this module (found
through `importlib.resources`, never the current directory); `validate_report` checks a report
against it and adds the checks a schema cannot state (the summary counts the cases; ids are
unique).

Values are made JSON-safe on the way: enums become their string values, tuples become lists,
bytes become the transcript's `<N bytes sha256:...>` summary, and a float that is not finite
(NaN, infinity: not JSON) becomes null. Mapping keys become strings.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from conformance import __version__
from conformance.engine.model import CaseResult, Verdict
from conformance.engine.transcript import summarize

__all__ = [
    "REPORT_FILENAME",
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "build_report",
    "case_record",
    "load_report_schema",
    "validate_report",
    "write_json",
]

REPORT_FORMAT = "conformance-report"
REPORT_VERSION = 1
REPORT_FILENAME = "report.json"
_SCHEMA_FILENAME = "report.schema.json"


def build_report(
    results: Sequence[CaseResult],
    *,
    protocol: str,
    target: Mapping[str, Any],
    command: str,
    started_at: datetime,
    duration_s: float,
    strict: bool,
    exit_code: int,
) -> dict[str, Any]:
    """The report of one run, as JSON-ready data; the summary counts every verdict, 0 included.

    `started_at` must be timezone-aware (a naive time has no UTC reading); it is written in
    UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    """
    if started_at.tzinfo is None or started_at.utcoffset() is None:
        raise ValueError("started_at must be timezone-aware (e.g. datetime.now(UTC))")
    started = started_at.astimezone(UTC).isoformat(timespec="milliseconds")
    summary: dict[str, int] = {"total": len(results)}
    summary.update(_count(result.verdict for result in results))
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "tool": {"name": "conformance", "version": __version__},
        "protocol": protocol,
        "target": _jsonable(dict(target)),
        "command": command,
        "started_at": started.replace("+00:00", "Z"),
        "duration_s": round(duration_s, 3),
        "strict": strict,
        "summary": summary,
        "exit_code": exit_code,
        "cases": [case_record(result) for result in results],
    }


def case_record(result: CaseResult) -> dict[str, Any]:
    """One `CaseResult` as report data: every field of the dataclass, in declaration order."""
    record = {field.name: getattr(result, field.name) for field in dataclasses.fields(result)}
    record["duration_s"] = round(result.duration_s, 3)
    return {key: _jsonable(value) for key, value in record.items()}


def write_json(report: Mapping[str, Any], directory: Path, filename: str = REPORT_FILENAME) -> Path:
    """Write `filename` (UTF-8, indent 2; `report.json` unless named) into `directory`, creating
    it; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    # allow_nan=False: NaN and Infinity are not JSON; build_report has already replaced them.
    text = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def load_report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of report.json (a copy: changing it changes nothing else)."""
    return copy.deepcopy(_schema())


def validate_report(report: Any) -> list[str]:
    """Every way `report` breaks the report format, as `<JSON pointer>: <message>`; [] if none.

    The schema's errors come first; when the schema is met, the summary is also checked
    against the cases' verdicts and the case ids for duplicates.
    """
    found = sorted(
        (_pointer(error.absolute_path), error.message) for error in _validator().iter_errors(report)
    )
    if not found:
        found = _consistency(report)
    return [f"{pointer or '/'}: {message}" for pointer, message in found]


# -- internals ---------------------------------------------------------------------------------


def _count(verdicts: Iterable[Verdict | str]) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in Verdict}
    for verdict in verdicts:
        counts[Verdict(verdict).value] += 1
    return counts


def _consistency(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say: the summary agrees with the cases, and ids are unique."""
    cases: list[Mapping[str, Any]] = report["cases"]
    summary: Mapping[str, int] = report["summary"]
    found: list[tuple[str, str]] = []
    if summary["total"] != len(cases):
        found.append(("/summary/total", f"{summary['total']} but there are {len(cases)} cases"))
    for verdict, count in _count(case["verdict"] for case in cases).items():
        if summary[verdict] != count:
            found.append(
                (f"/summary/{verdict}", f"{summary[verdict]} but {count} cases have {verdict}")
            )
    seen: set[str] = set()
    for index, case in enumerate(cases):
        if case["id"] in seen:
            found.append((f"/cases/{index}/id", f"duplicate case id {case['id']!r}"))
        seen.add(case["id"])
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        return summarize(bytes(value))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(_jsonable(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)  # anything else (a Path, a datetime): its readable form


@cache
def _schema() -> dict[str, Any]:
    resource = importlib.resources.files("conformance.reports").joinpath(_SCHEMA_FILENAME)
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema(), format_checker=FormatChecker())


def _pointer(path: Iterable[str | int]) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)
