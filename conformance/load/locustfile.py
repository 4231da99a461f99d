"""Locust users that play the protocols' scripted sessions, judged as `conformance load` judges.

Run it with Locust's own command (its path: `python -m conformance.load.locustfile`):

    locust -f "$(python -m conformance.load.locustfile)" --host http://HOST:PORT \\
        [--conformance-protocol NAME] [--conformance-profile FILE] [--conformance-wait S]

Distributed: the same file on every machine, `--master` on one and `--worker --master-host H`
on the others (Locust forwards the `--conformance-*` options and `--host` to the workers; the
profile file must exist at the same path on each). Headless, CSV and the web UI are Locust's.

Each user is one session (`ProtocolPlugin.load_script`): opened in `on_start`'s first task,
then each task plays and judges one turn with the catalogue's per-turn cases. Every turn fires
Locust request events with the protocol as the request type: each latency the turn measured
under its name (`first_audio`, `turn`, ...), `turn` failing when the turn broke a MUST clause
(the exception names the clauses) or ended in ERROR, and one failure per broken clause (request
type `clause`, named by the case id) so that Locust's failure table counts each clause. The
sessions run on one asyncio loop per Locust process, on a native thread (`bridge.py`).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # `python -m conformance.load.locustfile`: where this file is
    print(__file__)
    sys.exit(0)

# The path printer above must run before Locust is imported (Locust patches everything).
import contextlib
import itertools
import os
from pathlib import Path
from typing import Any

from locust import User, events, task
from locust.env import Environment

from conformance.load.bridge import LoopThread
from conformance.load.runner import session_name
from conformance.load.turns import SessionFailed, open_session, play_turn
from conformance.protocols.load import LoadSession, TurnResult
from conformance.target import Target, TargetError

_LOOP: LoopThread | None = None
_NUMBERS = itertools.count(1)


class TurnFailed(Exception):
    """A turn broke MUST clauses (named), or ended in ERROR: Locust's failure."""


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--conformance-protocol",
        default="",
        help="the protocol (default: the profile's protocol, else the default one)",
    )
    parser.add_argument(
        "--conformance-profile", default="", help="the target's profile (YAML); default built-in"
    )
    parser.add_argument(
        "--conformance-wait", type=float, default=0.0, help="a session's pause between turns (s)"
    )


_TARGET: Target | None = None


def _target(environment: Environment) -> Target:
    """The target of this process, resolved once from Locust's options (never the embedded
    server: each Locust process needs the same real host)."""
    global _TARGET
    if _TARGET is None:
        options = environment.parsed_options
        if options is None:  # Locust always parses its command line before users start
            raise ValueError("Locust gave no options")
        try:
            _TARGET = Target.resolve(
                url=environment.host or None,
                protocol=options.conformance_protocol or None,
                profile=Path(options.conformance_profile) if options.conformance_profile else None,
                report_dir=Path(os.getcwd()),
                embedded=False,
                # no asyncio outside the loop thread under gevent's patching (bridge.py)
                preflight=False,
            )
        except TargetError as exc:
            raise ValueError(f"{exc} (give the server with --host)") from None
    return _TARGET


def _loop() -> LoopThread:
    global _LOOP
    if _LOOP is None:
        _LOOP = LoopThread()
    return _LOOP


class ScriptedSession(User):
    """One session of the protocol's scripted turn; each task plays and judges one turn."""

    def wait_time(self) -> float:
        return float(getattr(self.environment.parsed_options, "conformance_wait", 0.0) or 0.0)

    def on_start(self) -> None:
        # Numbered per process: the worker's pid keeps names apart across workers.
        self.session_name = f"{session_name(next(_NUMBERS))}-{os.getpid()}"
        self.session: LoadSession | None = None
        self.turns = 0

    def _fire(self, name: str, ms: float, exception: Exception | None, kind: str = "") -> None:
        self.environment.events.request.fire(
            request_type=kind or _target(self.environment).protocol,
            name=name,
            response_time=ms,
            response_length=0,
            exception=exception,
            context={"session": self.session_name},
        )

    @task
    def turn(self) -> None:
        target = _target(self.environment)
        self.turns += 1
        if self.session is None:
            opening = open_session(
                target.plugin.load_script(),
                url=target.url,
                profile=target.profile,
                name=self.session_name,
                report_dir=target.report_dir,
            )
            try:
                self.session = _loop().call(opening)
            except SessionFailed as exc:
                self._fire("session", 0.0, TurnFailed(f"ERROR: {exc}"))
                return
        result = _loop().call(
            play_turn(
                self.session,
                TurnResult(session=self.session_name, index=self.turns, at=0.0),
                url=target.url,
                profile=target.profile,
            )
        )
        self._report(result)
        if result.error:  # its connection may be gone: the next turn opens anew
            self._close()

    def _report(self, result: TurnResult) -> None:
        broken = [v for v in result.violations if v.level.value == "MUST"]
        for name, ms in result.latencies_ms.items():
            if name != "turn":
                self._fire(name, ms, None)
        failure: TurnFailed | None = None
        if result.error:
            failure = TurnFailed(f"ERROR: {result.error}")
        elif broken:
            failure = TurnFailed(", ".join(sorted({v.case for v in broken})))
        self._fire("turn", result.latencies_ms.get("turn", 0.0), failure)
        for violation in {v.case: v for v in broken}.values():
            self._fire(violation.case, 0.0, TurnFailed(violation.message), kind="clause")

    def _close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                _loop().call(session.close())

    def on_stop(self) -> None:
        self._close()
