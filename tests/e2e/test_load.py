"""Load mode against the reference servers on 127.0.0.1: every turn judged, SLO verdicts and
exit codes, reports (load.html checked in headless Chromium), Ctrl-C."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conformance import protocols
from conformance.hosting import running
from conformance.load.report import validate_load_report
from conformance.load.runner import LoadOptions, LoadRun
from conformance.profiles import load_profile
from tests.conftest import ServerFactory

COMMAND = [sys.executable, "-m", "conformance"]


async def _run(protocol: str, url: str, sessions: int, turns: int, tmp_path: Path) -> LoadRun:
    profile = load_profile(None, protocols.profile_of(protocol), embedded=True)
    run = LoadRun(
        script=protocols.plugin(protocol).load_script(),
        url=url,
        profile=profile,
        options=LoadOptions(sessions=sessions, spawn_rate=100, turns=turns),
        report_dir=tmp_path,
    )
    await run.run()
    return run


async def test_metahuman_sessions_have_every_turn_judged(
    reference: ServerFactory, tmp_path: Path
) -> None:
    """4 sessions x 2 turns on the clean reference: 8 turns, each judged by the per-turn cases
    (MH-ISO-001 from the second on), none broken, latencies measured."""
    run = await _run("metahuman", await reference(), 4, 2, tmp_path)
    stats = run.stats
    assert stats.turns == 8
    assert stats.errored == 0, stats.errors
    assert stats.clauses == {}
    assert stats.judged >= 8 * 25
    assert len(stats.latencies["first_audio"]) == 8
    assert len(stats.latencies["turn"]) == 8
    assert stats.sessions == 0  # all closed


async def test_chatmode_sessions_judged_and_a_cross_user_leak_caught(tmp_path: Path) -> None:
    """Chat Mode: clean, every turn passes; with answers sent to every socket, CM-ISO-001."""
    plugin = protocols.plugin("chatmode")
    for faults, expected in (([], set()), (["cross-user-leak"], {"CM-ISO-001"})):
        async with running(plugin.reference_app(faults, {})) as url:
            run = await _run("chatmode", url, 3, 2, tmp_path)
        failed = {c for c, count in run.stats.clauses.items() if count.level.value == "MUST"}
        assert run.stats.turns == 6
        assert run.stats.errored == 0
        assert failed == expected
        assert run.stats.judged >= 6 * 7


async def test_evi_sessions_judged_and_a_cross_chat_leak_caught(tmp_path: Path) -> None:
    """EVI: clean, every turn passes; with each transcript sent to every chat, EVI-ISO-001
    (each session's user_input names it, so another's transcript shows)."""
    plugin = protocols.plugin("evi")
    for faults, expected in (([], set()), (["cross-chat-leak"], {"EVI-ISO-001"})):
        async with running(plugin.reference_app(faults, {})) as url:
            run = await _run("evi", url, 3, 2, tmp_path)
        failed = {c for c, count in run.stats.clauses.items() if count.level.value == "MUST"}
        assert run.stats.turns == 6
        assert run.stats.errored == 0
        # with the leak, a turn's first transcript may be another chat's: EVI-TXT-001 too
        assert expected <= failed if faults else failed == set()
        assert run.stats.judged >= 6 * 15


@dataclass(frozen=True, slots=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    reports: Path


def _load(tmp_path: Path, *args: str, timeout: float = 120) -> Ran:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*COMMAND, "load", "--report-dir", str(reports), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    return Ran(done.returncode, done.stdout, done.stderr, reports)


@pytest.fixture(scope="module")
def breached(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """`conformance load` on the embedded server with one SLO it cannot meet and one it meets."""
    root = tmp_path_factory.mktemp("slo")
    profile = root / "slo.yaml"
    profile.write_text(
        yaml.safe_dump({"protocol": "metahuman", "slo": {"first_audio_p95_ms": 1, "error_rate": 0}})
    )
    return _load(root, "--sessions", "2", "--turns", "2", "--profile", str(profile))


def test_an_slo_breach_exits_1_with_its_verdict_in_every_report(breached: Ran) -> None:
    """The breached SLO is FAILED in load.json (valid against its schema) and in JUnit; the met
    one PASS; no clause broken; the exit code is 1."""
    assert breached.code == 1, breached.stdout + breached.stderr
    report = json.loads((breached.reports / "load.json").read_text())
    assert validate_load_report(report) == []
    assert report["summary"]["turns"] == 4
    assert report["violations"] == []
    assert {s["name"]: s["verdict"] for s in report["slo"]} == {
        "first_audio_p95_ms": "FAILED",
        "error_rate": "PASS",
    }
    assert report["target"]["embedded"] is True
    assert report["generator"]["cpu_ms_per_turn"] > 0
    suite = ET.parse(breached.reports / "load-junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1"
    assert "SLO FAILED first_audio_p95_ms" in breached.stdout
    assert "first audio p50" in breached.stderr  # the live display's last line


def test_bad_usage_and_an_unreachable_target_exit_2(tmp_path: Path) -> None:
    """A bad flag value and a URL nobody listens on: exit 2, one line on stderr."""
    for args in (("--sessions", "0"), ("--url", "http://127.0.0.1:9", "--turns", "1")):
        ran = _load(tmp_path, *args, timeout=60)
        assert ran.code == 2, ran.stderr
        assert ran.stderr.count("\n") == 1, ran.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_writes_the_reports(tmp_path: Path, stop: signal.Signals) -> None:
    """SIGINT or SIGTERM during a run: exit 130, load.json says interrupted, with the turns
    played."""
    reports = tmp_path / "reports"
    child = subprocess.Popen(
        [*COMMAND, "load", "--sessions", "2", "--duration", "60", "--report-dir", str(reports)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        time.sleep(4)  # the embedded server is up and turns are under way
        child.send_signal(stop)
        _, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    report = json.loads((reports / "load.json").read_text())
    assert report["interrupted"] is True
    assert report["exit_code"] == 130
    assert validate_load_report(report) == []


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_load_html_renders_in_headless_chromium(breached: Ran, tmp_path: Path) -> None:
    """The page's three plots are in the DOM Chromium builds, with their marks, and the page
    logs no script error."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            (breached.reports / "load.html").resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    plots = re.findall(r'<svg class="plot ([a-z-]+)"', dom)
    assert plots == ["over-time", "percentiles", "throughput"]
    assert len(re.findall(r'<circle class="dot"', dom)) >= 4
    assert re.search(r'<rect class="turns passed"', dom)
    errors = [
        line for line in done.stderr.splitlines() if "Uncaught" in line or ":ERROR:CONSOLE" in line
    ]
    assert not errors, errors
