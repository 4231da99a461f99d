"""`conformance fuzz` and `conformance replay`: nothing found on the reference server, each
robustness fault found within the default budget, findings that replay; and the readings for
all protocols (PROTOCOLS.md): a refusal of a valid request with a well-formed error is no
violation, lenient acceptance of malformed input is at most NON-STRICT."""

from __future__ import annotations

import asyncio
import copy
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.context import Env, Recorder
from conformance.engine.model import Level
from conformance.fuzz import Judgement, Step
from conformance.profiles import load_profile
from conformance.protocols.metahuman.fuzz import judge_step
from conformance.reports import validate_report
from tests.selftest.runs import Matrices, Run, write_profile

REFUSE = "refuse-unsupported-models"
LENIENT = "lenient-optional-fields"

ROBUSTNESS = [
    ("chatmode", "error-closes-socket", "CM-FUZZ-002"),
    ("chatmode", "missing-type-field", "CM-FUZZ-001"),
    ("chatmode", "cross-user-leak", "CM-FUZZ-003"),
    ("metahuman", "disconnect-on-malformed-payload", "MH-FUZZ-002"),
    ("metahuman", "session-crash-on-invalid-base64", "MH-FUZZ-002"),
    ("metahuman", "silently-drop-bad-message", "MH-FUZZ-002"),
    ("metahuman", "error-wrong-shape", "MH-FUZZ-002"),
    ("metahuman", "disconnect-on-bad-update", "MH-FUZZ-002"),
    ("metahuman", "no-error-on-empty-commit", "MH-FUZZ-002"),
    ("metahuman", "missing-delta", "MH-FUZZ-003"),
    ("metahuman", "leak-to-other-session", "MH-FUZZ-003"),
    ("evi", "close-on-bad-message", "EVI-FUZZ-002"),
    ("evi", "metadata-not-first", "EVI-FUZZ-003"),
]
# Protocols whose built-in profile cannot reach the reference (EVI's names no credentials):
# their cells and replays use what a user of the reference writes, its embedded values.
EMBEDDED_PROFILE = {"evi"}


def fuzz(tmp_path: Path, *args: str) -> Run:
    report_dir = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "fuzz", "--report-dir", str(report_dir), *args],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
    )
    return Run(done.returncode, done.stdout, done.stderr, report_dir)


