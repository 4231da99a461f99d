"""The suite as a pytest plugin: a target's catalogue becomes one pytest item per case.

`conformance run` resolves its `Target` and hands pytest a `ConformancePlugin` object
(`pytest.main(args, plugins=[...])`) with pytest's plugin autoloading off, so a user's
installed pytest plugins never change a run. From pytest itself,
`pytest -p conformance.pytest_plugin PROFILE.yaml [--conformance-url URL]` builds the same
object from its options. Either way `-k`, `-x`, `--lf` and `--junitxml` keep working.
Verdicts map onto pytest outcomes: FAILED and ERROR fail, UNSUPPORTED skips, a listed expected
failure xfails, NON-STRICT fails with --strict.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import shlex
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from conformance.engine.catalogue import matches
from conformance.engine.context import CaseContext, Recorder, ScenarioCache
from conformance.engine.executor import case_deadline, execute, result_of
from conformance.engine.model import Case, CaseResult, Verdict
from conformance.engine.scheduler import CaseLoop
from conformance.profiles import Profile
from conformance.reports import build_report, write_html, write_json
from conformance.target import Target, TargetError

__all__ = ["CaseItem", "ConformancePlugin", "RunOptions", "run_catalogue"]

# Fuzzing budgets for `--hypothesis-profile` (`conformance fuzz` flags override them).
settings.register_profile("ci", max_examples=25)
settings.register_profile("nightly", max_examples=2000)

STATE = pytest.StashKey["RunState"]()

WAIT_STEP_S = 0.5  # how often the waiting item wakes (Ctrl-C is handled between waits)
OUTLIVED_S = 10.0  # past its own deadline by this much, a case is a harness bug


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """How to run a target's catalogue: which cases, how strictly, with what budgets."""

    cases: tuple[str, ...] = ()  # globs: only these
    exclude: tuple[str, ...] = ()  # globs: not these
    strict: bool = False  # NON-STRICT fails too
    fuzz: bool = False  # the fuzz catalogue instead
    seed: int = 0
    max_examples: int | None = None
    max_time: float | None = None  # the fuzzing budget in seconds
    budget: float | None = None  # seconds for the whole run (--max-time)
    command: str = ""  # the user's command, for rerun commands and the report

    def concurrency(self, profile: Profile) -> int:
        """How many cases run side by side: the profile's `concurrency`; one at a time when
        fuzzing (each fuzz case drives hypothesis, which runs one example at a time)."""
        return 1 if self.fuzz else int(profile.data.get("concurrency", 1))


class RunState:
    """One run: the target, its options, shared scenarios and results, in collection order."""

    def __init__(self, target: Target, options: RunOptions) -> None:
        self.target = target
        self.options = options
        self.scenarios = ScenarioCache()
        self.results: dict[str, CaseResult] = {}
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.exit_code = 0
        self.items: list[CaseItem] = []  # every selected case, so unfinished ones are reported
        self.broken: dict[str, str] = {}  # prerequisites the server failed (Env.broken)
        self.cases: CaseLoop | None = None  # where the cases run, side by side
        self.futures: dict[str, concurrent.futures.Future[CaseResult]] = {}
        self.began: dict[str, float] = {}  # when each case started (its deadline's clock)

    def remaining(self) -> float | None:
        """Seconds left of the run's budget, or None without a budget."""
        if self.options.budget is None:
            return None
        return self.options.budget - (time.monotonic() - self.started)

    def budget(self) -> str:
        budget = self.options.budget
        return f" of {budget:g} s (--max-time)" if budget is not None else ""

    def not_run(self, why: str) -> str:
        return (
            f"not run: the run ended before this case ({why}; the run's budget: "
            f"{self.budget().removeprefix(' of ') or 'none'})"
        )


