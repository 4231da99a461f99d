"""`conformance load`: the profile, the target (the embedded reference when no URL), the run,
the SLO verdicts and the reports. cli.py parses the arguments and returns this exit code.

Exit codes: 0, no MUST clause broken and every SLO met; 1, a MUST clause broken or an SLO
breached; 130, interrupted (Ctrl-C; the reports are written all the same). A bad profile or an
unreachable target raises `LoadUsageError` (exit 2).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from conformance import protocols
from conformance.embedded import EmbeddedServer
from conformance.hosting import reachable
from conformance.load.html import write_load_html
from conformance.load.junit import write_load_junit
from conformance.load.progress import Display
from conformance.load.report import build_load_report, write_load_json
from conformance.load.runner import LoadOptions, LoadRun
from conformance.load.slo import evaluate
from conformance.load.stats import Stats, summary
from conformance.profiles import Profile, ProfileError, load_profile, profile_protocol

__all__ = ["INTERRUPTED", "LoadRequest", "LoadUsageError", "run_load"]

INTERRUPTED = 130
LAGGING_MS = 100.0  # a p99 loop lag over this: the generator, not the server, set the pace


class LoadUsageError(Exception):
    """A bad profile or an unreachable target: one line, exit code 2."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadRequest:
    url: str | None
    protocol: str | None
    profile: Path | None
    options: LoadOptions
    report_dir: Path
    command: str  # what reruns this load


def _profile(request: LoadRequest) -> tuple[Profile, bool]:
    """The profile, and whether the embedded reference is the target (its values pinned)."""
    try:
        name = profile_protocol(request.profile, protocol=request.protocol, known=protocols.names())
        given = protocols.profile_of(name)
        profile = load_profile(request.profile, given)
        embedded = (request.url or profile.url) is None
        if embedded:
            profile = load_profile(request.profile, given, embedded=True)
    except ProfileError as exc:
        raise LoadUsageError(f"invalid profile: {exc}") from None
    return profile, embedded


async def _main(run: LoadRun, display: Display) -> bool:
    """Run until the end; True when interrupted (Ctrl-C cancels this task)."""
    drawing = asyncio.create_task(display.run())
    try:
        await run.run()
        return False
    except asyncio.CancelledError:
        return True
    finally:
        drawing.cancel()


def run_load(request: LoadRequest, *, stderr: TextIO = sys.stderr) -> int:
    """Run the load, write load.json, load-junit.xml and load.html; the exit code."""
    profile, embedded = _profile(request)
    server = EmbeddedServer.reference(profile.protocol) if embedded else None
    url = server.start() if server is not None else str(request.url or profile.url)
    try:
        if server is None and (problem := reachable(url, profile.timeouts.connect)):
            raise LoadUsageError(f"unreachable target: {problem}")
        run = LoadRun(
            script=protocols.plugin(profile.protocol).load_script(),
            url=url,
            profile=profile,
            options=request.options,
            report_dir=request.report_dir,
            stats=Stats(),
        )
        display = Display(stderr, lambda: run.stats.progress(run.now()))
        started_at = datetime.now(UTC)
        cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.monotonic()
        interrupted = asyncio.run(_main(run, display))
        cpu, process_cpu = time.thread_time() - cpu, time.process_time() - process_cpu
        wall = time.monotonic() - wall
        display.final()
    finally:
        if server is not None:
            server.stop()
    return _report(
        request,
        run.stats,
        profile=profile,
        target={"url": url, "embedded": embedded, "profile": profile.source},
        started_at=started_at,
        wall=wall,
        generator={
            "cpu_s": round(cpu, 3),
            "process_cpu_s": round(process_cpu, 3),
            "wall_s": round(wall, 3),
            "cpu_share": round(cpu / wall, 3) if wall > 0 else 0.0,
            "cpu_ms_per_turn": round(1000 * cpu / run.stats.turns, 2) if run.stats.turns else None,
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "loop_lag_ms": summary(run.stats.loop_lag_ms),
        },
        interrupted=interrupted,
    )


def _report(
    request: LoadRequest,
    stats: Stats,
    *,
    profile: Profile,
    target: dict[str, Any],
    started_at: datetime,
    wall: float,
    generator: dict[str, Any],
    interrupted: bool,
) -> int:
    verdicts = evaluate(profile.section("slo"), stats, wall)
    breached = [v for v in verdicts if not v.passed]
    code = INTERRUPTED if interrupted else (1 if stats.failed or breached else 0)
    report = build_load_report(
        stats,
        protocol=profile.protocol,
        target=target,
        command=request.command,
        options=asdict(request.options),
        started_at=started_at,
        duration_s=wall,
        slo=verdicts,
        generator=generator,
        interrupted=interrupted,
        exit_code=code,
    )
    write_load_json(report, request.report_dir)
    write_load_junit(report, request.report_dir)
    write_load_html(report, request.report_dir)
    summary = report["summary"]
    first = report["latencies_ms"].get("first_audio", {})
    print(
        f"load: {summary['turns']} turns in {wall:.1f} s ({summary['turns_per_s']:g}/s), "
        f"{summary['turns_failed']} failed (MUST), {summary['turns_errored']} in ERROR; "
        f"first audio p50 {first.get('p50', '-')} ms, p95 {first.get('p95', '-')} ms"
    )
    for clause in report["violations"]:
        print(f"{clause['verdict']} {clause['id']} ({clause['level']}) in {clause['turns']} turns")
    for verdict in verdicts:
        print(f"SLO {'PASS' if verdict.passed else 'FAILED'} {verdict.name}: {verdict.message}")
    lag = report["generator"]["loop_lag_ms"]
    if lag.get("p99", 0) > LAGGING_MS:
        print(
            f"warning: the generator's loop lagged (p99 {lag['p99']} ms, max {lag['max']} ms): "
            "it was the bottleneck, so its latencies are inflated; use fewer sessions or Locust"
        )
    print(f"reports: {request.report_dir / 'load.html'}, load.json, load-junit.xml")
    return code
