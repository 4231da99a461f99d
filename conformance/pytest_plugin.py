"""The suite as a pytest plugin: a profile file becomes one pytest item per case.

`pytest -p conformance.pytest_plugin PROFILE.yaml [--conformance-url URL]` runs the catalogue
of the profile's protocol (`conformance run` builds exactly that command), so `-k`, `-x`,
`--lf` and `--junitxml` keep working. Verdicts map onto pytest outcomes: FAILED and ERROR
fail, UNSUPPORTED skips, a listed expected failure xfails, NON-STRICT fails with --strict.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.engine.catalogue import matches
from conformance.engine.context import CaseContext, Recorder, ScenarioCache, exchange_seconds
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
from conformance.engine.transcript import summarize
from conformance.hosting import reachable
from conformance.profiles import Profile, ProfileError, load_profile, profile_protocol
from conformance.reports import build_report, write_html, write_json
from conformance.transports.socketio import TransportError

__all__ = ["CaseItem"]

# Fuzzing budgets for `--hypothesis-profile` (`conformance fuzz` flags override them).
settings.register_profile("ci", max_examples=25)
settings.register_profile("nightly", max_examples=2000)

STATE = pytest.StashKey["RunState"]()


class RunState:
    """One run: target, profile, shared scenarios and results, in collection order."""

    def __init__(
        self, profile: Profile, url: str, embedded: EmbeddedServer | None, report_dir: Path
    ) -> None:
        self.profile = profile
        self.url = url
        self.embedded = embedded
        self.report_dir = report_dir
        self.scenarios = ScenarioCache()
        self.results: dict[str, CaseResult] = {}
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.exit_code = 0
        self.items: list[CaseItem] = []  # every selected case, so unfinished ones are reported
        self.broken: dict[str, str] = {}  # prerequisites the server failed (Env.broken)
        self.budget: float | None = None  # seconds for the whole run (--max-time)

    def remaining(self) -> float | None:
        """Seconds left of the run's budget, or None without a budget."""
        if self.budget is None:
            return None
        return self.budget - (time.monotonic() - self.started)


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
    # The user's own command line, for rerun commands and the report.
    group.addoption("--conformance-command", default="", help=argparse.SUPPRESS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_case(id): a case of the conformance catalogue")
    if not _active(config):
        return
    profile_path = next((Path(a) for a in config.args if a.endswith((".yaml", ".yml"))), None)
    protocol = config.getoption("conformance_protocol")
    if profile_path is not None and _builtin(profile_path):
        # `conformance run` anchors the collection on the built-in profile when the user gives
        # none: that is no user profile, and must not hide the embedded run's pinned values.
        protocol, profile_path = protocol or profile_path.parent.name, None
    try:
        name = profile_protocol(profile_path, protocol=protocol, known=protocols.names())
        given = protocols.profile_of(name)
        profile = load_profile(profile_path, given)
        url = config.getoption("conformance_url") or profile.url
        if url is None:  # the embedded reference: its own readings of open points may be pinned
            profile = load_profile(profile_path, given, embedded=True)
    except ProfileError as exc:
        raise pytest.UsageError(f"invalid profile: {exc}") from None
    embedded = None
    if url is None:
        embedded = EmbeddedServer.reference(profile.protocol)
        url = embedded.start()
    else:
        problem = reachable(url, profile.timeouts.connect)
        if problem is not None:
            raise pytest.UsageError(f"unreachable target: {problem}")
    report_dir = Path(config.getoption("conformance_report_dir"))
    state = RunState(profile, url, embedded, report_dir)
    state.budget = config.getoption("conformance_budget")
    config.stash[STATE] = state


def _builtin(path: Path) -> bool:
    """The file is a protocol's built-in profile (protocols/<name>/profile.yaml)."""
    return path.resolve() == (
        Path(protocols.__file__).parent / path.resolve().parent.name / "profile.yaml"
    )


def _active(config: pytest.Config) -> bool:
    return any(str(a).endswith((".yaml", ".yml")) for a in config.args)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.embedded is not None:
        state.embedded.stop()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    target = f"{state.url} (embedded reference server)" if state.embedded else state.url
    return [
        f"conformance: {state.profile.protocol} against {target}, profile {state.profile.source}"
    ]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    chosen = file_path.suffix in (".yaml", ".yml") and parent.session.isinitpath(file_path)
    if chosen and STATE in parent.config.stash:
        return ProfileFile.from_parent(parent, path=file_path)
    return None


class ProfileFile(pytest.File):
    """A profile: the catalogue of its protocol, as items."""

    def collect(self) -> Iterator[CaseItem]:
        state = self.config.stash[STATE]
        plugin = protocols.plugin(state.profile.protocol)
        fuzzing = self.config.getoption("conformance_fuzz")
        for case in plugin.fuzz_catalogue() if fuzzing else plugin.catalogue():
            yield CaseItem.from_parent(self, name=case.id, case=case)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if STATE not in config.stash:
        return
    include = config.getoption("conformance_case")
    exclude = config.getoption("conformance_exclude")
    keep, drop = [], []
    for item in items:
        if not isinstance(item, CaseItem):
            keep.append(item)
            continue
        chosen = not include or any(matches(item.case.id, p) for p in include)
        if chosen and not any(matches(item.case.id, p) for p in exclude):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config.stash[STATE].items = [item for item in items if isinstance(item, CaseItem)]


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
        result = asyncio.run(self._execute(state))
        state.results[self.case.id] = result
        self.user_properties += [
            ("verdict", result.verdict.value),
            ("level", result.level.value),
            ("clause", result.clause),
            ("source", result.source),
        ]
        baseline = state.profile.data.get("expected_failures", [])
        listed = any(matches(self.case.id, p) for p in baseline)
        failing = result.verdict in (Verdict.FAILED, Verdict.ERROR) or (
            result.verdict is Verdict.NON_STRICT and self.config.getoption("conformance_strict")
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
        result = self._result()
        result.verdict, result.message = Verdict.ERROR, why
        return result

    def _result(self) -> CaseResult:
        case = self.case
        return CaseResult(
            id=case.id,
            title=case.title,
            clause=case.clause,
            level=case.level,
            area=case.area,
            source=case.source,
            verdict=Verdict.PASS,
            rerun=self._rerun(),
        )

    async def _execute(self, state: RunState) -> CaseResult:
        case = self.case
        result = self._result()
        missing = _missing_capability(case, state.profile)
        if missing:
            result.verdict, result.message = Verdict.UNSUPPORTED, missing
            return result
        ctx = CaseContext(
            url=state.url,
            profile=state.profile,
            recorder=Recorder(),
            report_dir=state.report_dir,
            where=case.id,
            broken=state.broken,
            case=case,
            scenarios=state.scenarios,
            options={
                "seed": self.config.getoption("conformance_seed"),
                "max_examples": self.config.getoption("conformance_max_examples"),
                "max_time": self.config.getoption("conformance_max_time"),
            },
        )
        deadline = _deadline(case, ctx)
        left = state.remaining()
        if left is not None and left <= 0:
            result.verdict, result.message = Verdict.ERROR, _not_run(state, "its budget was spent")
            return result
        limit = deadline if left is None else min(deadline, left)
        started = time.monotonic()
        try:
            async with asyncio.timeout(limit) as clock:
                await case.run(ctx)
        except TimeoutError as exc:
            if not clock.expired():
                result.verdict, result.message = Verdict.ERROR, f"harness bug: TimeoutError: {exc}"
            elif limit < deadline:
                result.verdict = Verdict.ERROR
                result.message = (
                    f"unfinished: the run's budget of {state.budget:g} s (--max-time) ran out "
                    "during this case"
                )
            else:
                result.verdict = Verdict.ERROR
                result.message = (
                    f"unfinished: the case did not end within its deadline of {deadline:g} s "
                    "(derived from the profile's timeouts); every wait has its own timeout, so "
                    "a suite fault, not the server's"
                )
        except Violation as violation:
            result.verdict = verdict_for(violation.level or case.level)
            result.message, result.expected, result.observed = (
                violation.message,
                violation.expected,
                violation.observed,
            )
        except Unsupported as exc:
            result.verdict, result.message = Verdict.UNSUPPORTED, str(exc)
        except Blocked as exc:
            result.verdict, result.message = Verdict.BLOCKED, f"not judged: {exc}"
        except (HarnessError, TransportError) as exc:
            result.verdict, result.message = Verdict.ERROR, f"harness or network: {exc}"
        except Exception as exc:  # a bug of the suite: never the server's violation
            result.verdict, result.message = (
                Verdict.ERROR,
                f"harness bug: {type(exc).__name__}: {exc}",
            )
        else:
            result.message = "the server meets the clause"
        result.duration_s = time.monotonic() - started
        _attach(result, ctx)
        return result

    def _rerun(self) -> str:
        command = self.config.getoption("conformance_command") or "conformance run"
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


# A case's deadline, in exchanges' worth of the profile's timeouts (a case may use several
# scenarios and run exchanges of its own); a fuzz case adds its budget twice (generation, then
# shrinking) and a witness turn.
CASE_EXCHANGES = 4


def _deadline(case: Case, ctx: CaseContext) -> float:
    exchange = exchange_seconds(ctx.profile)
    fuzzing = float(ctx.options.get("max_time") or 0.0)
    return CASE_EXCHANGES * exchange + (2 * fuzzing + exchange if case.area == "fuzz" else 0.0)


def _not_run(state: RunState, why: str) -> str:
    budget = f"{state.budget:g} s (--max-time)" if state.budget is not None else "none"
    return f"not run: the run ended before this case ({why}; the run's budget: {budget})"


def _missing_capability(case: Case, profile: Profile) -> str:
    capabilities = profile.section("capabilities")
    for name, needed in case.requires.items():
        offered = capabilities.get(name)
        ok = needed in offered if isinstance(offered, list) else offered == needed
        if not ok:
            return f"the profile's capabilities.{name} is {offered!r}; the case needs {needed!r}"
    return ""


def _attach(result: CaseResult, ctx: CaseContext) -> None:
    """The wire log, latencies, notes and audio of the case and of the scenarios it used."""
    recorders = [("", ctx.recorder), *ctx.used]
    seen: set[int] = set()
    for label, recorder in recorders:
        if id(recorder) in seen:
            continue
        seen.add(id(recorder))
        for e in recorder.transcript.events:
            result.transcript.append(
                {
                    "at": round(e.at, 4),
                    "socket": f"{label}/{e.socket}" if label else e.socket,
                    "direction": e.direction.value,
                    "event": e.event,
                    "payload": summarize(list(e.args) if len(e.args) != 1 else e.args[0]),
                }
            )
        result.latencies_ms.update({k: round(v, 1) for k, v in recorder.latencies_ms.items()})
        result.notes.extend(recorder.notes)
        result.audio.extend(a for a in recorder.audio if a not in result.audio)
        result.rerun = recorder.rerun or result.rerun


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    strict = bool(session.config.getoption("conformance_strict"))
    if exitstatus == pytest.ExitCode.INTERRUPTED:  # Ctrl-C: still report every selected case
        for item in state.items:
            if item.case.id not in state.results:
                state.results[item.case.id] = item.unfinished(_not_run(state, "interrupted"))
    results = list(state.results.values())
    counted = [r for r in results if r.baseline != "expected-failure"]
    failing = {Verdict.FAILED, Verdict.ERROR} | ({Verdict.NON_STRICT} if strict else set())
    state.exit_code = 1 if any(r.verdict in failing for r in counted) else 0
    report = build_report(
        results,
        protocol=state.profile.protocol,
        target={
            "url": state.url,
            "embedded": state.embedded is not None,
            "profile": state.profile.source,
        },
        command=session.config.getoption("conformance_command")
        or "pytest -p conformance.pytest_plugin",
        started_at=state.started_at,
        duration_s=round(time.monotonic() - state.started, 3),
        strict=strict,
        exit_code=state.exit_code,
    )
    state.report_dir.mkdir(parents=True, exist_ok=True)
    write_json(report, state.report_dir)
    write_html(report, state.report_dir)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
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
    write(f"reports: {state.report_dir / 'report.json'}, {state.report_dir / 'report.html'}")