class ConformancePlugin:
    """The hooks of one run over a resolved target (a pytest plugin object)."""

    def __init__(self, target: Target, options: RunOptions) -> None:
        self.state = RunState(target, options)

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", "conformance_case(id): a case of the conformance catalogue"
        )
        config.stash[STATE] = self.state

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return [f"conformance: {self.state.target.describe()}"]

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> pytest.Collector | None:
        if file_path.suffix in (".yaml", ".yml") and parent.session.isinitpath(file_path):
            return ProfileFile.from_parent(parent, path=file_path)
        return None

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        options = self.state.options
        keep, drop = [], []
        for item in items:
            if not isinstance(item, CaseItem):
                keep.append(item)
                continue
            chosen = not options.cases or any(matches(item.case.id, p) for p in options.cases)
            if chosen and not any(matches(item.case.id, p) for p in options.exclude):
                keep.append(item)
            else:
                drop.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        self.state.items = [item for item in items if isinstance(item, CaseItem)]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        """Start every selected case on the case loop, in catalogue order; the items then
        report each one's verdict in that order as it comes."""
        state = self.state
        if not session.config.option.collectonly and state.items:
            state.cases = CaseLoop(state.options.concurrency(state.target.profile))
            for item in state.items:
                state.futures[item.case.id] = state.cases.submit(partial(item.execute, state))
        return (yield)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state, options = self.state, self.state.options
        if state.cases is not None:  # what is still running was interrupted (Ctrl-C, -x)
            state.cases.close()
        if exitstatus == pytest.ExitCode.INTERRUPTED:  # Ctrl-C: still report every selected case
            for item in state.items:
                if item.case.id not in state.results:
                    state.results[item.case.id] = item.unfinished(state.not_run("interrupted"))
        results = list(state.results.values())
        counted = [r for r in results if r.baseline != "expected-failure"]
        failing = {Verdict.FAILED, Verdict.ERROR} | (
            {Verdict.NON_STRICT} if options.strict else set()
        )
        state.exit_code = 1 if any(r.verdict in failing for r in counted) else 0
        target = state.target
        report = build_report(
            results,
            protocol=target.protocol,
            target={
                "url": target.url,
                "embedded": target.embedded is not None,
                "profile": target.profile.source,
            },
            command=options.command or "pytest -p conformance.pytest_plugin",
            started_at=state.started_at,
            duration_s=round(time.monotonic() - state.started, 3),
            strict=options.strict,
            exit_code=state.exit_code,
        )
        target.report_dir.mkdir(parents=True, exist_ok=True)
        write_json(report, target.report_dir)
        write_html(report, target.report_dir)

    def pytest_terminal_summary(
        self, terminalreporter: Any, exitstatus: int, config: pytest.Config
    ) -> None:
        state = self.state
        results = list(state.results.values())
        write = terminalreporter.write_line
        terminalreporter.section("conformance verdicts")
        counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
        write("  ".join(f"{v.value} {n}" for v, n in counts.items()))
        for r in results:
            if r.verdict in (Verdict.FAILED, Verdict.ERROR, Verdict.NON_STRICT):
                flag = " (expected by the baseline)" if r.baseline == "expected-failure" else ""
                write(f"{r.verdict.value:<11} {r.id}{flag}: {r.message}")
                write(f"            rerun: {r.rerun}")
        fixed = [r.id for r in results if r.baseline == "fixed"]
        if fixed:
            write(f"fixed since the baseline (remove from expected_failures): {', '.join(fixed)}")
        outcomes = state.scenarios.outcomes.values()
        exchanging = sum(o.seconds for o in outcomes)
        write(
            f"time: {time.monotonic() - state.started:.1f} s in all, {exchanging:.1f} s in "
            f"{len(outcomes)} exchanges with the server (scenarios), the rest in the harness"
        )
        report_dir = state.target.report_dir
        write(f"reports: {report_dir / 'report.json'}, {report_dir / 'report.html'}")


