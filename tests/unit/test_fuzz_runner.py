"""The fuzz runner and findings, without a server: seeds, budgets, shrinking, files."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from conformance.fuzz import Budget, Finding, Step, fuzz, load_finding, save_finding
from conformance.protocols.metahuman.fuzz import negative_steps
from conformance.protocols.metahuman.plugin import PLUGIN


def test_same_seed_same_examples() -> None:
    """Two runs with one seed draw the same examples; another seed draws others."""
    base = dict(PLUGIN.builtin_profile()["session_update"])

    def drawn(seed: int) -> list[str]:
        seen: list[str] = []

        def record(step: Step) -> None:
            seen.append(step.label)

        fuzz(
            negative_steps(base),
            record,
            Budget(max_examples=15, seed=seed),
        )
        return seen

    assert drawn(7) == drawn(7)
    assert drawn(7) != drawn(8)


def test_failure_is_shrunk() -> None:
    """A failing example is shrunk to the minimal one."""
    outcome = fuzz(
        st.integers(), lambda n: "too big" if n > 1000 else None, Budget(max_examples=200)
    )
    assert outcome.failing == 1001
    assert outcome.message == "too big"


def test_budget_in_seconds_stops_generation() -> None:
    """Past max_time no more examples are tried."""
    outcome = fuzz(st.integers(), lambda n: None, Budget(max_examples=10_000, max_time=0.2))
    assert outcome.examples < 10_000
    assert outcome.failing is None


def test_finding_round_trip(tmp_path: Path) -> None:
    """A saved finding loads back the same, bytes included."""
    finding = Finding(
        protocol="metahuman",
        target="MH-FUZZ-002",
        oracle="an error event",
        message="no custom.error",
        steps=(Step(event="input.buffer.append", args=(b"\x00\x01", {"a": [1]}), label="x"),),
        seed=3,
        url="http://127.0.0.1:1",
        rules=({"rule": "append", "cuts": [1, 2]},),
    )
    assert load_finding(save_finding(finding, tmp_path)) == finding
