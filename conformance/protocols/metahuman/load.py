"""MetaHuman AI Chat under load: the scripted session and turn, judged by the catalogue's cases.

A session is a Sender and a Receiver (one socket where the profile says the Sender receives)
that stay open from turn to turn. Its first turn configures it, in the TTS mode with the most
deltas the profile offers (chain, then stream, then single; base64 and ordered first); every
turn streams the fixture speech, commits and waits for the answer, as `run_turn` does. The
turn is then the value of the scenarios the per-turn cases ask for, so MH-BUF-*, MH-STT-*,
MH-TXT-*, MH-DELTA-*[mode], MH-TIME-001 and MH-TIME-002[mode] judge it unchanged. From the
second turn on, MH-ISO-001 judges what reached the session between its own turns: answers it
never asked for are another session's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from conformance.engine.catalogue import matches
from conformance.engine.context import Env
from conformance.engine.model import Case
from conformance.engine.transcript import WireEvent
from conformance.profiles import Profile
from conformance.protocols.load import FIRST_AUDIO, TURN, LoadSession, Played, turn_env
from conformance.protocols.metahuman.cases import ordered
from conformance.protocols.metahuman.cases.common import MODES, offered
from conformance.protocols.metahuman.cases.isolation import Bystander
from conformance.protocols.metahuman.client import MetaHumanClient, Mode, Turn, play_turn
from conformance.protocols.metahuman.events import Event, Role
from conformance.protocols.metahuman.reference.faults import FAULTS
from conformance.transports.socketio import SocketIOPeer

__all__ = ["LOAD_KILL_MATRIX", "SCRIPT", "MetaHumanLoad"]

# Faults of the reference that only concurrency shows (registered `under_load`), and the cases
# load mode must make FAILED against them (a single-session `conformance run` of the same cases
# passes them: tests/selftest/test_load_faults.py). Against the reference, load mode plays
# chain-base64-ordered.
LOAD_KILL_MATRIX = FAULTS.kill_matrix(under_load=True)

# The per-turn cases: the session's answer once, the rest every turn, isolation between turns.
_FIRST_TURN = ("MH-SES-001", "MH-SES-002", "MH-SES-003")
_EVERY_TURN = ("MH-BUF-00[1235]", "MH-STT-00[123]", "MH-TXT-*", "MH-TIME-001")
_BETWEEN_TURNS = ("MH-ISO-001",)

# The mode with the most deltas first: more of them can interleave, reorder or cross sessions.
_PREFERENCE = sorted(
    MODES,
    key=lambda m: (
        ("chain", "stream", "single").index(m.response_type),
        not m.is_base64,
        not m.is_ordered,
    ),
)
_RESPONSES = (Event.RESPONSE_TEXT, Event.RESPONSE_AUDIO_DELTA)


def _cases(globs: Sequence[str]) -> list[Case]:
    return [case for case in ordered() if any(matches(case.id, glob) for glob in globs)]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every session of a run plays: its mode, and the cases of each kind of turn."""

    mode: Mode
    base: Mode  # the mode `base_turn` picks: its cases ask for that scenario key
    first: list[Case]
    every: list[Case]
    between: list[Case]

    @classmethod
    def of(cls, profile: Profile) -> _Plan:
        modes = [m for m in _PREFERENCE if offered(profile, m)]
        if not modes:
            raise ValueError("the profile's capabilities offer no TTS mode")
        mode = modes[0]
        return cls(
            mode=mode,
            base=next(m for m in MODES if offered(profile, m)),
            first=_cases(_FIRST_TURN),
            every=_cases(_EVERY_TURN)
            # the mode's delta clauses, and its timing clause (a slow stream breaks that one
            # alone: the structural clauses are BLOCKED for it)
            + [
                c
                for c in ordered()
                if c.area in ("audio deltas", "timing") and c.params.get("mode") == mode
            ],
            between=_cases(_BETWEEN_TURNS),
        )


