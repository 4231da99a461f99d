"""Chat Mode under load: the scripted session and turn, judged by the catalogue's cases.

A session is one user (its own user_id, so that no two sessions are the same user): a token,
then the chat socket, kept open from turn to turn. Each turn sends the profile's text message,
waits for its answer and fetches the answer's `fileUrl`, as `run_turn` does; the turn is the
value of the `text` scenario, so CM-TXT-* and CM-AUD-* judge it unchanged. CM-ISO-001 judges
the other answers the socket got during the turn and since the last one: one message gets one
answer, so any other was another user's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.engine.catalogue import matches
from conformance.engine.context import Env
from conformance.engine.model import Case
from conformance.engine.transcript import WireEvent
from conformance.protocols.chatmode.cases import ordered
from conformance.protocols.chatmode.client import ANSWERS, ChatClient, Turn
from conformance.protocols.load import FIRST_AUDIO, TURN, LoadSession, Played, turn_env
from conformance.transports.base import TransportError
from conformance.transports.websocket import WebSocketPeer

__all__ = ["SCRIPT", "ChatModeLoad"]

_EVERY_TURN = ("CM-TXT-00[123]", "CM-AUD-*")
_BETWEEN_TURNS = ("CM-ISO-001",)


def _cases(globs: Sequence[str]) -> list[Case]:
    return [case for case in ordered() if any(matches(case.id, glob) for glob in globs)]


def user_id(base: str, name: str) -> str:
    """The session's own user_id: the profile's, suffixed; 1-128 of [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{base}-{name}")[-128:]


@dataclass(slots=True)
class _Session:
    env: Env
    name: str
    user: str
    client: ChatClient
    peer: WebSocketPeer
    every: list[Case]
    between: list[Case]
    turns: int = 0
    # Messages the socket had received when the last turn ended; None when that turn got no
    # answer (a late one is then no leak).
    mark: int | None = 0

    def _fresh(self) -> Env:
        env = turn_env(self.env, f"{self.name} turn {self.turns}", [self.peer])
        self.client.env = env
        return env

    async def turn(self) -> Played:
        self.turns += 1
        # Answers that came between two turns answered no message of this session.
        heard = [] if self.mark is None else self._answers(self.peer.received[self.mark :])
        env = self._fresh()
        message = self.client.text(user_id=self.user)
        turn = Turn(message=message, peer=self.peer)
        turn.sent_at = time.monotonic() - env.recorder.transcript.started
        await self.peer.send_json(message)
        turn.answer = await self.client.answer(self.peer, 0)
        turn.received = list(self.peer.received)
        turn.still_open = self.peer.connected
        latencies: dict[str, float] = {}
        payload = turn.answer.payload if turn.answer is not None else None
        url = payload.get("fileUrl") if isinstance(payload, Mapping) else None
        if turn.answer is not None:
            # The answer carries the audio's URL: the earliest a client can start playing.
            answered_ms = 1000 * (turn.answer.at - turn.sent_at)
            latencies[TURN] = answered_ms
            if isinstance(url, str) and url:
                latencies[FIRST_AUDIO] = answered_ms
                try:
                    turn.file = await self.client.fetch(url)
                except TransportError as exc:  # judged by CM-AUD-001, not an error of the run
                    turn.file_error = str(exc)
                latencies[TURN] = 1000 * (
                    time.monotonic() - env.recorder.transcript.started - turn.sent_at
                )
        # One message, one answer: any other answer in the turn was someone else's.
        if turn.answer is not None:
            heard += self._answers(self.peer.received[self.peer.received.index(turn.answer) + 1 :])
        self.mark = None if turn.answer is None else len(self.peer.received)
        cases = [*self.every, *self.between]
        scenarios: dict[str, object] = {"chatmode:text": turn, "chatmode:two-users": heard}
        return Played(
            scenarios=scenarios,
            cases=cases,
            latencies_ms=latencies,
            transcript=env.recorder.transcript,
        )

    @staticmethod
    def _answers(events: Sequence[WireEvent]) -> list[str]:
        return [e.event for e in events if e.event in ANSWERS]

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


class ChatModeLoad:
    """The plug-in's load script (`ProtocolPlugin.load_script`)."""

    # No Chat Mode fault of the reference needs concurrency to show.
    kill_matrix: Mapping[str, Sequence[str]] = {}

    def __init__(self) -> None:
        self._cases: tuple[list[Case], list[Case]] | None = None

    async def open(self, env: Env, name: str) -> LoadSession:
        if self._cases is None:
            self._cases = (_cases(_EVERY_TURN), _cases(_BETWEEN_TURNS))
        every, between = self._cases
        user = user_id(str(env.profile.section("auth").get("user_id")), name)
        client = ChatClient(env)
        try:
            peer = await client.open(name, user)
        except BaseException:
            await client.__aexit__(None, None, None)
            raise
        return _Session(
            env=env, name=name, user=user, client=client, peer=peer, every=every, between=between
        )


SCRIPT = ChatModeLoad()
