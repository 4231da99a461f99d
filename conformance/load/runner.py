"""Local load mode: N scripted sessions on one asyncio loop, spawned at R a second.

Each session opens, plays its protocol's scripted turn again and again (judged by the
catalogue's cases, `turns.py`), and reopens after a turn that ended in ERROR (its connection
may be gone). A session that cannot be opened counts as a turn in ERROR, then retries after a
second. The run ends after `duration_s`, or once every session has played `turns` turns; at
the end of a duration, turns under way get their deadline to finish, then are cancelled (not
counted). Every wait has a deadline, so the run ends on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.load.stats import Stats
from conformance.load.turns import SessionFailed, open_session, play_turn, turn_deadline
from conformance.profiles import Profile
from conformance.protocols.load import LoadScript, LoadSession, TurnResult

__all__ = ["LoadOptions", "LoadRun", "session_name"]

_RETRY_S = 1.0  # after a session could not be opened
_LAG_TICK_S = 0.1  # how often the loop's lag is sampled


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadOptions:
    sessions: int = 10
    spawn_rate: float = 10.0  # sessions started a second
    duration_s: float | None = None  # the run's length; None: until every session played `turns`
    turns: int | None = None  # turns per session
    wait_s: float = 0.0  # a session's pause between two turns


def session_name(index: int) -> str:
    return f"session-{index}"


@dataclass(slots=True, kw_only=True)
class LoadRun:
    """One local load run; `stats` fills as turns end (also when the run is interrupted)."""

    script: LoadScript
    url: str
    profile: Profile
    options: LoadOptions
    report_dir: Path
    stats: Stats = field(default_factory=Stats)
    on_turn: Callable[[TurnResult], None] | None = None
    started: float = field(default_factory=time.monotonic)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _turning: int = 0  # turns under way
    _quiet: asyncio.Event = field(default_factory=asyncio.Event)  # set when none is

    def now(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> None:
        self.started = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        spawner = asyncio.create_task(self._spawn(tasks))
        lag = asyncio.create_task(self._watch_lag())
        try:
            if self.options.duration_s is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.options.duration_s)
                self.stopping.set()
                spawner.cancel()
                await asyncio.gather(spawner, return_exceptions=True)
                if tasks:  # turns under way finish within their deadline, then are cancelled
                    await asyncio.wait(tasks, timeout=turn_deadline(self.profile))
            else:
                await spawner
                await asyncio.gather(*tasks)
        finally:
            spawner.cancel()
            lag.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(spawner, lag, *tasks, return_exceptions=True)

    async def _watch_lag(self) -> None:
        """How late the loop wakes a sleeper: a generator too busy to keep time would inflate
        every latency it measures (and could time a server out), so the report says it."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + _LAG_TICK_S
            await asyncio.sleep(_LAG_TICK_S)
            self.stats.loop_lag_ms.append(1000 * max(0.0, loop.time() - asked))

    async def _spawn(self, tasks: list[asyncio.Task[None]]) -> None:
        interval = 1.0 / self.options.spawn_rate if self.options.spawn_rate > 0 else 0.0
        for index in range(1, self.options.sessions + 1):
            if self.stopping.is_set():
                return
            tasks.append(asyncio.create_task(self._session(session_name(index))))
            if index < self.options.sessions and interval:
                await asyncio.sleep(interval)

    async def _pause(self, seconds: float) -> None:
        """Sleep, or less when the run is stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)

    def _record(self, result: TurnResult) -> None:
        self.stats.add(result, self.now())
        if self.on_turn is not None:
            self.on_turn(result)

    async def _session(self, name: str) -> None:
        played = 0
        session: LoadSession | None = None
        wanted = self.options.turns
        try:
            while not self.stopping.is_set() and (wanted is None or played < wanted):
                played += 1
                result = TurnResult(session=name, index=played, at=self.now())
                if session is None:
                    try:
                        session = await open_session(
                            self.script,
                            url=self.url,
                            profile=self.profile,
                            name=name,
                            report_dir=self.report_dir,
                        )
                    except SessionFailed as exc:
                        result.error = f"the session could not be opened: {exc}"
                        self._record(result)
                        await self._pause(_RETRY_S)
                        continue
                    self.stats.sessions += 1
                    self.stats.sessions_opened += 1
                self._turning += 1
                try:
                    await play_turn(session, result, url=self.url, profile=self.profile)
                finally:
                    self._turning -= 1
                    if not self._turning:
                        self._quiet.set()
                self._record(result)
                if result.error:  # its connection may be gone: the next turn opens anew
                    await self._close(session)
                    session = None
                await self._pause(self.options.wait_s)
        finally:
            if session is not None:
                if self.stopping.is_set():
                    # Sessions hang up together once no turn is under way: a crowd of
                    # disconnects would slow the server under the last turns.
                    self._quiet.clear()
                    if self._turning:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._quiet.wait(), turn_deadline(self.profile))
                await self._close(session)

    async def _close(self, session: LoadSession) -> None:
        self.stats.sessions -= 1
        with contextlib.suppress(Exception):  # closing is best effort
            await asyncio.wait_for(session.close(), 5.0)
