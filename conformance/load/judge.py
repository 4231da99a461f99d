"""Judge a played turn with the catalogue's own cases, through the one case executor.

Each case runs as under `conformance run` (`engine.executor.execute`), over a context whose
scenarios are the turn's values: `ctx.scenario(key)` returns what the turn played instead of
running an exchange, so the checks are the very functions of the catalogue. A case that asks
for an exchange the turn did not play is a harness error (the plug-in listed a case that does
not judge one turn).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from conformance.engine.context import CaseContext, Env, Recorder, ScenarioCache
from conformance.engine.executor import case_deadline, execute, missing_capability
from conformance.engine.model import HarnessError, Level, Verdict
from conformance.profiles import Profile
from conformance.protocols.load import Played, TurnResult, TurnViolation

__all__ = ["judge"]

T = TypeVar("T")

# The level a violation was judged at, read back from its verdict.
_LEVELS = {
    Verdict.FAILED: Level.MUST,
    Verdict.NON_STRICT: Level.SHOULD,
    Verdict.INFORMATIONAL: Level.MAY,
}


@dataclass(slots=True, kw_only=True)
class _TurnContext(CaseContext):
    """A case's context whose scenarios are one played turn's values."""

    played: Mapping[str, Any] = field(default_factory=dict)

    async def scenario(self, key: str, run: Callable[[Env], Awaitable[T]]) -> T:
        if key not in self.played:
            raise HarnessError(
                f"{self.case.id} asks for the exchange {key!r}, which the load turn does not "
                "play (the plug-in's load script lists a case that judges another exchange)"
            )
        return cast(T, self.played[key])


async def judge(played: Played, result: TurnResult, *, url: str, profile: Profile) -> None:
    """Run the turn's cases over its values; violations, blocked cases and errors go into
    `result`, with the turn's wire log when anything broke."""
    scenarios = ScenarioCache()
    for case in played.cases:
        if missing_capability(case, profile):
            continue  # UNSUPPORTED: the profile says the server lacks it; never a violation
        ctx = _TurnContext(
            url=url,
            profile=profile,
            recorder=Recorder(),
            report_dir=Path("."),
            where=f"{result.session} turn {result.index}",
            case=case,
            scenarios=scenarios,
            played=played.scenarios,
        )
        judged = await execute(ctx, deadline=case_deadline(case, profile))
        if judged.verdict in _LEVELS:
            result.judged += 1
            result.violations.append(
                TurnViolation(
                    case=case.id,
                    level=_LEVELS[judged.verdict],
                    clause=case.clause,
                    message=judged.message,
                    expected=judged.expected,
                    observed=judged.observed,
                )
            )
        elif judged.verdict in (Verdict.UNSUPPORTED, Verdict.BLOCKED):
            result.blocked += 1
        elif judged.verdict is Verdict.ERROR:
            result.judged += 1
            result.error = result.error or f"{case.id}: {judged.message}"
        else:
            result.judged += 1
    if result.violations or result.error:
        result.transcript = played.transcript
