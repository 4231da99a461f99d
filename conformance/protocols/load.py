"""What a protocol plug-in supplies for load mode, and what one judged turn yields.

Plain data and two small protocols, the shared model beside `faults.py` and `variants.py`: a
plug-in's `load.py` imports this module and nothing of `conformance.load`, and load mode
(runner, judge, reports, the Locust bridge) reaches a protocol only through
`ProtocolPlugin.load_script`.

A scripted session is opened once (connect; a plug-in may configure in its first turn, so the
cases judge that answer) and then plays the protocol's scripted turn again and again. Each
turn hands back the scenario values the catalogue's cases ask for (`ctx.scenario(key)`) and
the cases that judge them, so a turn under load is judged by the very functions
`conformance run` uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from conformance.engine.context import Env, Recorder
from conformance.engine.model import Case, Level
from conformance.engine.transcript import Transcript
from conformance.profiles import Profile

if TYPE_CHECKING:
    from conformance.transports.base import Mailbox

__all__ = [
    "FIRST_AUDIO",
    "LATENCIES",
    "TURN",
    "LoadScript",
    "LoadSession",
    "Played",
    "TurnResult",
    "TurnViolation",
    "turn_env",
]

# The latencies every protocol measures, in ms from the end of the user's input: to the first
# audio of the answer (or what carries it), and to the end of the answer.
FIRST_AUDIO = "first_audio"
TURN = "turn"
LATENCIES = (FIRST_AUDIO, TURN)


@dataclass(frozen=True, slots=True, kw_only=True)
class Played:
    """One scripted turn as played: what the cases judge, and its figures. Never judged here."""

    scenarios: Mapping[str, Any]  # scenario key -> value, as the cases ask for them
    cases: Sequence[Case]  # the catalogue's cases that judge this turn
    latencies_ms: Mapping[str, float]  # FIRST_AUDIO and TURN when they were measured, others
    transcript: Transcript  # this turn's wire log, every socket of the session
    # the profile the session played with, when it gave itself its own values (the words it
    # says, so that another session's are told apart); None: the run's profile
    profile: Profile | None = None


class LoadSession(Protocol):
    """One scripted session of a protocol: its sockets stay open from turn to turn."""

    async def turn(self) -> Played:
        """Play the scripted turn once more. Raises HarnessError or TransportError when the
        harness or the network failed (the turn is an ERROR, never a violation)."""
        ...

    async def close(self) -> None: ...


class LoadScript(Protocol):
    """What a plug-in gives load mode (`ProtocolPlugin.load_script`)."""

    async def open(self, env: Env, name: str) -> LoadSession:
        """Connect a new session named `name` (unique in the run) to `env.url`."""
        ...

    @property
    def kill_matrix(self) -> Mapping[str, Sequence[str]]:
        """Faults of the reference only concurrency shows -> the cases (ids or globs) load
        mode must make FAILED against them; the single-session kill matrix leaves them out."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnViolation:
    """A clause one turn broke."""

    case: str  # the case id, e.g. "MH-DELTA-002[chain-base64-ordered]"
    level: Level  # the level broken (a case may lower its own for part of a clause)
    clause: str
    message: str
    expected: str
    observed: str


@dataclass(slots=True, kw_only=True)
class TurnResult:
    """One turn of one session, judged: its latencies, the clauses it broke, or its error."""

    session: str
    index: int  # the turn's number within its session, from 1
    at: float  # seconds since the run began, when the turn began
    latencies_ms: dict[str, float] = field(default_factory=dict)
    violations: list[TurnViolation] = field(default_factory=list)
    judged: int = 0  # cases that judged the turn (passed or not)
    blocked: int = 0  # cases not judged because another case's failure took what they need
    error: str = ""  # the harness or the network failed: not the server's violation
    # the turn's wire log when it broke something or failed (reports keep a few as examples)
    transcript: Transcript | None = None

    @property
    def failed(self) -> bool:
        """A MUST clause broken."""
        return any(v.level is Level.MUST for v in self.violations)


def turn_env(session: Env, where: str, peers: Sequence[Mailbox]) -> Env:
    """The Env of a session's next turn: a wire log of its own, which the session's open
    sockets record into from now on, their mailboxes emptied (what a turn judges is its own)."""
    env = Env(
        url=session.url,
        profile=session.profile,
        recorder=Recorder(transcript=Transcript()),
        report_dir=session.report_dir,
        where=where,
    )
    for peer in dict.fromkeys(peers):
        peer.transcript = env.recorder.transcript
        peer.received.clear()
    return env
