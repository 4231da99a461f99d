"""The one case executor: a case, its context and deadline in; a verdict with its wire log out.

Every mode calls it (`conformance run` and `fuzz` through the pytest plugin, load mode's
judge), so an outcome means the same everywhere: a `Violation` is the verdict of its level,
`Unsupported` UNSUPPORTED, `Blocked` BLOCKED, `HarnessError` (a `TransportError` is one) and
any other exception ERROR (the harness's or the network's fault, never the server's), and a
deadline passed ERROR naming the deadline.
"""

from __future__ import annotations

import asyncio
import time

from conformance.engine.context import CaseContext, exchange_seconds
from conformance.engine.model import (
    Blocked,
    Case,
    CaseResult,
    HarnessError,
    Unsupported,
    Verdict,
    Violation,
    verdict_for,
)
from conformance.engine.transcript import wire_log
from conformance.profiles import Profile

__all__ = ["CASE_EXCHANGES", "case_deadline", "execute", "missing_capability", "result_of"]

# A case's deadline, in exchanges' worth of the profile's timeouts (a case may use several
# scenarios and run exchanges of its own); a fuzz case adds its budget twice (generation, then
# shrinking) and a witness turn.
CASE_EXCHANGES = 4


def case_deadline(case: Case, profile: Profile, fuzz_seconds: float = 0.0) -> float:
    """The longest the case may take."""
    exchange = exchange_seconds(profile)
    return CASE_EXCHANGES * exchange + (2 * fuzz_seconds + exchange if case.area == "fuzz" else 0.0)


def missing_capability(case: Case, profile: Profile) -> str:
    """Why the profile's capabilities lack what the case needs; "" when they have it."""
    capabilities = profile.section("capabilities")
    for name, needed in case.requires.items():
        offered = capabilities.get(name)
        if not (needed in offered if isinstance(offered, list) else offered == needed):
            return f"the profile's capabilities.{name} is {offered!r}; the case needs {needed!r}"
    return ""


def result_of(case: Case, rerun: str = "") -> CaseResult:
    """A case's result before it runs: PASS until something says otherwise."""
    return CaseResult(
        id=case.id,
        title=case.title,
        clause=case.clause,
        level=case.level,
        area=case.area,
        source=case.source,
        verdict=Verdict.PASS,
        rerun=rerun,
    )


async def execute(
    ctx: CaseContext,
    *,
    deadline: float,
    budget_left: float | None = None,
    budget: str = "",
    rerun: str = "",
) -> CaseResult:
    """Run `ctx.case` within `deadline` (and what is left of the run's budget, `budget` naming
    it for the message) and map its outcome to a verdict, with the wire log of the case and of
    the scenarios it used."""
    case = ctx.case
    result = result_of(case, rerun)
    missing = missing_capability(case, ctx.profile)
    if missing:
        result.verdict, result.message = Verdict.UNSUPPORTED, missing
        return result
    limit = deadline if budget_left is None else min(deadline, budget_left)
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit) as clock:
            await case.run(ctx)
    except TimeoutError as exc:
        result.verdict = Verdict.ERROR
        if not clock.expired():
            result.message = f"harness bug: TimeoutError: {exc}"
        elif limit < deadline:
            result.message = f"unfinished: the run's budget{budget} ran out during this case"
        else:
            result.message = (
                f"unfinished: the case did not end within its deadline of {deadline:g} s "
                "(derived from the profile's timeouts); every wait has its own timeout, so "
                "a suite fault, not the server's"
            )
    except Violation as violation:
        result.verdict = verdict_for(violation.level or case.level)
        result.message = violation.message
        result.expected, result.observed = violation.expected, violation.observed
    except Unsupported as exc:
        result.verdict, result.message = Verdict.UNSUPPORTED, str(exc)
    except Blocked as exc:
        result.verdict, result.message = Verdict.BLOCKED, f"not judged: {exc}"
    except HarnessError as exc:
        result.verdict, result.message = Verdict.ERROR, f"harness or network: {exc}"
    except Exception as exc:  # a bug of the suite: never the server's violation
        result.verdict = Verdict.ERROR
        result.message = f"harness bug: {type(exc).__name__}: {exc}"
    else:
        result.message = "the server meets the clause"
    result.duration_s = time.monotonic() - started
    _attach(result, ctx)
    return result


def _attach(result: CaseResult, ctx: CaseContext) -> None:
    """The wire log, latencies, notes and audio of the case and of the scenarios it used."""
    seen: set[int] = set()
    for label, recorder in [("", ctx.recorder), *ctx.used]:
        if id(recorder) in seen:
            continue
        seen.add(id(recorder))
        result.transcript.extend(wire_log(recorder.transcript, label))
        result.latencies_ms.update({k: round(v, 1) for k, v in recorder.latencies_ms.items()})
        result.notes.extend(recorder.notes)
        result.audio.extend(a for a in recorder.audio if a not in result.audio)
        result.rerun = recorder.rerun or result.rerun
