"""The case model: clauses, levels, verdicts, results. Protocol-agnostic, plain data.

A case is an async function over a `CaseContext` (see `context.py`) that returns when the
server meets its clause and raises `Violation` when it does not. The level of the clause
turns a violation into a verdict: MUST -> FAILED, SHOULD -> NON-STRICT, MAY -> INFORMATIONAL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.engine.context import CaseContext

__all__ = [
    "Blocked",
    "Case",
    "CaseResult",
    "HarnessError",
    "Level",
    "Unsupported",
    "Verdict",
    "Violation",
    "verdict_for",
]


class Level(StrEnum):
    """RFC 2119 level of a clause."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Verdict(StrEnum):
    """Autobahn's verdicts, plus ERROR for a fault of the harness or the network."""

    PASS = "PASS"
    NON_STRICT = "NON-STRICT"
    FAILED = "FAILED"
    INFORMATIONAL = "INFORMATIONAL"
    UNSUPPORTED = "UNSUPPORTED"
    # The case could not be judged because another case's failure took what it needs (audio
    # that does not decode, a session the server never configured): counted apart, never a
    # failure of its own; the message names the failure.
    BLOCKED = "BLOCKED"
    ERROR = "ERROR"


class Violation(AssertionError):
    """The server broke the clause of the running case (the peer's fault).

    `level` lowers the verdict below the case's own level where one part of a case rests on a
    weaker source (lenient acceptance of bad input is at most a broken SHOULD, say).
    """

    def __init__(
        self, message: str, *, expected: str, observed: str, level: Level | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.observed = observed
        self.level = level


class Unsupported(Exception):
    """The profile says the server lacks what the case needs: UNSUPPORTED, never FAILED."""


class Blocked(Exception):
    """The case cannot be judged because of another case's failure, which the message names."""


class HarnessError(Exception):
    """The suite or the network failed: ERROR, never reported as the server's violation."""


def verdict_for(level: Level) -> Verdict:
    """The verdict of a violation of a clause of this level."""
    return {
        Level.MUST: Verdict.FAILED,
        Level.SHOULD: Verdict.NON_STRICT,
        Level.MAY: Verdict.INFORMATIONAL,
    }[level]


CaseFunction = Callable[["CaseContext"], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One clause of a protocol, tested one way (optionally in one variant, e.g. a TTS mode)."""

    id: str  # stable, e.g. "MH-DELTA-002[chain-base64-ordered]"
    title: str
    clause: str  # the requirement sentence
    level: Level
    area: str
    source: str  # where the clause comes from: a seed, or a PROTOCOLS.md [default]
    run: CaseFunction
    params: Mapping[str, Any] = field(default_factory=dict)
    requires: Mapping[str, Any] = field(default_factory=dict)  # capability -> value needed


@dataclass(slots=True, kw_only=True)
class CaseResult:
    """What one case found; reporters read only this (and never run a case)."""

    id: str
    title: str
    clause: str
    level: Level
    area: str
    source: str
    verdict: Verdict
    message: str = ""
    expected: str = ""
    observed: str = ""
    duration_s: float = 0.0
    transcript: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    audio: list[dict[str, Any]] = field(default_factory=list)  # {label, format, path, ms}
    baseline: str = ""  # "expected-failure" or "fixed" when the profile lists the case
    rerun: str = ""
