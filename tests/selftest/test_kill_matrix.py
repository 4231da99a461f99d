"""Proof that the checks can fail: every fault of the reference server makes a case FAILED.

The matrix (fault -> the cases that must catch it) is the protocol plug-in's KILL_MATRIX, and
the README shows it. The clean server passing every case is pinned in test_run.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import protocols
from conformance.engine.catalogue import matches
from tests.selftest.conftest import conformance

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
MATRIX = [
    (name, fault) for name in protocols.names() for fault in sorted(protocols.plugin(name).faults())
]


@pytest.mark.parametrize("protocol", protocols.names())
def test_matrix_covers_every_fault_with_real_cases(protocol: str) -> None:
    """Each fault has catching cases; each glob names cases of the catalogue; README shows it."""
    plugin = protocols.plugin(protocol)
    ids = [case.id for case in plugin.catalogue()]
    assert set(plugin.kill_matrix()) == set(plugin.faults())
    for fault, globs in plugin.kill_matrix().items():
        for glob in globs:
            assert any(matches(i, glob) for i in ids), (fault, glob)
        assert f"| `{fault}` | " in README, fault


@pytest.mark.parametrize(("protocol", "fault"), MATRIX)
def test_fault_is_caught(protocol: str, fault: str, tmp_path: Path, faulty: Any) -> None:
    """Against the server with the fault, at least one of its catching cases is FAILED."""
    url = faulty([fault], protocol)
    args = ["--protocol", protocol, "--url", url]
    for glob in protocols.plugin(protocol).kill_matrix()[fault]:
        args += ["--case", glob]
    run = conformance(tmp_path, *args)
    verdicts = run.verdicts()
    caught = [i for i, v in verdicts.items() if v == "FAILED"]
    assert caught, f"{fault} caught by no case: {verdicts}\n{run.stdout[-2000:]}"
    assert run.code == 1
    assert run.report["summary"]["ERROR"] == 0, run.stdout[-2000:]
