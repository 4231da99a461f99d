"""Proof that the checks can fail: every fault of the reference server makes a case FAILED.

The matrix (fault -> the cases that must catch it) is each fault's `caught_by`, and
the README shows it. In CI each fault gets its catching cases (`--case`), which keeps three
catalogues' matrices within CI's budget; `CONFORMANCE_KILL_MATRIX=full` gives each fault the
whole catalogue, so that a hang or a slow failure anywhere shows too (on demand: about three
times as long). Hangs on hostile servers are test_bad_input.py's. The profile is what a user of
the reference writes: its embedded values (errorIds, the expired token it signed), since the
faulty server is the reference with one defect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.catalogue import matches
from conformance.profiles import merge
from tests.selftest.runs import Matrices, Run, conformance, write_profile

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
MATRIX = [
    f"{name}:{fault}"
    for name in protocols.names()
    for fault in sorted(protocols.plugin(name).faults())
    # Faults only concurrency shows: load mode's matrix (tests/selftest/test_load_faults.py).
    if fault not in protocols.plugin(name).load_script().kill_matrix
]
FULL = os.environ.get("CONFORMANCE_KILL_MATRIX") == "full"
# A guard that each run ended on its own (most end well within a minute), not a speed test.
ENDED_ON_ITS_OWN_S = 180


@pytest.mark.parametrize("protocol", protocols.names())
def test_matrix_covers_every_fault_with_real_cases(protocol: str) -> None:
    """Each fault has catching cases; each glob names cases of the catalogue; README shows it."""
    plugin = protocols.plugin(protocol)
    ids = [case.id for case in plugin.catalogue()]
    under_load = set(plugin.load_script().kill_matrix)
    assert set(plugin.kill_matrix()) == set(plugin.faults()) - under_load
    assert not set(plugin.kill_matrix()) & under_load
    for fault, globs in plugin.kill_matrix().items():
        for glob in globs:
            assert any(matches(i, glob) for i in ids), (fault, glob)
        assert f"| `{fault}` | " in README, fault


# Faults whose run is long by nature, made short: the slow first audio is held back 2.5 s
# (not 8) against a profile that wants it within 1.5 s, so 15 turns do not each wait 8 s.
QUICKER: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "slow-first-audio": ({"slow_first_audio_s": 2.5}, {"timeouts": {"first_audio": 1.5}}),
}


def _cell(root: Path, key: str) -> tuple[Run, ...]:
    protocol, fault = key.split(":")
    options, overrides = QUICKER.get(fault, ({}, {}))
    server = EmbeddedServer.reference(protocol, [fault], **options)
    url = server.start()
    try:
        plugin = protocols.plugin(protocol)
        values = merge(plugin.embedded_profile(), overrides)
        profile = write_profile(root / "profile.yaml", protocol, values)
        args = ["--protocol", protocol, "--url", url, "--profile", str(profile)]
        if not FULL:
            args += [f"--case={glob}" for glob in plugin.kill_matrix()[fault]]
        return (conformance(root, *args, timeout=ENDED_ON_ITS_OWN_S),)
    finally:
        server.stop()


MATRIX_CELL = _cell


@pytest.mark.timeout(900)  # a cell may wait for the cells queued before it
@pytest.mark.parametrize("key", MATRIX)
def test_fault_is_caught(key: str, matrices: Matrices) -> None:
    """Against the server with the fault, a catching case is FAILED; the whole run ends on its
    own, without ERROR, with its reports."""
    protocol, fault = key.split(":")
    timed = matrices.result(__name__, key)
    (run,) = timed.runs
    verdicts = run.verdicts()
    catching = protocols.plugin(protocol).kill_matrix()[fault]
    # A lenient acceptance (bad input served) breaks a SHOULD: its case is NON-STRICT.
    caught = [
        i
        for i, v in verdicts.items()
        if v in ("FAILED", "NON-STRICT") and any(matches(i, g) for g in catching)
    ]
    assert caught, f"{fault} caught by none of {catching}: {verdicts}\n{run.stdout[-2000:]}"
    assert run.code == (1 if "FAILED" in verdicts.values() else 0)
    assert run.report["summary"]["ERROR"] == 0, run.stdout[-2000:]
    if FULL:
        assert len(verdicts) == len(protocols.plugin(protocol).catalogue())
    assert (run.report_dir / "report.html").exists()
