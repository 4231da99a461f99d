"""Fuzz cases, protocol-agnostic: run a strategy or a state machine within the run's budget,
save the minimal failure as a finding, and fail the case with it. A protocol supplies the
strategies, the oracle of one step (`Judge`), a witness session and its state machine.

A judge returns a `Judgement` per example (None: it passed). The case's verdict: FAILED for a
MUST-level break (its minimal example saved as a finding) or a witness that heard something;
else NON-STRICT when some example was leniently accepted (SHOULD); else PASS. Every reason
below MUST is in the case's notes (a bounded tally), and the NON-STRICT ones in its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from hypothesis.strategies import SearchStrategy

from conformance.engine.context import CaseContext, Env, Recorder
from conformance.engine.model import HarnessError, Level
from conformance.fuzz.findings import Finding, Step, save_finding
from conformance.fuzz.judgement import Judgement, Tally, broken
from conformance.fuzz.runner import Budget, Clock, Culprit, LoopBridge, fuzz, replay_rules
from conformance.hosting import reachable

__all__ = ["Judge", "MachineFactory", "Witness", "budget", "fuzz_machine", "fuzz_steps", "replay"]

T = TypeVar("T")
Judge = Callable[[Env, Step], Coroutine[Any, Any, Judgement | None]]
Witness = Callable[[Env, asyncio.Event], Coroutine[Any, Any, str | None]]
MachineFactory = Callable[[Env, LoopBridge, Clock], type[Any]]


def budget(ctx: CaseContext) -> Budget:
    """The run's budget: --max-examples/--max-time/--seed, else the hypothesis profile's."""
    options = ctx.options
    return Budget(
        max_examples=int(options.get("max_examples") or _profile_examples()),
        max_time=float(options.get("max_time") or 30.0),
        seed=int(options.get("seed") or 0),
    )


def _profile_examples() -> int:
    """max_examples of the hypothesis settings profile in force (`--hypothesis-profile`)."""
    current = settings.default
    return current.max_examples if current is not None else 100


async def _in_thread(work: Callable[[LoopBridge], T]) -> T:
    bridge = LoopBridge(asyncio.get_running_loop())
    return await asyncio.to_thread(work, bridge)


def _env(ctx: CaseContext, *, quiet: bool = False) -> Env:
    # Quiet: the wire log of thousands of examples does not belong in a report.
    recorder = Recorder() if quiet else ctx.recorder
    return Env(url=ctx.url, profile=ctx.profile, recorder=recorder, report_dir=ctx.report_dir)


def _surviving(judge: Judge) -> Judge:
    """The judge, and then whether the server is still there. A server reachable before a step
    and unreachable after it was killed by it: the most severe robustness failure, and that
    step is the finding. A death noticed only when the next step cannot connect names the
    step before (`Culprit`); a server never reached is the harness's ERROR as before."""
    previous: list[Step] = []
    alive = [False]  # the server answered a probe once: only then can a step kill it

    async def gone(env: Env) -> str | None:
        problem = await _gone(env)
        alive[0] = alive[0] or problem is None
        return problem if alive[0] else None

    async def judged(env: Env, step: Step) -> Judgement | None:
        try:
            verdict = await judge(env, step)
        except HarnessError as exc:
            if previous and await gone(env):
                raise Culprit(
                    previous[-1], f"the server was gone after {_label(previous[-1])}: {exc}"
                ) from None
            raise
        previous[:] = [step]
        if (verdict is None or not verdict.breaks) and (problem := await gone(env)):
            return broken(f"the server was gone after {_label(step)}: {problem}")
        return verdict

    return judged


async def _gone(env: Env) -> str | None:
    """Why the target cannot be reached now, or None."""
    return await asyncio.to_thread(reachable, env.url, env.timeouts.connect)


def _label(step: Step) -> str:
    return step.label or step.event


def _progress(case_id: str, examples: int, found: bool) -> None:
    """A line on the terminal while a fuzz case runs (pytest captures the case's own output)."""
    if sys.__stderr__ is None:
        return
    state = "a finding, shrinking" if found else "no finding yet"
    sys.__stderr__.write(f"\r  {case_id}: {examples} examples, {state}   ")
    sys.__stderr__.flush()


