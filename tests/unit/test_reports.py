"""The reporters: report.json (built, written, validated against its schema) and report.html."""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import conformance
from conformance.engine.model import CaseResult, Level, Verdict
from conformance.engine.transcript import Direction
from conformance.reports import (
    build_report,
    load_report_schema,
    render_html,
    validate_report,
    write_html,
    write_json,
)
from conformance.reports.html_assets import SCRIPT
from conformance.reports.html_svg import nice_ticks
from conformance.resources import fixtures_dir

EVIL = "<script>alert('pwned')</script>"
STARTED = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
TARGET = {"url": "http://127.0.0.1:5555", "embedded": True, "profile": "built-in:metahuman"}
CLIP = fixtures_dir("audio") / "hello_weather.mp3"


def _event(at: float, socket: str, direction: str, event: str, payload: Any) -> dict[str, Any]:
    return {"at": at, "socket": socket, "direction": direction, "event": event, "payload": payload}


def _result(verdict: Verdict, number: int, **fields: Any) -> CaseResult:
    level = {Verdict.NON_STRICT: Level.SHOULD, Verdict.INFORMATIONAL: Level.MAY}.get(
        verdict, Level.MUST
    )
    base: dict[str, Any] = {
        "id": f"MH-TEST-{number:03d}[variant-{number}]",
        "title": f"case {number}",
        "clause": "The server MUST answer.",
        "level": level,
        "area": "deltas" if number % 2 else "handshake",
        "source": "PROTOCOLS.md §1 [default]",
        "verdict": verdict,
        "duration_s": 0.25,
        "rerun": f"conformance run --case 'MH-TEST-{number:03d}[variant-{number}]'",
    }
    return CaseResult(**(base | fields))


def _results() -> list[CaseResult]:
    """One case per verdict (two PASS); the first has a two-socket transcript, latencies, audio."""
    transcript = [
        _event(0.0, "sender", "sent", "session.update", {"TTS": {"responseType": "chain"}}),
        _event(0.012, "sender", "received", "session.updated", {"sessionId": "abc"}),
        _event(0.020, "sender", "sent", "input.buffer.append", "<22464 chars sha256:f7fc6356>"),
        _event(0.031, "sender", "sent", "input.buffer.commit", None),
        _event(0.410, "receiver", "received", "response.text", {"text": "Hello there."}),
        _event(0.655, "receiver", "received", "response.audio.delta", {"id": 0, "done": True}),
    ]
    return [
        _result(
            Verdict.PASS,
            1,
            transcript=transcript,
            latencies_ms={"update→updated": 12.0, "commit→first audio": 624.0},
            audio=[{"label": "response 1", "format": "mp3", "path": "audio/hello.mp3", "ms": 2709}],
            notes=["deltas arrived in id order"],
        ),
        _result(
            Verdict.FAILED,
            2,
            message=f"delta ids start at 1 {EVIL}",
            expected="ids 0..2",
            observed="ids 1..3",
            baseline="expected-failure",
            transcript=[
                _event(0.0, "sender", "sent", EVIL, {"text": EVIL}),
                _event(0.5, "receiver", "received", "custom.error", {"message": EVIL}),
            ],
        ),
        _result(Verdict.NON_STRICT, 3, message="no streamPartDone"),
        _result(Verdict.INFORMATIONAL, 4, notes=["the server sent no sentiment"]),
        _result(Verdict.UNSUPPORTED, 5, message="the profile has no stream mode"),
        _result(Verdict.ERROR, 6, message="connection refused"),
        _result(Verdict.PASS, 7),
    ]


def _report(results: list[CaseResult] | None = None, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "protocol": "metahuman",
        "target": TARGET,
        "command": "conformance run --embedded",
        "started_at": STARTED,
        "duration_s": 3.21,
        "strict": False,
        "exit_code": 1,
    }
    return build_report(_results() if results is None else results, **(arguments | overrides))


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    """A report folder holding the fixture clip at audio/hello.mp3."""
    (tmp_path / "audio").mkdir()
    shutil.copyfile(CLIP, tmp_path / "audio" / "hello.mp3")
    return tmp_path


# -- report.json -------------------------------------------------------------------------------


def test_summary_counts_every_verdict() -> None:
    """The summary counts the cases of each verdict and the total."""
    summary = _report()["summary"]
    assert summary == {
        "total": 7,
        "PASS": 2,
        "NON-STRICT": 1,
        "FAILED": 1,
        "INFORMATIONAL": 1,
        "UNSUPPORTED": 1,
        "BLOCKED": 0,
        "ERROR": 1,
    }


def test_summary_lists_absent_verdicts_as_zero() -> None:
    """Every verdict is in the summary, with 0 when no case got it (and for an empty run)."""
    assert _report([_result(Verdict.PASS, 1)])["summary"] == {
        "total": 1,
        "PASS": 1,
        "NON-STRICT": 0,
        "FAILED": 0,
        "INFORMATIONAL": 0,
        "UNSUPPORTED": 0,
        "BLOCKED": 0,
        "ERROR": 0,
    }
    assert set(_report([])["summary"].values()) == {0}


