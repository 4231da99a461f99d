"""What a case runs with: the target, its profile, recorders, shared scenarios, and checks.

A scenario is an expensive exchange several cases judge (one turn in one TTS mode, say). It
runs once per run, the first time a case asks for it, with a recorder of its own; every case
that uses it shows its wire log. A scenario records what the server did and never judges.

Every wait of a client has its own timeout; on top, a scenario has a deadline of a few
exchanges' worth of the profile's timeouts (`exchange_seconds`), so that no sum of waits can
hang a run. A prerequisite the server failed in one exchange (it never answered a valid
session.update, say) is remembered for the run (`Env.broken`): later exchanges that need it
are BLOCKED at once instead of each waiting out the same timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from conformance.engine.model import Blocked, Case, HarnessError, Level, Unsupported, Violation
from conformance.engine.transcript import Transcript
from conformance.profiles import Profile, Timeouts

__all__ = [
    "SCENARIO_EXCHANGES",
    "CaseContext",
    "Env",
    "Recorder",
    "ScenarioCache",
    "exchange_seconds",
]

# A scenario's deadline, in exchanges' worth of the profile's timeouts (some run two turns).
SCENARIO_EXCHANGES = 3


def exchange_seconds(profile: Profile) -> float:
    """The longest one exchange may take: the sum of the profile's timeouts."""
    return float(sum(profile.timeouts))


T = TypeVar("T")


@dataclass(slots=True)
class Recorder:
    """The wire log and measurements of one case or scenario."""

    transcript: Transcript = field(default_factory=Transcript)
    latencies_ms: dict[str, float] = field(default_factory=dict)
    audio: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rerun: str = ""  # a better rerun command than the case's own (a fuzz finding's replay)


@dataclass(slots=True, kw_only=True)
class Env:
    """The target and where to record: all a protocol's client needs to talk to it."""

    url: str
    profile: Profile
    recorder: Recorder
    report_dir: Path
    where: str = ""  # the case or scenario this exchange belongs to, for messages
    # prerequisites the server failed earlier in the run, with why (shared by the whole run)
    broken: dict[str, str] = field(default_factory=dict)

    @property
    def timeouts(self) -> Timeouts:
        """The profile's timeouts, typed: `env.timeouts.turn`."""
        return self.profile.timeouts

    def prerequisite(self, name: str) -> None:
        """Blocked when an earlier exchange of the run found the server failing `name`."""
        if name in self.broken:
            raise Blocked(self.broken[name])

    def broke(self, name: str, why: str) -> None:
        """The server failed prerequisite `name`; later exchanges needing it are BLOCKED."""
        self.broken.setdefault(name, f"{why} (in {self.where or 'an earlier exchange'})")


@dataclass(slots=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    recorder: Recorder = field(default_factory=Recorder)
    seconds: float = 0.0
    task: asyncio.Future[None] | None = None  # the exchange, while it runs


@dataclass(slots=True)
class ScenarioCache:
    """Scenario outcomes of one run, by key."""

    outcomes: dict[str, _Outcome] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class CaseContext(Env):
    """A case's view: its own recorder, the scenarios it used, and the ways to judge."""

    case: Case
    scenarios: ScenarioCache
    options: dict[str, Any] = field(default_factory=dict)  # run options (a fuzz budget)
    used: list[tuple[str, Recorder]] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.case.params)

    async def scenario(self, key: str, run: Callable[[Env], Awaitable[T]]) -> T:
        """Run `run` once per run under `key`; later cases get the same outcome. Cases running
        side by side that ask for the same key while it runs wait for that one exchange (it is
        a task of its own, so one case's deadline never cancels it for the others)."""
        outcome = self.scenarios.outcomes.get(key)
        if outcome is None:
            outcome = _Outcome()
            self.scenarios.outcomes[key] = outcome
            outcome.task = asyncio.ensure_future(self._play(key, run, outcome))
        if outcome.task is not None and not outcome.task.done():
            await asyncio.shield(outcome.task)
        self.used.append((key, outcome.recorder))
        if outcome.error is not None:
            raise outcome.error
        result: T = outcome.value
        return result

    async def _play(
        self, key: str, run: Callable[[Env], Awaitable[Any]], outcome: _Outcome
    ) -> None:
        env = Env(
            url=self.url,
            profile=self.profile,
            recorder=outcome.recorder,
            report_dir=self.report_dir,
            where=f"the exchange {key}",
            broken=self.broken,
        )
        started = time.monotonic()
        deadline = SCENARIO_EXCHANGES * exchange_seconds(self.profile)
        try:
            async with asyncio.timeout(deadline) as limit:
                outcome.value = await run(env)
        except TimeoutError as exc:
            outcome.error = (
                HarnessError(
                    f"the exchange {key} did not end within its deadline of {deadline:g} s "
                    f"({SCENARIO_EXCHANGES} x the profile's timeouts): every wait has its own "
                    "timeout, so a suite fault"
                )
                if limit.expired()
                else exc
            )
        except Exception as exc:  # kept, so every case that needs it reports the same
            outcome.error = exc
        except asyncio.CancelledError:  # the run ended (Ctrl-C): no case may wait on it
            outcome.error = HarnessError(f"the exchange {key} was cancelled: the run ended")
            raise
        finally:
            outcome.seconds = time.monotonic() - started

    # --- judging ---------------------------------------------------------------------------

    def fail(
        self, message: str, *, expected: str, observed: str, level: Level | None = None
    ) -> NoReturn:
        raise Violation(message, expected=expected, observed=observed, level=level)

    def check(
        self,
        holds: bool,
        message: str,
        *,
        expected: str,
        observed: str,
        level: Level | None = None,
    ) -> None:
        if not holds:
            self.fail(message, expected=expected, observed=observed, level=level)

    def unsupported(self, reason: str) -> NoReturn:
        raise Unsupported(reason)

    def blocked(self, reason: str) -> NoReturn:
        """Not judged: another case's failure (named in `reason`) took what this one needs."""
        raise Blocked(reason)

    def harness(self, reason: str) -> NoReturn:
        raise HarnessError(reason)

    def note(self, text: str) -> None:
        self.recorder.notes.append(text)
