"""Open a scripted session and play one judged turn, each within its deadline.

Shared by the local runner and the Locust users, so both play and judge a turn the same way.
What a failure of the harness or the network is (a refused or lost connection, a deadline
passed) becomes the turn's `error`, never a violation of the server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from conformance.engine.context import SCENARIO_EXCHANGES, Env, Recorder, exchange_seconds
from conformance.engine.model import Blocked, HarnessError
from conformance.load.judge import judge
from conformance.profiles import Profile
from conformance.protocols.load import LoadScript, LoadSession, TurnResult

__all__ = ["SessionFailed", "open_session", "play_turn", "turn_deadline"]

# What ends a turn as ERROR: the harness or the network failed (a TransportError is a
# HarnessError).
_ERRORS = (HarnessError, Blocked, TimeoutError, OSError)


class SessionFailed(Exception):
    """A session could not be opened (refused, unreachable, past its deadline)."""


def turn_deadline(profile: Profile) -> float:
    """A turn's deadline: as a scenario's, a few exchanges' worth of the profile's timeouts."""
    return SCENARIO_EXCHANGES * exchange_seconds(profile)


async def open_session(
    script: LoadScript, *, url: str, profile: Profile, name: str, report_dir: Path
) -> LoadSession:
    """A new session of the script; SessionFailed saying why when it cannot be opened."""
    env = Env(url=url, profile=profile, recorder=Recorder(), report_dir=report_dir, where=name)
    deadline = exchange_seconds(profile)
    try:
        async with asyncio.timeout(deadline) as limit:
            return await script.open(env, name)
    except _ERRORS as exc:
        if isinstance(exc, TimeoutError) and limit.expired():
            raise SessionFailed(f"no session within {deadline:g} s") from None
        raise SessionFailed(str(exc) or type(exc).__name__) from None
    except Exception as exc:  # a fault of the suite: counted as ERROR, the run goes on
        raise SessionFailed(f"internal error: {type(exc).__name__}: {exc}") from None


async def play_turn(
    session: LoadSession, result: TurnResult, *, url: str, profile: Profile
) -> TurnResult:
    """Play one turn and judge it into `result`; a harness or network failure is its error."""
    try:
        async with asyncio.timeout(turn_deadline(profile)) as limit:
            played = await session.turn()
    except _ERRORS as exc:
        if isinstance(exc, TimeoutError) and limit.expired():
            result.error = (
                f"the turn did not end within its deadline of {turn_deadline(profile):g} s "
                "(every wait has its own timeout, so a suite fault)"
            )
        else:
            result.error = str(exc) or type(exc).__name__
        return result
    except Exception as exc:  # a fault of the suite: the turn is ERROR, the run goes on
        result.error = f"internal error: {type(exc).__name__}: {exc}"
        return result
    result.latencies_ms.update(played.latencies_ms)
    await judge(played, result, url=url, profile=played.profile or profile)
    return result
