"""Load mode's own capacity, and the reference server's figures under load.

Run on demand (not in CI), from the checkout:

    .venv/bin/python benchmarks/load_capacity.py capacity --sessions 250 500 1000 --wait 20
    .venv/bin/python benchmarks/load_capacity.py reference --sessions 1 10 100

`capacity`: the generator against a trivial server, the MetaHuman reference with instant
providers (a fixed transcript, the offline answer, each sentence's speech synthesized once and
cached) in a child process, so that the generator's CPU is its own. This process runs N
sessions, each playing one judged turn every --wait seconds, and prints, once every session is
open and has played a turn (the steady state), its event loop thread's CPU share (1.0 is one
core saturated), its CPU per turn, the turns a second, the latencies and the server's CPU.
`reference`: the reference server with its offline providers (a child process), N sessions
playing turns back to back: throughput and latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from conformance import protocols
from conformance.hosting import serve_until_stopped
from conformance.load.runner import LoadOptions, LoadRun
from conformance.load.stats import percentile
from conformance.profiles import load_profile
from conformance.protocols.metahuman.reference.config import SttConfig, TtsConfig
from conformance.protocols.metahuman.reference.providers import (
    OfflineLanguageModel,
    OfflineTextToSpeech,
    Providers,
    Transcription,
)
from conformance.protocols.metahuman.reference.server import ReferenceServer

PROTOCOL = "metahuman"


@dataclass(frozen=True, slots=True)
class InstantSpeechToText:
    """The fixture's words, at once: no decoding."""

    async def transcribe(self, data: bytes, config: SttConfig) -> Transcription:
        return Transcription(text="hello, what is the weather like today", language="en-US")


@dataclass(slots=True)
class CachedTextToSpeech:
    """The offline voice, each text synthesized once."""

    voice: OfflineTextToSpeech = field(default_factory=OfflineTextToSpeech)
    cache: dict[tuple[str, float], bytes] = field(default_factory=dict)

    @property
    def output_format(self) -> str:
        return self.voice.output_format

    async def synthesize(self, text: str, config: TtsConfig) -> bytes:
        key = (text, config.speed)
        if key not in self.cache:
            self.cache[key] = await self.voice.synthesize(text, config)
        return self.cache[key]


def instant_providers() -> Providers:
    return Providers(
        stt=InstantSpeechToText(), llm=OfflineLanguageModel(), tts=CachedTextToSpeech()
    )


def _serve(trivial: bool) -> None:
    server = ReferenceServer(providers=instant_providers() if trivial else None)

    def ready(url: str) -> None:
        print(url, flush=True)

    asyncio.run(serve_until_stopped(server.attach(web.Application()), "127.0.0.1", 0, ready))


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Window:
    """The generator's figures between two instants of the run."""

    cpu: float = 0.0
    server_cpu: float = 0.0
    wall: float = 0.0
    turns: int = 0
    errors: int = 0


async def _measure(
    sessions: int, spawn_rate: float, duration: float, wait: float, url: str, server: int
) -> tuple[LoadRun, Window]:
    profile = load_profile(None, protocols.profile_of(PROTOCOL), embedded=True)
    run = LoadRun(
        script=protocols.plugin(PROTOCOL).load_script(),
        url=url,
        profile=profile,
        options=LoadOptions(
            sessions=sessions, spawn_rate=spawn_rate, duration_s=duration, wait_s=wait
        ),
        report_dir=Path("/tmp"),
    )
    window = Window()

    async def steady() -> None:
        # Every session open and past its first turn: the ramp's connects are behind us.
        await asyncio.sleep(sessions / spawn_rate + wait + 5)
        start = (
            time.thread_time(),
            _cpu_of(server),
            time.monotonic(),
            run.stats.turns,
            run.stats.errored,
        )
        await run.stopping.wait()
        window.cpu = time.thread_time() - start[0]
        window.server_cpu = _cpu_of(server) - start[1]
        window.wall = time.monotonic() - start[2]
        window.turns = run.stats.turns - start[3]
        window.errors = run.stats.errored - start[4]

    sampler = asyncio.create_task(steady())
    await run.run()
    await asyncio.wait([sampler], timeout=1)
    sampler.cancel()
    return run, window


def _row(sessions: int, run: LoadRun, window: Window, wall: float) -> str:
    first = sorted(run.stats.latencies.get("first_audio", []))
    turn = sorted(run.stats.latencies.get("turn", []))
    share = window.cpu / window.wall if window.wall else float("nan")
    per_turn = 1000 * window.cpu / window.turns if window.turns else float("nan")
    lag = sorted(run.stats.loop_lag_ms[-int(window.wall / 0.1) :]) if window.wall else []
    return (
        f"sessions={sessions:<5} turns={run.stats.turns:<6} errors={run.stats.errored:<4} "
        f"failed={run.stats.failed:<4} steady: {window.turns / max(window.wall, 1e-9):6.1f} "
        f"turns/s, generator CPU {100 * share:5.1f}% of a core, {per_turn:5.2f} ms/turn, "
        f"server CPU {100 * window.server_cpu / max(window.wall, 1e-9):5.1f}%, "
        f"loop lag p99 {percentile(lag, 99) or 0:.0f} max {lag[-1] if lag else 0:.0f} ms; "
        f"first audio p50 {percentile(first, 50) or 0:7.1f} p95 {percentile(first, 95) or 0:7.1f}"
        f" ms; turn p50 {percentile(turn, 50) or 0:7.1f} p95 {percentile(turn, 95) or 0:7.1f} ms;"
        f" wall {wall:5.1f} s; rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
        + "".join(
            f"\n    {c.case} ({c.level.value}) in {c.count} turns: {c.examples[0]['message'][:120]}"
            for c in run.stats.clauses.values()
        )
        + "".join(
            f"\n    ERROR in {e.count} turns: {e.message[:120]}" for e in run.stats.errors.values()
        )
    )


def _bench(args: argparse.Namespace, trivial: bool) -> None:
    child = subprocess.Popen(
        [sys.executable, __file__, "serve", *(["--trivial"] if trivial else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        for sessions in args.sessions:
            started = time.monotonic()
            run, window = asyncio.run(
                _measure(sessions, args.spawn_rate, args.duration, args.wait, url, child.pid)
            )
            print(_row(sessions, run, window, time.monotonic() - started), flush=True)
    finally:
        child.terminate()
        child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="(internal) the server child")
    serve.add_argument("--trivial", action="store_true")
    for name, sessions, wait, duration in (
        ("capacity", [250, 500, 1000], 20.0, 90.0),
        ("reference", [1, 10, 100], 0.0, 30.0),
    ):
        command = commands.add_parser(name)
        command.add_argument("--sessions", type=int, nargs="+", default=sessions)
        command.add_argument("--wait", type=float, default=wait, help="s between a session's turns")
        command.add_argument("--duration", type=float, default=duration, help="s per run")
        command.add_argument("--spawn-rate", type=float, default=50.0)
    args = parser.parse_args()
    if args.command == "serve":
        _serve(args.trivial)
    else:
        # 1,000 sessions hold 2,000 sockets here (and as many in the server).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
        _bench(args, trivial=args.command == "capacity")


if __name__ == "__main__":
    main()