class ProfileFile(pytest.File):
    """The collection's anchor (a profile file): the catalogue of the target's protocol."""

    def collect(self) -> Iterator[CaseItem]:
        state = self.config.stash[STATE]
        plugin = state.target.plugin
        for case in plugin.fuzz_catalogue() if state.options.fuzz else plugin.catalogue():
            yield CaseItem.from_parent(self, name=case.id, case=case)


class CaseFailure(Exception):
    """A case's verdict that fails the pytest item (FAILED, ERROR, NON-STRICT with --strict)."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.message)
        self.result = result


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.add_marker(pytest.mark.conformance_case(case.id))

    def runtest(self) -> None:
        state = self.config.stash[STATE]
        result = self._outcome(state)
        state.results[self.case.id] = result
        self.user_properties += [
            ("verdict", result.verdict.value),
            ("level", result.level.value),
            ("clause", result.clause),
            ("source", result.source),
        ]
        baseline = state.target.profile.data.get("expected_failures", [])
        listed = any(matches(self.case.id, p) for p in baseline)
        failing = result.verdict in (Verdict.FAILED, Verdict.ERROR) or (
            result.verdict is Verdict.NON_STRICT and state.options.strict
        )
        if listed:
            result.baseline = "expected-failure" if failing else "fixed"
            if failing:
                pytest.xfail(f"{result.verdict.value} as the baseline expects: {result.message}")
        if result.verdict in (Verdict.UNSUPPORTED, Verdict.BLOCKED):
            pytest.skip(f"{result.verdict.value}: {result.message}")
        if failing:
            raise CaseFailure(result)

    def unfinished(self, why: str) -> CaseResult:
        """The result of a case the run never finished: ERROR, with why."""
        result = result_of(self.case, self._rerun())
        result.verdict, result.message = Verdict.ERROR, why
        return result

    def _outcome(self, state: RunState) -> CaseResult:
        """The case's result, from the case loop: waited for in short steps (Ctrl-C reaches
        pytest at once) and never past its deadline once it has begun."""
        future = state.futures.get(self.case.id)
        if future is None:  # run alone (the item was not started with the others)
            return asyncio.run(self.execute(state))
        overdue = case_deadline(self.case, state.target.profile, state.options.max_time or 0.0)
        overdue += OUTLIVED_S
        while True:
            try:
                return future.result(timeout=WAIT_STEP_S)
            except concurrent.futures.CancelledError:
                return self.unfinished(state.not_run("cancelled"))
            except concurrent.futures.TimeoutError:
                began = state.began.get(self.case.id)
                if began is not None and time.monotonic() - began > overdue:
                    future.cancel()
                    return self.unfinished(
                        f"harness bug: the case outlived its deadline by {OUTLIVED_S:g} s"
                    )

    async def execute(self, state: RunState) -> CaseResult:
        """Run the case on the running loop (the case loop) with the one executor."""
        state.began[self.case.id] = time.monotonic()
        target, options = state.target, state.options
        left = state.remaining()
        if left is not None and left <= 0:
            return self.unfinished(state.not_run("its budget was spent"))
        ctx = CaseContext(
            url=target.url,
            profile=target.profile,
            recorder=Recorder(),
            report_dir=target.report_dir,
            where=self.case.id,
            broken=state.broken,
            case=self.case,
            scenarios=state.scenarios,
            options={
                "seed": options.seed,
                "max_examples": options.max_examples,
                "max_time": options.max_time,
            },
        )
        return await execute(
            ctx,
            deadline=case_deadline(self.case, target.profile, options.max_time or 0.0),
            budget_left=left,
            budget=state.budget(),
            rerun=self._rerun(),
        )

    def _rerun(self) -> str:
        command = self.config.stash[STATE].options.command or "conformance run"
        return f"{command} --case {shlex.quote(self.case.id)}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            r = excinfo.value.result
            return "\n".join(
                [
                    f"{r.verdict.value} {r.id} ({r.level.value}, {r.area}): {r.message}",
                    f"  clause:   {r.clause}",
                    f"  source:   {r.source}",
                    f"  expected: {r.expected}",
                    f"  observed: {r.observed}",
                    f"  rerun:    {r.rerun}",
                ]
            )
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.case.id}: {self.case.title}"


def run_catalogue(
    target: Target, options: RunOptions, pytest_args: Sequence[str] = ()
) -> int | pytest.ExitCode:
    """Run the target's catalogue through pytest (the user's `-- ARGS` appended); pytest's
    exit code. The reports and junit.xml go to the target's report directory."""
    report_dir = target.report_dir
    anchor = resources.files(target.plugin.package).joinpath("profile.yaml")
    profile = target.profile.source
    args = [
        # the collection's anchor: the user's profile, else the plug-in's built-in one (the
        # target's profile is already loaded; the file only roots the items)
        profile if Path(profile).is_file() else str(anchor),
        # the user's installed pytest plugins (randomly, xdist, asyncio...) must not change a
        # run: only pytest's own and ours; nor a conftest.py beside their profile
        "--disable-plugin-autoload",
        "--noconftest",
        "-c",
        str(Path(__file__).with_name("run.ini")),
        "--rootdir",
        str(Path.cwd()),
        "-o",
        f"cache_dir={report_dir / '.cache'}",
        "--junitxml",
        str(report_dir / "junit.xml"),
        *pytest_args,
    ]
    return pytest.main(args, plugins=[ConformancePlugin(target, options)])


