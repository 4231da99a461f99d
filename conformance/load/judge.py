"""Judge a played turn with the catalogue's own cases.

Each case runs as under `conformance run`, over a context whose scenarios are the turn's
values: `ctx.scenario(key)` returns what the turn played instead of running an exchange, so
the checks are the very functions of the catalogue. A case that asks for an exchange the turn
did not play is a harness error (the plug-in listed a case that does not judge one turn).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from conformance.engine.context import CaseContext, Env, Recorder, ScenarioCache
from conformance.engine.model import Blocked, Case, HarnessError, Unsupported, Violation
from conformance.engine.transcript import Transcript, summarize
from conformance.load.model import Played, TurnResult, TurnViolation
from conformance.profiles import Profile

__all__ = ["judge", "missing_capability", "wire_log"]

T = TypeVar("T")


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


def missing_capability(case: Case, profile: Profile) -> str:
    """Why the profile's capabilities lack what the case needs; "" when they have it."""
    capabilities = profile.section("capabilities")
    for name, needed in case.requires.items():
        offered = capabilities.get(name)
        if not (needed in offered if isinstance(offered, list) else offered == needed):
            return f"capabilities.{name} is {offered!r}; the case needs {needed!r}"
    return ""


def wire_log(transcript: Transcript) -> list[dict[str, Any]]:
    """A transcript as report data: payloads summarized (bytes and long text by hash)."""
    return [
        {
            "at": round(e.at, 4),
            "socket": e.socket,
            "direction": e.direction.value,
            "event": e.event,
            "payload": summarize(list(e.args) if len(e.args) != 1 else e.args[0]),
        }
        for e in transcript.events
    ]


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
        result.judged += 1
        try:
            await case.run(ctx)
        except Violation as broken:
            result.violations.append(
                TurnViolation(
                    case=case.id,
                    level=broken.level or case.level,
                    clause=case.clause,
                    message=broken.message,
                    expected=broken.expected,
                    observed=broken.observed,
                )
            )
        except (Unsupported, Blocked):
            result.judged -= 1
            result.blocked += 1
        except HarnessError as exc:
            result.error = result.error or f"{case.id}: {exc}"
        except Exception as exc:  # as under `conformance run`: ERROR, never the server's fault
            result.error = result.error or f"{case.id}: {type(exc).__name__}: {exc}"
    if result.violations or result.error:
        result.transcript = played.transcript