def test_header_fields_and_enum_values() -> None:
    """The report names its format, tool version and UTC start, and writes enums as strings."""
    report = _report(started_at=STARTED.astimezone(timezone(timedelta(hours=2))))
    assert report["format"] == "conformance-report"
    assert report["version"] == 1
    assert report["tool"] == {"name": "conformance", "version": conformance.__version__}
    assert report["started_at"] == "2025-01-31T12:00:00.000Z"
    assert report["target"] == TARGET
    case = report["cases"][2]
    assert (case["verdict"], case["level"]) == ("NON-STRICT", "SHOULD")
    assert type(case["verdict"]) is str
    assert list(case) == [field.name for field in dataclasses.fields(CaseResult)]


def test_naive_start_time_is_refused() -> None:
    """A start time without a timezone is refused rather than guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        _report(started_at=datetime(2025, 1, 31, 12, 0, 0))


def test_bytes_enums_and_non_finite_numbers_become_json() -> None:
    """Bytes become their summary, a Direction its value, NaN and infinity null."""
    result = _result(
        Verdict.PASS,
        1,
        transcript=[_event(0.0, "sender", Direction.SENT, "input.buffer.append", b"\x00" * 5)],
        latencies_ms={"commit→first audio": float("inf")},
    )
    case = _report([result])["cases"][0]
    assert case["transcript"][0]["direction"] == "sent"
    assert case["transcript"][0]["payload"].startswith("<5 bytes sha256:")
    assert case["latencies_ms"] == {"commit→first audio": None}
    assert validate_report(_report([result])) == []


def test_written_report_validates(tmp_path: Path) -> None:
    """write_json creates the folder and writes report.json that validates against the schema."""
    path = write_json(_report(), tmp_path / "out" / "run")
    assert path == tmp_path / "out" / "run" / "report.json"
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "format": "conformance-report"')
    assert "update→updated" in text  # UTF-8, not \u escapes
    assert validate_report(json.loads(text)) == []


def test_report_without_summary_is_invalid() -> None:
    """A report missing `summary` fails validation, and the message says so."""
    report = _report()
    del report["summary"]
    assert validate_report(report) == ["/: 'summary' is a required property"]


def test_unknown_verdict_is_invalid() -> None:
    """A case verdict outside the six ("MAYBE") fails validation at its JSON pointer."""
    report = _report()
    report["cases"][1]["verdict"] = "MAYBE"
    errors = validate_report(report)
    assert len(errors) == 1
    assert errors[0].startswith("/cases/1/verdict: 'MAYBE' is not one of")


def test_summary_must_agree_with_cases() -> None:
    """Counts that disagree with the cases' verdicts, and duplicate ids, fail validation."""
    report = _report()
    report["summary"]["PASS"] = 5
    report["cases"][6]["id"] = report["cases"][0]["id"]
    assert validate_report(report) == [
        "/summary/PASS: 5 but 2 cases have PASS",
        "/cases/6/id: duplicate case id 'MH-TEST-001[variant-1]'",
    ]


def test_schema_is_found_without_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema loads from the package wherever the process runs, and is valid 2020-12."""
    monkeypatch.chdir(tmp_path)
    schema = load_report_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "changed"
    assert load_report_schema()["title"] != "changed"


def test_schema_describes_every_field() -> None:
    """Every property and every definition of the schema carries a description."""
    undescribed: list[str] = []

    def walk(node: Any, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        for key in ("properties", "$defs"):
            for name, sub in node.get(key, {}).items():
                if "description" not in sub:
                    undescribed.append(f"{pointer}/{key}/{name}")
                walk(sub, f"{pointer}/{key}/{name}")
        for key in ("items", "additionalProperties"):
            walk(node.get(key), f"{pointer}/{key}")

    walk(load_report_schema(), "")
    assert undescribed == []


def test_schema_case_matches_the_dataclass_and_enums() -> None:
    """The case object lists exactly CaseResult's fields; its enums are the engine's."""
    defs = load_report_schema()["$defs"]
    assert list(defs["case"]["properties"]) == [f.name for f in dataclasses.fields(CaseResult)]
    assert defs["case"]["required"] == [f.name for f in dataclasses.fields(CaseResult)]
    assert defs["verdict"]["enum"] == [verdict.value for verdict in Verdict]
    assert defs["case"]["properties"]["level"]["enum"] == [level.value for level in Level]
    summary = load_report_schema()["properties"]["summary"]["required"]
    assert summary == ["total", *(verdict.value for verdict in Verdict)]


# -- report.html -------------------------------------------------------------------------------


def test_html_shows_every_case_header_and_summary(report_dir: Path) -> None:
    """The page names the target, profile and command, counts verdicts, and holds every case id."""
    report = _report()
    page = write_html(report, report_dir).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("http://127.0.0.1:5555", "built-in:metahuman", "conformance run --embedded"):
        assert needle in page
    for case in report["cases"]:
        assert case["id"] in page
    assert re.search(r'class="chip v-FAILED"[^>]*><b>1</b>FAILED', page)
    assert re.search(r'class="chip v-PASS"[^>]*><b>2</b>PASS', page)


def test_html_matrix_has_a_row_per_area_linking_to_cases(report_dir: Path) -> None:
    """The matrix has one row per area and one cell per case, each linking to the case's anchor."""
    page = render_html(_report(), report_dir)
    matrix = page[page.index('<table class="matrix">') : page.index("</table>")]
    assert re.findall(r"<tr><th>([^<]*)</th>", matrix) == ["deltas", "handshake"]
    targets = re.findall(r'<a class="cell v-[A-Z-]+" href="#([^"]+)"', matrix)
    assert len(targets) == 7
    for target in targets:
        assert re.search(f'<details class="case [^"]+" id="{re.escape(target)}"', page)