# --- `pytest -p conformance.pytest_plugin PROFILE.yaml`: the same plugin from options --------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "conformance suite")
    group.addoption(
        "--conformance-url", help="the server under test; none: the embedded reference server"
    )
    group.addoption(
        "--conformance-protocol", help="the protocol (default: the profile's, or metahuman)"
    )
    group.addoption(
        "--conformance-case",
        action="append",
        default=[],
        metavar="GLOB",
        help="run only these case ids",
    )
    group.addoption(
        "--conformance-exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip these case ids",
    )
    group.addoption(
        "--conformance-strict", action="store_true", help="NON-STRICT (a broken SHOULD) fails too"
    )
    group.addoption(
        "--conformance-report-dir", default="reports", help="where report.json and report.html go"
    )
    group.addoption(
        "--conformance-fuzz", action="store_true", help="run the fuzz catalogue instead"
    )
    group.addoption("--conformance-seed", type=int, default=0, help="fuzzing seed (default 0)")
    group.addoption("--conformance-max-examples", type=int, help="fuzzing budget in examples")
    group.addoption("--conformance-max-time", type=float, help="fuzzing budget in seconds")
    group.addoption(
        "--conformance-budget",
        type=float,
        help="seconds for the whole run; cases still unfinished then are ERROR (default: none)",
    )
    group.addoption("--conformance-command", default="", help=argparse.SUPPRESS)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Given a profile file and no plugin object, resolve the target from the options."""
    profile = next((Path(a) for a in config.args if a.endswith((".yaml", ".yml"))), None)
    if profile is None or config.pluginmanager.has_plugin("conformance-run"):
        return
    try:
        target = Target.resolve(
            url=config.getoption("conformance_url"),
            protocol=config.getoption("conformance_protocol"),
            profile=profile,
            report_dir=Path(config.getoption("conformance_report_dir")),
        )
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    options = RunOptions(
        cases=tuple(config.getoption("conformance_case")),
        exclude=tuple(config.getoption("conformance_exclude")),
        strict=config.getoption("conformance_strict"),
        fuzz=config.getoption("conformance_fuzz"),
        seed=config.getoption("conformance_seed"),
        max_examples=config.getoption("conformance_max_examples"),
        max_time=config.getoption("conformance_max_time"),
        budget=config.getoption("conformance_budget"),
        command=config.getoption("conformance_command"),
    )
    config.pluginmanager.register(ConformancePlugin(target, options), "conformance-run")
    config.add_cleanup(target.close)
