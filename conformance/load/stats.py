"""What a load run measured: latencies, throughput, the clauses broken, the errors.

Turns are folded in as they end (`Stats.add`); nothing of a turn is kept but its latencies and,
for the first few turns that broke each clause or failed each way, its wire log as an example.
Percentiles are nearest-rank: p95 is a latency that 95% of the turns did not exceed.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.model import Level, verdict_for
from conformance.engine.transcript import wire_log
from conformance.protocols.load import FIRST_AUDIO, TurnResult

__all__ = ["PERCENTILES", "ClauseCount", "ErrorCount", "Progress", "Stats", "percentile", "summary"]

PERCENTILES = (50, 90, 95, 99, 99.9)
EXAMPLES = 3  # wire logs kept per clause and per error
_ERROR_KINDS = 50  # distinct error messages kept; more are counted as "other"
_WINDOW_S = 5.0  # the live display's throughput window


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted values; None for none."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Count, min, mean, max and the percentiles of latencies in ms (rounded to 0.1 ms)."""
    ordered = sorted(values)
    figures: dict[str, Any] = {"count": len(ordered)}
    if not ordered:
        return figures
    figures["min"] = round(ordered[0], 1)
    figures["mean"] = round(sum(ordered) / len(ordered), 1)
    for p in PERCENTILES:
        figures[f"p{p:g}"] = round(percentile(ordered, p) or 0.0, 1)
    figures["max"] = round(ordered[-1], 1)
    return figures


def _example(result: TurnResult, **fields: Any) -> dict[str, Any]:
    return {
        "session": result.session,
        "turn": result.index,
        "at_s": round(result.at, 3),
        **fields,
        "transcript": wire_log(result.transcript) if result.transcript is not None else [],
    }


@dataclass(slots=True, kw_only=True)
class ClauseCount:
    """A clause broken under load: how often, in how many turns, and a few examples."""

    case: str
    level: Level
    clause: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.case,
            "level": self.level.value,
            "verdict": verdict_for(self.level).value,
            "clause": self.clause,
            "turns": self.count,
            "examples": self.examples,
        }


@dataclass(slots=True, kw_only=True)
class ErrorCount:
    message: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """What the live display shows."""

    elapsed_s: float
    sessions: int
    turns: int
    turns_per_s: float
    failures: int
    errors: int
    first_audio_p50: float | None
    first_audio_p95: float | None


def _kind(message: str) -> str:
    """An error message without the session's name, so that like errors count together."""
    return re.sub(r"session-\d+", "session-N", message)[:300]


@dataclass(slots=True)
class Stats:
    """Everything a load run's reports need, folded in turn by turn."""

    turns: int = 0
    failed: int = 0  # turns that broke a MUST clause
    errored: int = 0  # turns that ended in ERROR
    judged: int = 0  # cases run over turns (a turn judged by 30 cases counts 30)
    blocked: int = 0  # cases not judged because another's failure took what they need
    sessions: int = 0  # open now
    sessions_opened: int = 0
    last_at: float = 0.0  # when the last turn ended, seconds since the run began
    latencies: dict[str, list[float]] = field(default_factory=dict)
    # (when the turn ended, its latencies, failed, errored): the latency-over-time plot
    timeline: list[tuple[float, dict[str, float], bool, bool]] = field(default_factory=list)
    clauses: dict[str, ClauseCount] = field(default_factory=dict)
    errors: dict[str, ErrorCount] = field(default_factory=dict)
    # how late the generator's loop woke a 100 ms sleeper, ms: its own health under load
    loop_lag_ms: list[float] = field(default_factory=list)
    _recent: deque[float] = field(default_factory=deque)

    def add(self, result: TurnResult, ended_at: float) -> None:
        self.turns += 1
        self.last_at = max(self.last_at, ended_at)
        self._recent.append(ended_at)
        self.judged += result.judged
        self.blocked += result.blocked
        if result.failed:
            self.failed += 1
        for name, ms in result.latencies_ms.items():
            self.latencies.setdefault(name, []).append(ms)
        self.timeline.append(
            (ended_at, dict(result.latencies_ms), result.failed, bool(result.error))
        )
        for violation in {v.case: v for v in result.violations}.values():
            count = self.clauses.get(violation.case)
            if count is None:
                count = self.clauses[violation.case] = ClauseCount(
                    case=violation.case, level=violation.level, clause=violation.clause
                )
            count.count += 1
            if len(count.examples) < EXAMPLES:
                count.examples.append(
                    _example(
                        result,
                        message=violation.message,
                        expected=violation.expected,
                        observed=violation.observed,
                    )
                )
        if result.error:
            self.errored += 1
            kind = _kind(result.error)
            if kind not in self.errors and len(self.errors) >= _ERROR_KINDS:
                kind = "other errors"
            error = self.errors.setdefault(kind, ErrorCount(message=kind))
            error.count += 1
            if len(error.examples) < EXAMPLES:
                error.examples.append(_example(result, message=result.error))

    def progress(self, now: float) -> Progress:
        """The live figures at `now` (seconds since the run began)."""
        while self._recent and self._recent[0] < now - _WINDOW_S:
            self._recent.popleft()
        first = sorted(self.latencies.get(FIRST_AUDIO, []))
        return Progress(
            elapsed_s=now,
            sessions=self.sessions,
            turns=self.turns,
            turns_per_s=len(self._recent) / min(_WINDOW_S, max(now, 1e-3)),
            failures=self.failed,
            errors=self.errored,
            first_audio_p50=percentile(first, 50),
            first_audio_p95=percentile(first, 95),
        )

    def violations(self) -> list[dict[str, Any]]:
        """Each clause broken, most often broken first (MUST before SHOULD before MAY)."""
        levels = list(Level)
        ordered = sorted(self.clauses.values(), key=lambda c: (levels.index(c.level), -c.count))
        return [c.record() for c in ordered]

    def latency_figures(self) -> dict[str, dict[str, Any]]:
        return {name: summary(values) for name, values in sorted(self.latencies.items())}

    def failures_by_level(self) -> Mapping[str, int]:
        counts = {level.value: 0 for level in Level}
        for clause in self.clauses.values():
            counts[clause.level.value] += clause.count
        return counts
