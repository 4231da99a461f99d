"""The fuzz runner, judgements and findings, without a server: seeds, budgets, shrinking only
on MUST-level breaks, verdicts of a fuzz case from its judgements, files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import strategies as st

from conformance import protocols
from conformance.engine.context import CaseContext, Env, Recorder, ScenarioCache
from conformance.engine.model import Case, Level, Verdict, Violation, verdict_for
from conformance.fuzz import (
    Budget,
    Finding,
    Judgement,
    Step,
    Tally,
    broken,
    cases,
    fuzz,
    lenient,
    load_finding,
    observed,
    save_finding,
    worst,
)
from conformance.profiles import load_profile
from conformance.protocols.metahuman.fuzz import negative_steps
from conformance.protocols.metahuman.plugin import PLUGIN


def test_same_seed_same_examples() -> None:
    """Two runs with one seed draw the same examples; another seed draws others."""
    base = dict(PLUGIN.builtin_profile()["session_update"])

    def drawn(seed: int) -> list[str]:
        seen: list[str] = []

        def record(step: Step) -> None:
            seen.append(step.label)

        fuzz(
            negative_steps(base),
            record,
            Budget(max_examples=15, seed=seed),
        )
        return seen

    assert drawn(7) == drawn(7)
    assert drawn(7) != drawn(8)


def test_failure_is_shrunk() -> None:
    """A MUST-level break is shrunk to the minimal example."""
    outcome = fuzz(
        st.integers(), lambda n: broken("too big") if n > 1000 else None, Budget(max_examples=200)
    )
    assert outcome.failing == 1001
    assert outcome.message == "too big"


def test_lower_levels_are_tallied_not_shrunk() -> None:
    """SHOULD and MAY judgements are no failure: nothing shrunk; counted, a few reasons kept."""
    judged: dict[int, Judgement | None] = {}

    def check(n: int) -> Judgement | None:
        judged[n] = (
            lenient(f"accepted {n % 7} leniently")
            if n % 2
            else observed(f"refused {n % 3}")
            if n % 3 == 0
            else None
        )
        return judged[n]

    outcome = fuzz(st.integers(), check, Budget(max_examples=100))
    assert outcome.failing is None
    assert outcome.message == ""
    should = outcome.tally.count(Level.SHOULD)
    assert should > 0
    assert should == sum(1 for j in judged.values() if j is not None and j.level is Level.SHOULD)
    assert 0 < len(outcome.tally.reasons[Level.SHOULD]) <= outcome.tally.keep
    assert outcome.tally.count(Level.MAY) > 0


def test_budget_in_seconds_stops_generation() -> None:
    """Past max_time no more examples are tried."""
    outcome = fuzz(st.integers(), lambda n: None, Budget(max_examples=10_000, max_time=0.2))
    assert outcome.examples < 10_000
    assert outcome.failing is None


def test_worst_and_tally() -> None:
    """The most severe judgement wins; a tally keeps counts and a bounded set of reasons."""
    assert worst(None, observed("a"), lenient("b"), None) == lenient("b")
    assert worst(lenient("b"), broken("c")) == broken("c")
    assert worst(None, None) is None
    tally = Tally(keep=2)
    for reason in ("x", "x", "y", "z", "w"):
        tally.add(lenient(reason))
    tally.add(observed("refused"))
    tally.add(broken("never a tally line"))
    assert tally.count(Level.SHOULD) == 5
    assert tally.count(Level.MUST) == 0
    assert tally.brief(Level.SHOULD) == "5 example(s): x; y …"
    assert [line.split(":")[0] for line in tally.lines()] == [
        "NON-STRICT (SHOULD), lenient",
        "noted (MAY), no violation",
    ]


def test_finding_round_trip(tmp_path: Path) -> None:
    """A saved finding loads back the same, bytes included."""
    finding = Finding(
        protocol="metahuman",
        target="MH-FUZZ-002",
        oracle="an error event",
        message="no custom.error",
        steps=(Step(event="input.buffer.append", args=(b"\x00\x01", {"a": [1]}), label="x"),),
        seed=3,
        url="http://127.0.0.1:1",
        rules=({"rule": "append", "cuts": [1, 2]},),
    )
    assert load_finding(save_finding(finding, tmp_path)) == finding


# --- a fuzz case's verdict from its judge --------------------------------------------------


async def _nothing(ctx: CaseContext) -> None:
    return None


def _context(tmp_path: Path) -> CaseContext:
    case = Case(
        id="XX-FUZZ-001",
        title="t",
        clause="c",
        level=Level.MUST,
        area="fuzz",
        source="s",
        run=_nothing,
    )
    return CaseContext(
        url="http://127.0.0.1:9",
        profile=load_profile(None, protocols.profile_of("metahuman")),
        recorder=Recorder(),
        report_dir=tmp_path,
        case=case,
        scenarios=ScenarioCache(),
        options={"max_examples": 30, "max_time": 10.0, "seed": 1},
    )


def _steps() -> st.SearchStrategy[Step]:
    return st.integers(0, 50).map(lambda n: Step(event="e", args=(n,), label=f"step {n}"))


def _verdict(ctx: CaseContext, judge: cases.Judge) -> tuple[Verdict, str]:
    """Run the fuzz case; its verdict as the plug-in computes it, and its message."""
    try:
        asyncio.run(cases.fuzz_steps(ctx, _steps(), judge, "the oracle"))
    except Violation as violation:
        return verdict_for(violation.level or ctx.case.level), violation.message
    return Verdict.PASS, ""


def test_lenient_acceptance_is_non_strict_without_finding(tmp_path: Path) -> None:
    """A judge that returns SHOULD for some examples: NON-STRICT, reasons in the notes and the
    message, and no finding saved."""
    ctx = _context(tmp_path)

    async def judge(env: Env, step: Step) -> Judgement | None:
        return lenient(f"accepted {step.label} leniently") if step.args[0] > 5 else None

    verdict, message = _verdict(ctx, judge)
    assert verdict is Verdict.NON_STRICT
    assert "leniently" in message
    assert any("NON-STRICT (SHOULD)" in note and "leniently" in note for note in ctx.recorder.notes)
    assert not (tmp_path / "findings").exists()


def test_refusal_of_valid_input_passes_with_a_note(tmp_path: Path) -> None:
    """A judge that notes refusals (MAY) only: PASS, each reason in the notes."""
    ctx = _context(tmp_path)

    async def judge(env: Env, step: Step) -> Judgement | None:
        return observed(f"{step.label} was refused: custom.error") if step.args[0] % 2 else None

    verdict, _ = _verdict(ctx, judge)
    assert verdict is Verdict.PASS
    assert any("noted (MAY)" in note and "was refused" in note for note in ctx.recorder.notes)
    assert not (tmp_path / "findings").exists()


def test_must_break_fails_and_saves_the_minimal_example(tmp_path: Path) -> None:
    """A MUST break: FAILED, the minimal example saved; lenient ones are named as well."""
    ctx = _context(tmp_path)

    async def judge(env: Env, step: Step) -> Judgement | None:
        n = step.args[0]
        if n >= 20:
            return broken(f"no answer after {step.label}")
        return lenient(f"accepted {step.label} leniently") if n >= 10 else None

    verdict, message = _verdict(ctx, judge)
    assert verdict is Verdict.FAILED
    assert message.startswith("no answer after step 20")
    assert load_finding(tmp_path / "findings" / "XX-FUZZ-001.json").steps[0].args == (20,)


@pytest.mark.parametrize(
    ("judged", "fixed"),
    [(broken("still"), False), (lenient("lenient"), True), (observed("refused"), True)],
)
def test_replay_fails_only_on_a_must_break(tmp_path: Path, judged: Judgement, fixed: bool) -> None:
    """`conformance replay` is FAILED (the reason) only for a MUST break; else FIXED (None)."""
    ctx = _context(tmp_path)
    finding = Finding(
        protocol="metahuman", target="XX", oracle="o", message="m", steps=(Step(event="e"),), seed=0
    )

    async def judge(env: Env, step: Step) -> Judgement | None:
        return judged

    async def replayed() -> str | None:
        return await cases.replay(finding, ctx, judge, lambda *a: object)

    assert asyncio.run(replayed()) == (None if fixed else "still")
