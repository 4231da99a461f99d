"""Proof that the checks do not fail on other legitimate readings: the dual of the kill matrix.

Each variant of a reference server reads an [open] point of PROTOCOLS.md another way; against
it, with the profile a user of that server would write, the whole catalogue and the fuzzer must
give 0 FAILED and 0 ERROR. The runs go two at a time (both cores); the fuzz budget is small
here (CI) and grows on demand with `conformance fuzz`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import protocols
from conformance.embedded import EmbeddedServer
from tests.selftest.runs import (
    Matrices,
    Run,
    conformance,
    conformance_command,
    write_profile,
)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
MATRIX = [
    f"{name}:{variant}"
    for name in protocols.names()
    for variant in sorted(protocols.plugin(name).variants())
]
FUZZ_BUDGET = ["--max-examples", "8", "--max-time", "4"]


@pytest.mark.parametrize("protocol", protocols.names())
def test_every_variant_is_documented(protocol: str) -> None:
    """Each variant has its row in a README variant catalogue, and at least four exist."""
    variants = protocols.plugin(protocol).variants()
    assert len(variants) >= 4
    for name in variants:
        assert f"| `{name}` | " in README, name


def _cell(root: Path, key: str) -> tuple[Run, ...]:
    protocol, name = key.split(":")
    variant = protocols.plugin(protocol).variants()[name]
    server = EmbeddedServer.reference(protocol, variants=[name])
    url = server.start()
    try:
        profile = write_profile(root / "profile.yaml", protocol, variant.profile)
        args = ["--protocol", protocol, "--url", url, "--profile", str(profile)]
        run = conformance(root / "run", *args)
        fuzz = conformance_command(root / "fuzz", "fuzz", *args, *FUZZ_BUDGET)
        return run, fuzz
    finally:
        server.stop()


MATRIX_CELL = _cell


@pytest.mark.timeout(900)  # a cell may wait for the cells queued before it
@pytest.mark.parametrize("key", MATRIX)
def test_variant_passes(key: str, matrices: Matrices) -> None:
    """The whole catalogue and the fuzzer: 0 FAILED and 0 ERROR against the variant."""
    for run in matrices.result(__name__, key).runs:
        summary = run.report["summary"]
        wrong = {i: v for i, v in run.verdicts().items() if v in ("FAILED", "ERROR")}
        assert summary["FAILED"] == 0, (wrong, run.stdout[-3000:])
        assert summary["ERROR"] == 0, (wrong, run.stdout[-3000:])
        assert run.code == 0, run.stdout[-2000:] + run.stderr
