"""The README documents what the code serves: every fault and every error of the catalogue."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from conformance import protocols
from conformance.cli import _parser
from conformance.protocols.metahuman.reference.errors import CATALOGUE

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("protocol", protocols.names())
def test_every_fault_is_documented(protocol: str) -> None:
    """Each fault of each protocol has its row, with its clause, in a README fault catalogue."""
    for fault in protocols.plugin(protocol).faults().values():
        assert f"| `{fault.name}` | {fault.summary} | {fault.clause} |" in README


def test_every_error_is_documented() -> None:
    """Each custom.error of the catalogue has its row in the README."""
    for error in CATALOGUE:
        assert f"| {error.error_id} | `{error.name}` | {error.message} |" in README


def test_every_serve_flag_is_documented() -> None:
    """Each flag of every `conformance` command appears in the README."""
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"{flag}" in README, f"{name} {flag}"
