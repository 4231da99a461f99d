"""Faults only concurrency shows: `conformance load` catches each, a single-session
`conformance run` does not.

The matrix is the plug-in's load kill matrix (`load_script().kill_matrix`). Each cell runs, as
a user does, `conformance load` with 10 sessions of one turn against the reference with the
fault (a catching case must be FAILED, exit 1), then `conformance run` of the catching cases
and the isolation cases against the same server (no FAILED, exit 0). The clean reference under
the same load and profile passes (exit 0), so the profile's timeouts are no fault of their own.
The cells share the selftests' pool with the kill matrix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.catalogue import matches
from conformance.profiles import merge
from tests.selftest.runs import Matrices, Run, conformance, conformance_command, write_profile

MATRIX = [
    f"{name}:{fault}"
    for name in protocols.names()
    for fault in sorted(protocols.plugin(name).load_script().kill_matrix)
]
SESSIONS = "10"
# Timeouts that 10 sessions of the clean reference meet with room to spare on a loaded
# machine (first audio is under 1 s; a busy machine has paused a stream over 1 s), and that a
# failing turn still waits out quickly.
UNDER_LOAD = {"timeouts": {"transcription": 4, "first_audio": 4.5, "turn": 10, "stall": 3}}


def _profile(root: Path, protocol: str) -> Path:
    values = merge(protocols.plugin(protocol).embedded_profile(), UNDER_LOAD)
    return write_profile(root / "profile.yaml", protocol, values)


def _load(root: Path, protocol: str, url: str, profile: Path) -> Run:
    return conformance_command(
        root / "load",
        "load",
        *("--protocol", protocol, "--url", url, "--profile", str(profile)),
        *("--sessions", SESSIONS, "--spawn-rate", "100", "--turns", "1"),
        timeout=180,
    )


def _single_session_cases(protocol: str, globs: list[str]) -> list[str]:
    """The catching cases, and the isolation cases."""
    catalogue = [case.id for case in protocols.plugin(protocol).catalogue()]
    return [i for i in catalogue if any(matches(i, g) for g in [*globs, "*-ISO-*"])]


def _cell(root: Path, key: str) -> tuple[Run, ...]:
    protocol, fault = key.split(":")
    server = EmbeddedServer.reference(protocol, [] if fault == "clean" else [fault])
    url = server.start()
    try:
        profile = _profile(root, protocol)
        load = _load(root, protocol, url, profile)
        if fault == "clean":
            return (load,)
        globs = list(protocols.plugin(protocol).load_script().kill_matrix[fault])
        cases = _single_session_cases(protocol, globs)
        args = ["--protocol", protocol, "--url", url, "--profile", str(profile)]
        for case in cases:
            args += ["--case", case]
        return load, conformance(root / "run", *args, timeout=180)
    finally:
        server.stop()


MATRIX_CELL = _cell


def _load_report(run: Run) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run.report_dir / "load.json").read_text())
    return loaded


@pytest.mark.timeout(900)  # a cell may wait for the cells queued before it
@pytest.mark.parametrize("key", ["metahuman:clean"])
def test_the_clean_reference_passes_the_same_load(key: str, matrices: Matrices) -> None:
    """10 sessions of the clean reference, with the cells' profile: nothing broken, exit 0."""
    (load,) = matrices.result(__name__, key).runs
    report = _load_report(load)
    assert load.code == 0, load.stdout[-2000:]
    assert report["violations"] == [], report["violations"]
    assert report["summary"]["turns"] == int(SESSIONS)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("key", MATRIX)
def test_fault_is_caught_under_load_and_not_in_one_session(key: str, matrices: Matrices) -> None:
    """Under load a catching case is FAILED (exit 1); the single-session run of the catching
    and isolation cases has no FAILED (exit 0)."""
    protocol, fault = key.split(":")
    load, run = matrices.result(__name__, key).runs
    globs = protocols.plugin(protocol).load_script().kill_matrix[fault]
    report = _load_report(load)
    failed = [v["id"] for v in report["violations"] if v["verdict"] == "FAILED"]
    caught = [i for i in failed if any(matches(i, g) for g in globs)]
    assert caught, f"{fault} under load: FAILED {failed}, catching {globs}"
    assert load.code == 1
    verdicts = run.verdicts()
    assert verdicts, run.stdout[-2000:]
    assert "FAILED" not in verdicts.values(), verdicts
    assert run.code == 0, run.stdout[-2000:]
