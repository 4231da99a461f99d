"""Load mode's pure pieces: percentiles, SLO verdicts, the judge, load.json and its schema,
JUnit, the page's plots, and the plug-in interface every protocol implements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import protocols
from conformance.engine.catalogue import Catalogue, matches
from conformance.engine.context import CaseContext
from conformance.engine.model import Blocked, HarnessError, Level
from conformance.engine.transcript import Direction, Transcript
from conformance.load.html import render_load_html
from conformance.load.judge import judge
from conformance.load.junit import write_load_junit
from conformance.load.report import build_load_report, validate_load_report
from conformance.load.slo import evaluate
from conformance.load.stats import Stats, percentile, summary
from conformance.profiles import ProfileError, load_profile
from conformance.protocols.load import FIRST_AUDIO, TURN, Played, TurnResult, TurnViolation

LOAD_PACKAGE = Path(__file__).resolve().parents[2] / "conformance" / "load"


def test_percentiles_are_nearest_rank() -> None:
    """p95 of 1..100 is 95, p50 of four values is the second, none of nothing."""
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99.9) == 100.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([], 50) is None
    assert summary([3.0, 1.0, 2.0]) == {
        "count": 3,
        "min": 1.0,
        "mean": 2.0,
        "p50": 2.0,
        "p90": 3.0,
        "p95": 3.0,
        "p99": 3.0,
        "p99.9": 3.0,
        "max": 3.0,
    }


def _stats(first_audio: list[float], errors: int = 0) -> Stats:
    stats = Stats()
    for index, ms in enumerate(first_audio):
        stats.add(
            TurnResult(
                session="session-1", index=index + 1, at=index, latencies_ms={FIRST_AUDIO: ms}
            ),
            float(index),
        )
    for index in range(errors):
        stats.add(TurnResult(session=f"session-{index}", index=1, at=0.0, error="lost"), 0.5)
    return stats


def test_each_slo_is_a_verdict() -> None:
    """A latency percentile over its objective, an error rate, a throughput: each judged."""
    stats = _stats([100.0] * 19 + [900.0], errors=1)
    verdicts = {
        v.name: v
        for v in evaluate(
            {
                "first_audio_p95_ms": 200,
                "first_audio_p99_ms": 500,
                "turn_p50_ms": 1000,
                "error_rate": 0.1,
                "min_turns_per_s": 100,
            },
            stats,
            duration_s=10.0,
        )
    }
    assert verdicts["first_audio_p95_ms"].passed
    assert verdicts["first_audio_p95_ms"].measured == 100.0
    assert not verdicts["first_audio_p99_ms"].passed
    assert "900 > 500" in verdicts["first_audio_p99_ms"].message
    assert not verdicts["turn_p50_ms"].passed  # never measured: nothing met it
    assert verdicts["turn_p50_ms"].measured is None
    assert verdicts["error_rate"].passed
    assert verdicts["error_rate"].measured == pytest.approx(1 / 21)
    assert not verdicts["min_turns_per_s"].passed
    assert evaluate({}, stats, 10.0) == []


def test_stats_count_a_clause_once_per_turn_and_keep_few_examples() -> None:
    """A turn that breaks a clause twice counts once; examples stop at three; like errors of
    different sessions count together."""
    stats = Stats()
    transcript = Transcript()
    transcript.record("s/sender", Direction.SENT, "hello", ({"audio": b"\x00" * 10},))
    broken = TurnViolation(
        case="X-1", level=Level.MUST, clause="c", message="m", expected="e", observed="o"
    )
    for index in range(5):
        stats.add(
            TurnResult(
                session="session-1",
                index=index + 1,
                at=0.0,
                violations=[broken, broken],
                transcript=transcript,
            ),
            1.0,
        )
    for number in range(3):
        stats.add(
            TurnResult(
                session=f"session-{number}", index=1, at=0.0, error=f"session-{number} lost"
            ),
            2.0,
        )
    (clause,) = stats.violations()
    assert clause["turns"] == 5
    assert clause["verdict"] == "FAILED"
    assert len(clause["examples"]) == 3
    assert clause["examples"][0]["transcript"][0]["payload"]["audio"].startswith("<10 bytes")
    assert stats.failed == 5
    assert stats.errored == 3
    assert [(e.message, e.count) for e in stats.errors.values()] == [("session-N lost", 3)]


def _report(stats: Stats, slo: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_load_report(
        stats,
        protocol="proto",
        target={"url": "http://127.0.0.1:1", "embedded": True, "profile": "built-in:proto"},
        command="conformance load",
        options={"sessions": 2, "spawn_rate": 1.0, "duration_s": 5.0, "turns": None, "wait_s": 0},
        started_at=datetime.now(UTC),
        duration_s=5.0,
        slo=evaluate(slo or {}, stats, 5.0),
        generator={
            "cpu_s": 0.5,
            "process_cpu_s": 1.0,
            "wall_s": 5.0,
            "cpu_share": 0.1,
            "cpu_ms_per_turn": 10.0,
            "max_rss_mib": 80.0,
            "loop_lag_ms": summary([1.0, 3.0]),
        },
        interrupted=False,
        exit_code=1,
    )


def test_load_report_is_valid_against_its_schema() -> None:
    """A report with latencies, a clause broken, an error and an SLO validates; a report whose
    counts disagree, or that misses a field, does not."""
    stats = _stats([120.0, 80.0, 300.0], errors=1)
    stats.add(
        TurnResult(
            session="session-2",
            index=1,
            at=1.0,
            latencies_ms={FIRST_AUDIO: 90.0, TURN: 400.0},
            violations=[
                TurnViolation(
                    case="X-2[a]",
                    level=Level.SHOULD,
                    clause="c",
                    message="m",
                    expected="",
                    observed="",
                )
            ],
            transcript=Transcript(),
        ),
        3.5,
    )
    report = _report(stats, {"first_audio_p95_ms": 250})
    assert validate_load_report(report) == []
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["summary"]["violations"] == {"MUST": 0, "SHOULD": 1, "MAY": 0}
    assert [b["turns"] for b in report["throughput"]] == [2, 1, 1, 1]
    broken = json.loads(json.dumps(report))
    broken["summary"]["turns"] += 1
    assert any(p.startswith("/throughput") for p in validate_load_report(broken))
    del broken["generator"]
    assert any("'generator' is a required property" in p for p in validate_load_report(broken))


def test_junit_has_a_case_per_slo_and_per_clause(tmp_path: Path) -> None:
    """A breached SLO and a MUST clause are failures; a SHOULD clause is a passing case."""
    stats = _stats([100.0, 200.0])
    for level, case in ((Level.MUST, "X-1"), (Level.SHOULD, "X-2")):
        stats.add(
            TurnResult(
                session="session-1",
                index=9,
                at=0.0,
                violations=[
                    TurnViolation(
                        case=case, level=level, clause="c", message="m", expected="e", observed="o"
                    )
                ],
            ),
            1.0,
        )
    path = write_load_junit(_report(stats, {"first_audio_p50_ms": 1, "error_rate": 0}), tmp_path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"turns judged", "SLO first_audio_p50_ms", "SLO error_rate", "X-1", "X-2"}
    failed = {name for name, c in cases.items() if c.find("failure") is not None}
    assert failed == {"SLO first_audio_p50_ms", "X-1"}
    assert suite.get("failures") == "2"
    assert suite.get("tests") == "5"


def test_load_html_plots_are_svg_and_everything_is_escaped() -> None:
    """Three plots, each well-formed SVG; a hostile clause message is shown as text."""
    stats = _stats([100.0, 150.0, 420.0])
    stats.add(
        TurnResult(
            session="session-1",
            index=4,
            at=0.0,
            latencies_ms={FIRST_AUDIO: 500.0, TURN: 900.0},
            violations=[
                TurnViolation(
                    case="X-1",
                    level=Level.MUST,
                    clause="<b>c</b>",
                    message="<script>alert(1)</script>",
                    expected="",
                    observed="",
                )
            ],
            transcript=Transcript(),
        ),
        2.0,
    )
    page = render_load_html(_report(stats, {"first_audio_p95_ms": 300}))
    svgs = re.findall(r"<svg class=\"plot [^\"]+\".*?</svg>", page, flags=re.S)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="objective"' in page  # the SLO drawn on the percentile plot


async def test_judge_runs_the_cases_over_the_played_values() -> None:
    """A case's violation, a blocked case, an unplayed exchange: each lands where it should."""
    catalogue = Catalogue(areas=("a",))

    @catalogue.case(
        "T-1", title="t", clause="the value is 2", level=Level.MUST, area="a", source="s"
    )
    async def two(ctx: CaseContext) -> None:
        value = await ctx.scenario("value", lambda env: _never())
        ctx.check(value == 2, "not 2", expected="2", observed=str(value))

    @catalogue.case("T-2", title="t", clause="lowered", level=Level.MUST, area="a", source="s")
    async def lowered(ctx: CaseContext) -> None:
        ctx.fail("soft", expected="", observed="", level=Level.SHOULD)

    @catalogue.case("T-3", title="t", clause="blocked", level=Level.MUST, area="a", source="s")
    async def blocked(ctx: CaseContext) -> None:
        raise Blocked("see T-1")

    @catalogue.case("T-4", title="t", clause="other", level=Level.MUST, area="a", source="s")
    async def other(ctx: CaseContext) -> None:
        await ctx.scenario("not played", lambda env: _never())

    profile = load_profile(None, protocols.profile_of("metahuman"))
    result = TurnResult(session="session-1", index=1, at=0.0)
    played = Played(
        scenarios={"value": 3}, cases=list(catalogue), latencies_ms={}, transcript=Transcript()
    )
    await judge(played, result, url="http://x", profile=profile)
    assert [(v.case, v.level) for v in result.violations] == [
        ("T-1", Level.MUST),
        ("T-2", Level.SHOULD),
    ]
    assert result.failed
    assert result.judged == 3
    assert result.blocked == 1
    assert "T-4 asks for the exchange 'not played'" in result.error
    assert result.transcript is played.transcript