def test_html_opens_only_cases_to_act_on(report_dir: Path) -> None:
    """FAILED, ERROR and NON-STRICT cases are open by default; the others are closed."""
    page = render_html(_report(), report_dir)
    opened = dict(
        re.findall(
            r'<details class="case v-[A-Z-]+" id="[^"]+" data-verdict="([A-Z-]+)"( open)?', page
        )
    )
    assert opened == {
        "PASS": "",
        "FAILED": " open",
        "NON-STRICT": " open",
        "INFORMATIONAL": "",
        "UNSUPPORTED": "",
        "ERROR": " open",
    }


def test_html_embeds_audio_as_a_data_uri(report_dir: Path) -> None:
    """An audio entry plays from a data:audio/mpeg URI holding the file's bytes."""
    page = render_html(_report(), report_dir)
    encoded = base64.b64encode(CLIP.read_bytes()).decode("ascii")
    assert f'<audio controls preload="metadata" src="data:audio/mpeg;base64,{encoded}">' in page


def test_html_missing_audio_is_shown_not_raised(tmp_path: Path) -> None:
    """An audio file that is not there is shown as missing and the page is still written."""
    page = write_html(_report(), tmp_path / "empty").read_text(encoding="utf-8")
    assert '<span class="missing">missing</span> <code>audio/hello.mp3</code>' in page
    assert "<audio" not in page


def test_html_draws_timeline_and_latencies(report_dir: Path) -> None:
    """A case with a transcript gets an SVG timeline with a lane per socket, marks and latencies."""
    page = render_html(_report(), report_dir)
    first = page[page.index('id="case-0-') : page.index('id="case-1-')]
    start = first.index('<svg class="timeline"')
    timeline = first[start : first.index("</svg>", start) + 6]
    assert re.findall(r'class="lane-label"[^>]*><title>([^<]*)</title>', timeline) == [
        "sender",
        "receiver",
    ]
    assert timeline.count('<g class="mark sent"') == 3
    assert timeline.count('<g class="mark received"') == 3
    assert "<title>410.0 ms · receiver received response.text</title>" in timeline
    assert '<svg class="latencies"' in first
    assert "commit→first audio" in first
    assert first.count("<tr id=") == 6  # the transcript table, one row per event


def test_html_escapes_everything_from_the_server(report_dir: Path) -> None:
    """`<script>` in a payload, a message or an event name is escaped; only the page's own runs."""
    page = render_html(_report(), report_dir)
    assert page.count("<script") == 1
    assert "alert(&#x27;pwned&#x27;)" in page
    assert "&lt;script&gt;alert" in page


def test_html_is_self_contained(report_dir: Path) -> None:
    """No external resource is referenced, and the CSP admits only the page's own script."""
    page = render_html(_report(), report_dir)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for external in ("<link", "@import", "url("):
        assert external not in page
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert f"<script>{SCRIPT}</script>" in page


class _Balance(HTMLParser):
    """Collects tags closed out of order (void elements excepted)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "source", "wbr"})
    SVG_EMPTY = frozenset({"line", "circle", "polygon", "rect"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.SVG_EMPTY and tag not in self.VOID:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


def test_html_markup_is_balanced_and_svg_well_formed(report_dir: Path) -> None:
    """Every element is closed in order, and every inline SVG parses as XML."""
    page = render_html(_report(), report_dir)
    parser = _Balance()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 3  # two timelines, one latency chart
    for svg in svgs:
        assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


def test_html_of_a_loaded_report_equals_the_built_one(report_dir: Path) -> None:
    """The page depends only on report data: report.json read back renders the same."""
    report = _report()
    loaded = json.loads(write_json(report, report_dir).read_text(encoding="utf-8"))
    assert render_html(loaded, report_dir) == render_html(copy.deepcopy(report), report_dir)


def test_nice_ticks() -> None:
    """Timeline ticks are round 1-2-5 steps from 0 that cover the span."""
    assert nice_ticks(655) == [0, 200, 400, 600, 800]
    assert nice_ticks(655, target=10) == [0, 100, 200, 300, 400, 500, 600, 700]
    assert nice_ticks(1.0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0) == [0.0]
