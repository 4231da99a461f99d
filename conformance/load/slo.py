"""The profile's service-level objectives (`slo:`), each judged over a load run's figures.

Keys (the profile schema states them): `<latency>_p<percentile>_ms` (the percentile of that
latency must not exceed the value), `error_rate` (the share of turns that ended in ERROR must
not exceed it), `min_turns_per_s` (the run's throughput must reach it). An objective whose
figure was never measured (no turn reached first audio, say) is FAILED: nothing met it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.load.stats import Stats, percentile

__all__ = ["SloVerdict", "evaluate"]

_LATENCY = re.compile(r"^(?P<latency>[a-z][a-z_]*)_p(?P<p>50|90|95|99|99\.9)_ms$")


@dataclass(frozen=True, slots=True, kw_only=True)
class SloVerdict:
    name: str
    objective: float
    measured: float | None
    passed: bool
    message: str

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "objective": self.objective,
            "measured": None if self.measured is None else round(self.measured, 4),
            "verdict": "PASS" if self.passed else "FAILED",
            "message": self.message,
        }


def _judged(
    name: str, objective: float, measured: float | None, what: str, at_most: bool
) -> SloVerdict:
    if measured is None:
        return SloVerdict(
            name=name,
            objective=objective,
            measured=None,
            passed=False,
            message=f"{what}: not measured (no turn gave one)",
        )
    passed = measured <= objective if at_most else measured >= objective
    relation = ("≤" if passed else ">") if at_most else ("≥" if passed else "<")
    return SloVerdict(
        name=name,
        objective=objective,
        measured=measured,
        passed=passed,
        message=f"{what} {measured:g} {relation} {objective:g}",
    )


def evaluate(slo: Mapping[str, Any], stats: Stats, duration_s: float) -> list[SloVerdict]:
    """A verdict per objective, in the profile's order."""
    verdicts = []
    for name, value in slo.items():
        objective = float(value)
        latency = _LATENCY.match(name)
        if latency is not None:
            values = sorted(stats.latencies.get(latency["latency"], []))
            p = float(latency["p"])
            measured = percentile(values, p)
            what = f"{latency['latency']} p{p:g} (ms, {len(values)} turns)"
            verdicts.append(
                _judged(
                    name, objective, None if measured is None else round(measured, 1), what, True
                )
            )
        elif name == "error_rate":
            rate = stats.errored / stats.turns if stats.turns else None
            what = f"error rate ({stats.errored} of {stats.turns} turns ended in ERROR)"
            verdicts.append(_judged(name, objective, rate, what, True))
        elif name == "min_turns_per_s":
            rate = stats.turns / duration_s if stats.turns and duration_s > 0 else None
            what = f"throughput (turns/s over {duration_s:.1f} s)"
            verdicts.append(
                _judged(name, objective, None if rate is None else round(rate, 2), what, False)
            )
        else:  # the profile schema refuses any other key; a guard for a caller that did not
            raise ValueError(f"unknown SLO {name!r}")
    return verdicts