async def _never() -> Any:
    raise HarnessError("a load turn never runs an exchange")


def test_profile_slo_is_validated(tmp_path: Path) -> None:
    """`slo` takes latency percentiles, error_rate and min_turns_per_s; anything else is refused
    naming the field."""
    given = protocols.profile_of("metahuman")
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps({"protocol": "metahuman", "slo": {"first_audio_p95_ms": 1500}}))
    assert load_profile(good, given).section("slo") == {"first_audio_p95_ms": 1500}
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"protocol": "metahuman", "slo": {"first_audio_p97_ms": 1}}))
    with pytest.raises(ProfileError, match="/slo"):
        load_profile(bad, given)


@pytest.mark.parametrize("protocol", protocols.names())
def test_every_plugin_gives_a_load_script_with_real_faults(protocol: str) -> None:
    """Each plug-in's load kill matrix names faults of its reference and cases of its
    catalogue, and none of them is in the single-session kill matrix."""
    plugin = protocols.plugin(protocol)
    script = plugin.load_script()
    ids = [case.id for case in plugin.catalogue()]
    for fault, globs in script.kill_matrix.items():
        assert fault in plugin.faults(), fault
        assert fault not in plugin.kill_matrix(), fault
        for glob in globs:
            assert any(matches(i, glob) for i in ids), (fault, glob)


def test_no_protocol_is_named_in_the_load_package() -> None:
    """conformance/load/ reaches protocols only through the plug-in field."""
    for path in LOAD_PACKAGE.glob("*.py"):
        text = path.read_text().lower()
        for name in protocols.names():
            assert not re.search(rf"\b{name}\b", text), (path.name, name)


def test_locustfile_path_and_no_gevent_elsewhere() -> None:
    """`python -m conformance.load.locustfile` prints its path without importing Locust, and
    the `conformance` command's modules never import Locust or gevent."""
    printed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "conformance.load.locustfile"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0
    assert Path(printed.stdout.strip()) == LOAD_PACKAGE / "locustfile.py"
    assert not re.search(r"\| +(locust|gevent)\b", printed.stderr)
    probe = (
        "import sys, conformance.cli, conformance.load.command\n"
        "from conformance import protocols\n"
        "[protocols.plugin(n).load_script() for n in protocols.names()]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert imported.stdout.strip() == "[]", imported.stderr