@dataclass(slots=True)
class _Session:
    env: Env
    name: str
    plan: _Plan
    client: MetaHumanClient
    sender: SocketIOPeer
    receiver: SocketIOPeer | None = None
    updated: WireEvent | None = None
    session_id: str = ""
    turns: int = 0
    previous: Turn | None = None
    marks: dict[str, int] = field(default_factory=dict)  # events seen per socket by the last turn

    @property
    def peers(self) -> list[SocketIOPeer]:
        return [p for p in (self.sender, self.receiver) if p is not None]

    def _between(self) -> list[str]:
        """The response events that reached the session's sockets since its last turn."""
        heard = []
        for peer in dict.fromkeys(self.peers):
            heard += [e.event for e in peer.received[self.marks.get(peer.name, 0) :]]
        return [e for e in heard if e in _RESPONSES]

    def _fresh(self) -> Env:
        env = turn_env(self.env, f"{self.name} turn {self.turns}", self.peers)
        self.client.env = env
        return env

    async def _configure(self, turn: Turn) -> bool:
        """The opening session.update and the Receiver's join; False when it failed."""
        if self.updated is None:
            answer = await self.client.configure(
                self.sender, self.client.session_update(self.plan.mode)
            )
            if answer is None or answer.event != Event.SESSION_UPDATED:
                turn.updated = answer
                turn.missing.append(Event.SESSION_UPDATED)
                return False
            self.updated = answer
            self.session_id = str((answer.payload or {}).get("sessionId", ""))
        turn.updated, turn.session_id = self.updated, self.session_id
        if self.client.receiver_is_sender:
            self.receiver = self.sender
        elif self.receiver is None:
            joined = await self.client.attempt(
                Role.RECEIVER, f"{self.name}/receiver", self.session_id
            )
            if joined.peer is None:  # the server's answer, judged by the cases
                turn.receiver_refusal = joined.refusal
                turn.missing.append("the Receiver's join")
            self.receiver = joined.peer
        turn.receiver = self.receiver
        return True

    async def turn(self) -> Played:
        self.turns += 1
        heard = self._between()
        env = self._fresh()
        turn = Turn(mode=self.plan.mode, sender=self.sender)
        cases = [*self.plan.first] if self.turns == 1 else []
        if await self._configure(turn):
            await play_turn(env, self.client, turn)
        cases += self.plan.every
        scenarios: dict[str, object] = {
            f"turn[{self.plan.mode.label}]": turn,
            f"turn[{self.plan.base.label}]": turn,
        }
        if self.previous is not None:
            scenarios["bystander"] = Bystander(turn=self.previous, heard=heard)
            cases += self.plan.between
        self.previous = turn
        self.marks = {peer.name: len(peer.received) for peer in self.peers}
        return Played(
            scenarios=scenarios,
            cases=cases,
            latencies_ms=_latencies(turn),
            transcript=env.recorder.transcript,
        )

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


def _latencies(turn: Turn) -> dict[str, float]:
    """Commit to the first audio delta, to the last (the answer complete), to the transcription."""
    found: dict[str, float] = {}
    deltas = turn.deltas
    if deltas:
        found[FIRST_AUDIO] = 1000 * (deltas[0].at - turn.commit_at)
        if turn.deltas_done:
            found[TURN] = 1000 * (deltas[-1].at - turn.commit_at)
    if turn.transcribed is not None:
        found["transcription"] = 1000 * (turn.transcribed.at - turn.commit_at)
    return found


class MetaHumanLoad:
    """The plug-in's load script (`ProtocolPlugin.load_script`)."""

    kill_matrix: Mapping[str, Sequence[str]] = LOAD_KILL_MATRIX

    def __init__(self) -> None:
        self._plan: tuple[Profile, _Plan] | None = None  # the sessions of a run share one

    def plan(self, profile: Profile) -> _Plan:
        if self._plan is None or self._plan[0] is not profile:
            self._plan = (profile, _Plan.of(profile))
        return self._plan[1]

    async def open(self, env: Env, name: str) -> LoadSession:
        plan = self.plan(env.profile)
        client = MetaHumanClient(env)
        try:
            sender = await client.connect(Role.SENDER, f"{name}/sender")
        except BaseException:
            await client.__aexit__(None, None, None)
            raise
        return _Session(env=env, name=name, plan=plan, client=client, sender=sender)


SCRIPT = MetaHumanLoad()