def replay(finding: Path, url: str, *profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", "replay", str(finding), "--url", url, *profile],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("protocol", "prefix"), [("metahuman", "MH"), ("chatmode", "CM")])
def test_reference_server_survives_fuzzing(protocol: str, prefix: str, tmp_path: Path) -> None:
    """A bounded fuzz of the embedded reference server finds nothing and writes its reports."""
    run = fuzz(tmp_path, "--protocol", protocol, "--max-examples", "20", "--max-time", "15")
    assert run.code == 0, run.stdout[-3000:]
    assert run.verdicts() == {f"{prefix}-FUZZ-00{n}": "PASS" for n in (1, 2, 3)}
    assert validate_report(run.report) == []
    assert (run.report_dir / "junit.xml").exists()
    assert not (run.report_dir / "findings").exists()


Replays = tuple[Run, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]


def _found(root: Path, key: str) -> Replays:
    """Fuzz the faulty server with the case, then replay the finding against it and a clean one."""
    protocol, fault, case = key.split(":")
    faulty = EmbeddedServer.reference(protocol, [fault])
    clean = EmbeddedServer.reference(protocol)
    url, clean_url = faulty.start(), clean.start()
    profile: list[str] = []
    if protocol in EMBEDDED_PROFILE:
        values = protocols.plugin(protocol).embedded_profile()
        profile = ["--profile", str(write_profile(root / "profile.yaml", protocol, values))]
    try:
        run = fuzz(root, "--protocol", protocol, "--url", url, "--case", case, *profile)
        finding = run.report_dir / "findings" / f"{case}.json"
        return run, replay(finding, url, *profile), replay(finding, clean_url, *profile)
    finally:
        faulty.stop()
        clean.stop()


MATRIX_CELL = _found


@pytest.mark.timeout(900)  # a cell may wait for the cells queued before it
@pytest.mark.parametrize("key", [":".join(row) for row in ROBUSTNESS])
def test_fault_is_found_and_replays(key: str, matrices: Matrices) -> None:
    """Within the default budget the fault is found, shrunk, saved, and replays: still FAILED
    against the faulty server, FIXED against a clean one."""
    case = key.split(":")[2]
    run, still, fixed = matrices.result(__name__, key).runs
    assert run.code == 1, run.stdout[-3000:]
    result = next(c for c in run.report["cases"] if c["id"] == case)
    assert result["verdict"] == "FAILED"
    finding = run.report_dir / "findings" / f"{case}.json"
    assert finding.exists()
    assert result["rerun"].startswith(f"conformance replay {finding}")
    assert still.returncode == 1, still.stdout + still.stderr
    assert still.stdout.startswith(f"FAILED {case}")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.startswith(f"FIXED {case}")


def test_replay_of_a_bad_file(tmp_path: Path) -> None:
    """A file that is not a finding exits 2 with one line."""
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    done = replay(bogus, "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "not a finding file" in done.stderr


@pytest.fixture(scope="module")
def variant_url() -> Iterator[str]:
    """A MetaHuman reference server that refuses models its providers lack and accepts
    malformed optional fields (two legitimate readings at once)."""
    server = EmbeddedServer.reference("metahuman", variants=[REFUSE, LENIENT])
    yield server.start()
    server.stop()


def _judged(url: str, tmp_path: Path, step: Step) -> Judgement | None:
    profile = load_profile(None, protocols.profile_of("metahuman"))
    env = Env(url=url, profile=profile, recorder=Recorder(), report_dir=tmp_path)
    return asyncio.run(judge_step(env, step))


def _update(**changes: Any) -> dict[str, Any]:
    update = copy.deepcopy(
        dict(load_profile(None, protocols.profile_of("metahuman")).section("session_update"))
    )
    for section, fields in changes.items():
        update[section] = {**update[section], **fields}
    return update


def test_refusal_of_a_valid_update_is_no_violation(variant_url: str, tmp_path: Path) -> None:
    """A schema-valid session.update naming a model its provider lacks, refused with a
    well-formed custom.error: a refusal noted (MAY), never a break."""
    step = Step(
        event="session.update",
        args=(_update(STT={"model": "no-such-model"}),),
        label="a valid session.update",
        expect="ack",
    )
    judged = _judged(variant_url, tmp_path, step)
    assert judged is not None
    assert judged.level is Level.MAY, judged
    assert "was refused" in judged.reason


def test_lenient_acceptance_is_at_most_non_strict(variant_url: str, tmp_path: Path) -> None:
    """A session.update whose LLM.stop is a list of lists, accepted: SHOULD, never a break."""
    step = Step(
        event="session.update",
        args=(_update(LLM={"stop": [["x" * 2000]]}),),
        label="session.update with LLM.stop as a list of lists",
    )
    judged = _judged(variant_url, tmp_path, step)
    assert judged is not None
    assert judged.level is Level.SHOULD, judged
    assert judged.reason.startswith("accepted session.update with LLM.stop")


def test_variants_are_never_failed(variant_url: str, tmp_path: Path) -> None:
    """The whole MetaHuman fuzz catalogue against both readings: nothing FAILED, no finding;
    the lenient acceptances make MH-FUZZ-002 NON-STRICT, with their reasons in its notes."""
    run = fuzz(tmp_path, "--url", variant_url, "--max-examples", "40", "--max-time", "15")
    assert run.code == 0, run.stdout[-3000:]
    assert run.verdicts() == {
        "MH-FUZZ-001": "PASS",
        "MH-FUZZ-002": "NON-STRICT",
        "MH-FUZZ-003": "PASS",
    }
    assert not (run.report_dir / "findings").exists()
    negative = next(c for c in run.report["cases"] if c["id"] == "MH-FUZZ-002")
    assert "leniently" in negative["message"]
    assert any("NON-STRICT (SHOULD)" in note for note in negative["notes"])


def _dying_server() -> tuple[subprocess.Popen[str], str]:
    """`tests.selftest.hostile dying` in a child process, and its URL (within 30 s)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.selftest.hostile", "dying"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    ready = select.select([child.stdout], [], [], 30)[0]
    assert ready, "the dying server did not start within 30 s"
    return child, child.stdout.readline().strip()


@pytest.mark.timeout(300)
def test_a_server_killed_by_an_input_is_failed_and_replays(tmp_path: Path, faulty: Any) -> None:
    """A server whose process dies on a chunk that is not base64: FAILED naming the input that
    killed it (reachable before it, unreachable after), never a harness ERROR; the finding
    replays FAILED against the dying server and FIXED against a conformant one."""
    child, url = _dying_server()
    try:
        run = fuzz(tmp_path, "--url", url, "--case", "MH-FUZZ-002", "--max-time", "30")
    finally:
        child.kill()
        child.wait(10)
    assert run.code == 1, run.stdout[-3000:]
    result = run.report["cases"][0]
    assert result["verdict"] == "FAILED", result
    assert "the server was gone after input.buffer.append" in result["message"]
    finding = run.report_dir / "findings" / "MH-FUZZ-002.json"
    assert finding.exists()
    child, url = _dying_server()
    try:
        still = replay(finding, url)
    finally:
        child.kill()
        child.wait(10)
    assert still.returncode == 1, still.stdout + still.stderr
    assert still.stdout.startswith("FAILED MH-FUZZ-002")
    fixed = replay(finding, faulty())
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.startswith("FIXED MH-FUZZ-002")