def _conclude(
    ctx: CaseContext,
    oracle: str,
    examples: str,
    tally: Tally,
    finding: Finding | None,
    witnessed: str | None = None,
) -> None:
    """The case's verdict from what the fuzzing found (module docstring); notes first."""
    for line in tally.lines():
        ctx.note(line)
    lenient = tally.brief(Level.SHOULD)
    if finding is not None:
        if witnessed is not None:
            ctx.note(f"and the witness session: {witnessed}")
        path = save_finding(finding, ctx.report_dir / "findings")
        ctx.recorder.rerun = f"conformance replay {path}" + (f" --url {ctx.url}" if ctx.url else "")
        ctx.note(f"the minimal sequence is saved in {path}")
        steps = [s.label or f"{s.event} {s.args!r}" for s in finding.steps] or [
            f"{r['rule']} { ({k: v for k, v in r.items() if k != 'rule'} or '') }".strip()
            for r in finding.rules
        ]
        ctx.fail(
            finding.message + (f"; besides, leniently accepted: {lenient}" if lenient else ""),
            expected=finding.oracle,
            observed=" → ".join(steps) + f"  (seed {finding.seed})",
        )
    if witnessed is not None:
        ctx.fail(
            witnessed + (f"; besides, leniently accepted: {lenient}" if lenient else ""),
            expected="nothing reaches another session; its turn completes",
            observed=witnessed,
        )
    if lenient:
        ctx.fail(
            f"leniently accepted (at most NON-STRICT): {lenient}",
            expected=oracle,
            observed=f"{lenient} ({examples})",
            level=Level.SHOULD,
        )


async def fuzz_steps(
    ctx: CaseContext,
    strategy: SearchStrategy[Step],
    judge: Judge,
    oracle: str,
    *,
    witness: Witness | None = None,
) -> None:
    """Judge examples of `strategy`; with a witness, a concurrent session checked at the end."""
    plan = budget(ctx)
    surviving = _surviving(judge)
    fuzzing = asyncio.Event()
    watcher = asyncio.create_task(witness(_env(ctx), fuzzing)) if witness else None

    def work(bridge: LoopBridge) -> Any:
        return fuzz(
            strategy,
            lambda step: bridge.run(surviving(_env(ctx, quiet=True), step)),
            plan,
            progress=lambda o: _progress(ctx.case.id, o.examples, o.failing is not None),
        )

    try:
        outcome = await _in_thread(work)
    finally:
        fuzzing.set()
    witnessed = await watcher if watcher is not None else None
    examples = f"{outcome.examples} examples in {outcome.seconds:.1f} s (seed {plan.seed})"
    ctx.note(examples)
    finding = None
    if outcome.failing is not None:
        # Replay the minimal example once more, recorded, so the report shows its wire log
        # (not when it killed the server: there is no one left to answer).
        try:
            await judge(_env(ctx), outcome.failing)
        except HarnessError:
            ctx.note("the server is gone: the finding's wire log could not be recorded again")
        finding = Finding(
            protocol=ctx.profile.protocol,
            target=ctx.case.id,
            oracle=oracle,
            message=outcome.message,
            steps=(outcome.failing,),
            seed=plan.seed,
            url=ctx.url,
        )
    _conclude(ctx, oracle, examples, outcome.tally, finding, witnessed)


async def fuzz_machine(ctx: CaseContext, factory: MachineFactory) -> None:
    """Run the protocol's state machine within the budget; the smallest failing sequence."""
    plan = budget(ctx)
    clock = Clock(plan.max_time)

    def work(bridge: LoopBridge) -> None:
        cls = factory(_env(ctx, quiet=True), bridge, clock)
        examples = max(2, plan.max_examples // 4)  # each example is a whole sequence of turns
        with contextlib.suppress(Exception):  # the clock keeps the smallest failure
            run_state_machine_as_test(
                cls,
                settings=settings(
                    max_examples=examples,
                    stateful_step_count=8,
                    database=None,
                    deadline=None,
                    print_blob=False,
                    derandomize=True,
                    report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck),
                ),
            )

    await _in_thread(work)
    seconds = time.monotonic() - clock.started
    examples = f"stateful sequences for {seconds:.1f} s (derandomized)"
    ctx.note(examples)
    oracle = "the state machine's invariants"
    finding = None
    if clock.failing is not None:
        finding = Finding(
            protocol=ctx.profile.protocol,
            target=ctx.case.id,
            oracle=oracle,
            message=clock.message,
            steps=(),
            seed=plan.seed,
            url=ctx.url,
            rules=tuple(clock.failing),
        )
    _conclude(ctx, oracle, examples, clock.tally, finding)


async def replay(finding: Finding, env: Env, judge: Judge, factory: MachineFactory) -> str | None:
    """Rerun a finding's steps (or rule sequence) and judge them again: the reason of a
    MUST-level break, or None when fixed (a lenient acceptance or a refusal breaks nothing)."""
    judge = _surviving(judge)
    for step in finding.steps:
        judged = await judge(env, step)
        if judged is not None and judged.breaks:
            return judged.reason
    if not finding.rules:
        return None

    def work(bridge: LoopBridge) -> str | None:
        try:
            replay_rules(factory(env, bridge, Clock(3600.0)), [dict(r) for r in finding.rules])
        except AssertionError as broken:
            return str(broken)
        return None

    return await _in_thread(work)
