"""Hypothesis over a live server: a budget in examples and seconds, and the minimal failure.

Hypothesis calls synchronous code; the server is talked to by coroutines. A case runs its
fuzzing in a worker thread and `LoopBridge` hands each coroutine back to the case's loop.
Each example is judged by `check`, which returns None (it passed) or a `Judgement`. Only a
MUST-level judgement is a failure: hypothesis shrinks it, and the last failing call it makes is
the minimal one. Lower levels (lenient acceptance, a refusal of a valid request) are tallied,
bounded, and never shrunk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis.strategies import SearchStrategy

from conformance.fuzz.judgement import Judgement, Tally

__all__ = ["Budget", "Clock", "FuzzOutcome", "LoopBridge", "ProtocolBroken", "fuzz", "replay_rules"]

T = TypeVar("T")


class LoopBridge:
    """Run coroutines on a running event loop from another thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """How much fuzzing: examples, seconds (generation stops; shrinking gets as much again)."""

    max_examples: int = 25
    max_time: float = 30.0
    seed: int = 0


@dataclass(slots=True)
class FuzzOutcome(Generic[T]):
    examples: int = 0
    seconds: float = 0.0
    failing: T | None = None
    message: str = ""
    tally: Tally = field(default_factory=Tally)  # what broke nothing, while generating


class _Broken(Exception):
    """An example broke an oracle (hypothesis shrinks on it)."""


def fuzz(
    strategy: SearchStrategy[T],
    check: Callable[[T], Judgement | None],
    budget: Budget,
    progress: Callable[[FuzzOutcome[T]], None] | None = None,
) -> FuzzOutcome[T]:
    """Run `check` over examples of `strategy` within the budget; the minimal failure, if any."""
    outcome: FuzzOutcome[T] = FuzzOutcome()
    started = time.monotonic()
    generate_until = started + budget.max_time
    shrink_until = started + 2 * budget.max_time

    @settings(
        max_examples=budget.max_examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )
    @seeded(budget.seed)
    @given(strategy)
    def run(example: T) -> None:
        now = time.monotonic()
        if (outcome.failing is None and now > generate_until) or now > shrink_until:
            raise _OutOfBudget  # stops hypothesis at once (it would draw every example left)
        outcome.examples += 1
        if progress is not None and outcome.examples % 10 == 0:
            progress(outcome)
        judged = check(example)
        if judged is None:
            return
        if judged.breaks:
            outcome.failing, outcome.message = example, judged.reason
            raise _Broken(judged.reason)
        if outcome.failing is None:  # not while shrinking: those are variants of one example
            outcome.tally.add(judged)

    try:
        run()
    except (_Broken, _OutOfBudget):
        pass
    except Culprit as culprit:
        outcome.failing, outcome.message = culprit.example, culprit.message
    except Exception:
        # Out of time while shrinking, or a server that answers differently on replay
        # (hypothesis calls it flaky): the smallest failure seen so far is the finding.
        if outcome.failing is None:
            raise
    outcome.seconds = time.monotonic() - started
    return outcome


class Culprit(BaseException):
    """An earlier example is the finding, and nothing more can be tried (the server it killed
    is gone). A BaseException, so hypothesis neither shrinks it nor goes on."""

    def __init__(self, example: Any, message: str) -> None:
        super().__init__(message)
        self.example = example
        self.message = message


class _OutOfBudget(BaseException):
    """The budget ran out. A BaseException, so hypothesis neither records it as a failure nor
    shrinks it: it ends the run (as Ctrl-C would), and the smallest failure so far stands."""


class ProtocolBroken(AssertionError):
    """An invariant of a protocol state machine does not hold."""


class Clock:
    """The budget of a stateful run, and the smallest failing rule sequence seen so far.

    Out of budget, a machine's rules do nothing: hypothesis then sees passing sequences and
    stops. Rule steps are JSON ({"rule": name, **arguments}) so that a finding replays. What
    breaks nothing (lenient acceptance, a refusal) is `observe`d into the tally.
    """

    def __init__(self, max_time: float) -> None:
        self.started = time.monotonic()
        self.max_time = max_time
        self.failing: list[dict[str, Any]] | None = None
        self.message = ""
        self.tally = Tally()

    def observe(self, judgement: Judgement) -> None:
        if self.failing is None:  # not while shrinking
            self.tally.add(judgement)

    def active(self) -> bool:
        spent = time.monotonic() - self.started
        return spent < (2 if self.failing is not None else 1) * self.max_time

    def broken(self, steps: list[dict[str, Any]], message: str) -> ProtocolBroken:
        if self.failing is None or len(steps) <= len(self.failing):
            self.failing, self.message = list(steps), message
        return ProtocolBroken(message)


def replay_rules(cls: type[Any], rules: list[dict[str, Any]]) -> None:
    """Run recorded rule steps on a fresh state machine, in order (no hypothesis)."""
    instance = cls()
    try:
        for step in rules:
            getattr(instance, step["rule"])(**{k: v for k, v in step.items() if k != "rule"})
    finally:
        instance.teardown()
