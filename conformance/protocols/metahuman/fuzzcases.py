"""The MetaHuman fuzz catalogue: what `conformance fuzz` runs, as cases of their own."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env, Recorder
from conformance.engine.model import Level
from conformance.fuzz.findings import Finding, save_finding
from conformance.fuzz.runner import Budget, LoopBridge, fuzz
from conformance.protocols.metahuman import fuzz as strategies
from conformance.protocols.metahuman.machine import Clock, machine, replay_rules

__all__ = ["FUZZ_CATALOGUE", "budget", "replay"]

FUZZ_CATALOGUE = Catalogue()
DEFAULT = "PROTOCOLS.md §1 [default] custom.error catalogue"
T = TypeVar("T")


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


def _report(ctx: CaseContext, finding: Finding) -> None:
    path = save_finding(finding, ctx.report_dir / "findings")
    ctx.recorder.rerun = f"conformance replay {path}" + (f" --url {ctx.url}" if ctx.url else "")
    ctx.note(f"the minimal sequence is saved in {path}")
    steps = [s.label or f"{s.event} {s.args!r}" for s in finding.steps] or [
        f"{r['rule']} { ({k: v for k, v in r.items() if k != 'rule'} or '') }".strip()
        for r in finding.rules
    ]
    ctx.fail(
        finding.message,
        expected=finding.oracle,
        observed=" → ".join(steps) + f"  (seed {finding.seed})",
    )


async def _fuzz_steps(ctx: CaseContext, strategy: Any, oracle: str, *, witness: bool) -> None:
    plan = budget(ctx)
    env = Env(url=ctx.url, profile=ctx.profile, recorder=ctx.recorder, report_dir=ctx.report_dir)
    fuzzing = asyncio.Event()
    watcher = asyncio.create_task(strategies.witness(env, fuzzing)) if witness else None

    def work(bridge: LoopBridge) -> Any:
        return fuzz(
            strategy,
            lambda step: bridge.run(strategies.judge_step(_quiet(env), step)),
            plan,
            progress=lambda o: _progress(ctx.case.id, o.examples, o.failing is not None),
        )

    outcome = await _in_thread(work)
    fuzzing.set()
    ctx.note(f"{outcome.examples} examples in {outcome.seconds:.1f} s (seed {plan.seed})")
    if outcome.failing is not None:
        # Replay the minimal example once more, recorded, so the report shows its wire log.
        await strategies.judge_step(env, outcome.failing)
        finding = Finding(
            protocol="metahuman",
            target=ctx.case.id,
            oracle=oracle,
            message=outcome.message,
            steps=(outcome.failing,),
            seed=plan.seed,
            url=ctx.url,
        )
        _report(ctx, finding)
    if watcher is not None:
        problem = await watcher
        if problem is not None:
            ctx.fail(
                problem,
                expected="nothing reaches another session; its turn completes",
                observed=problem,
            )


def _progress(case_id: str, examples: int, found: bool) -> None:
    """A line on the terminal while a fuzz case runs (pytest captures the case's own output)."""
    if sys.__stderr__ is None:
        return
    state = "a finding, shrinking" if found else "no finding yet"
    sys.__stderr__.write(f"\r  {case_id}: {examples} examples, {state}   ")
    sys.__stderr__.flush()


def _quiet(env: Env) -> Env:
    """An Env whose wire log is thrown away: thousands of examples do not belong in a report."""
    return Env(url=env.url, profile=env.profile, recorder=Recorder(), report_dir=env.report_dir)


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-001",
    title="Valid client messages are accepted",
    clause="A schema-valid session.update (any provider, model, voice, response type and flags) "
    "gets session.updated, or a schema-valid error only for a TTS mode the profile says is "
    "unsupported; a valid chunk is accepted.",
    level=Level.MUST,
    area="fuzz",
    source="schemas/metahuman/messages/session.update.schema.json; seed 000 session.updated",
)
async def positive(ctx: CaseContext) -> None:
    await _fuzz_steps(ctx, strategies.positive_steps(), "valid input is accepted", witness=False)


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-002",
    title="Malformed input gets an error event, and nothing breaks",
    clause="Each malformed message (missing fields, wrong types, values outside enumerations, "
    "oversized or deeply nested payloads, bad base64, bytes that are not audio, empty chunks, "
    "no payload, unknown events) gets a schema-valid error event; the connection stays usable; "
    "a concurrent session is unaffected.",
    level=Level.MUST,
    area="fuzz",
    source=DEFAULT,
)
async def negative(ctx: CaseContext) -> None:
    base = dict(ctx.profile.section("session_update"))
    oracle = "a schema-valid error event; the connection stays usable"
    await _fuzz_steps(ctx, strategies.negative_steps(base), oracle, witness=True)


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-003",
    title="The protocol's invariants hold in any order of events",
    clause="In any sequence of updates, appends (any chunking), commits, Receiver joins and "
    "leaves and Sender reconnects: every commit gets one transcription or one error, every "
    "delta stream completes, and nothing reaches another session.",
    level=Level.MUST,
    area="fuzz",
    source="PROTOCOLS.md §1 Operations and [default] readings",
)
async def stateful(ctx: CaseContext) -> None:
    plan = budget(ctx)
    clock = Clock(plan.max_time)
    env = Env(url=ctx.url, profile=ctx.profile, recorder=ctx.recorder, report_dir=ctx.report_dir)

    def work(bridge: LoopBridge) -> None:
        cls = machine(_quiet(env), bridge, clock)
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
    ctx.note(f"stateful sequences for {seconds:.1f} s (derandomized)")
    if clock.failing is not None:
        finding = Finding(
            protocol="metahuman",
            target=ctx.case.id,
            oracle="the state machine's invariants",
            message=clock.message,
            steps=(),
            seed=plan.seed,
            url=ctx.url,
            rules=tuple(clock.failing),
        )
        _report(ctx, finding)


async def replay(finding: Finding, env: Env) -> str | None:
    """Rerun a finding's steps (or rule sequence) and judge them again; None when fixed."""
    for step in finding.steps:
        problem = await strategies.judge_step(env, step)
        if problem is not None:
            return problem
    if not finding.rules:
        return None

    def work(bridge: LoopBridge) -> str | None:
        try:
            replay_rules(machine(env, bridge), [dict(r) for r in finding.rules])
        except AssertionError as broken:
            return str(broken)
        return None

    return await _in_thread(work)
