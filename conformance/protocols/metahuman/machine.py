"""A hypothesis state machine over MetaHuman AI Chat: updates, appends in random chunkings of
the fixture speech, commits, Receivers joining and leaving, and Sender reconnects.

Invariants, checked as the rules run (each break is MUST: a finding): an update is answered
with session.updated, or refused with a well-formed error (noted, MAY; the session is then
configured again with the profile's own update, which must succeed); a chunk before any update,
and a commit with nothing to commit, are answered (an error; accepting them is lenient, at most
NON-STRICT, and the machine starts again on a fresh Sender); every commit gets exactly one
transcription or one error; every answer awaited conforms to its schema; every response's
delta stream completes (ids 0..n-1, done on the last); nothing reaches another session's
Receiver (a bystander listens throughout).

The modes updated to are those of the profile's capabilities (all twelve when it names none).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from conformance import schemas
from conformance.engine.context import Env
from conformance.fuzz.judgement import lenient, observed
from conformance.fuzz.machine import ProtocolMachine
from conformance.fuzz.runner import Clock, LoopBridge
from conformance.protocols.metahuman.client import MetaHumanClient, Mode
from conformance.protocols.metahuman.events import Event, Role
from conformance.transports.socketio import SocketIOPeer

__all__ = ["LABELS", "machine"]

LABELS = [
    Mode(response_type=rt, is_base64=b, is_ordered=o).label
    for rt in ("single", "chain", "stream")
    for b in (True, False)
    for o in (True, False)
]


_GRACE_S = 0.3  # after an error that may answer an update: time for a session.updated


def _errors_since(peer: SocketIOPeer, start: int) -> int:
    return sum(1 for e in peer.received[start:] if e.event == Event.CUSTOM_ERROR)


def _since(peer: SocketIOPeer, start: int, event: str) -> int:
    return sum(1 for e in peer.received[start:] if e.event == event)


def _malformed(peer: SocketIOPeer, start: int) -> str | None:
    """The first answer to the Sender since `start` that violates its schema, in words."""
    checked = (
        Event.CUSTOM_ERROR,
        Event.SESSION_UPDATED,
        Event.INPUT_BUFFER_INITIALIZED,
        Event.REQUEST_TRANSCRIBE_DONE,
    )
    for event in peer.received[start:]:
        if event.event in checked:
            violations = schemas.errors("metahuman", event.event, event.payload)
            if violations:
                first = violations[0]
                return f"{event.event} violates its schema at {first.path or '/'}: {first.message}"
    return None


def _modes(capabilities: Mapping[str, Any]) -> list[str]:
    """The mode labels the profile's capabilities list; all of them when it lists none."""
    supported = [
        label
        for label in LABELS
        if (mode := Mode.parse(label)).response_type
        in capabilities.get("response_types", [mode.response_type])
        and mode.is_base64 in capabilities.get("is_base64", [mode.is_base64])
        and mode.is_ordered in capabilities.get("is_ordered", [mode.is_ordered])
    ]
    return supported or LABELS


def _done(event: Any) -> bool:
    payload = event.payload
    return (
        event.event == Event.RESPONSE_AUDIO_DELTA
        and isinstance(payload, Mapping)
        and payload.get("done") is True
    )


def machine(
    env: Env, bridge: LoopBridge, budget: Clock | None = None
) -> type[RuleBasedStateMachine]:
    """The state machine class, bound to a target and a budget."""
    speech = MetaHumanClient(env).speech()
    clock: Clock = budget if budget is not None else Clock(max_time=3600.0)
    modes = _modes(env.profile.section("capabilities"))

    class Protocol(ProtocolMachine, bridge=bridge, clock=clock, wait=4 * env.timeouts.turn):
        def __init__(self) -> None:
            super().__init__()
            self.orphans: list[tuple[SocketIOPeer, int]] = []  # Receivers of a left session
            self.client = MetaHumanClient(env)
            self.session_id = ""
            self.configured = False
            self.buffered = 0
            self.receivers: list[SocketIOPeer] = []
            self.sender = self._run(self.client.connect(Role.SENDER, "sender"))
            self.bystander = self._run(self._bystander())

        # --- plumbing ---

        async def _bystander(self) -> SocketIOPeer:
            other = await self.client.connect(Role.SENDER, "bystander-sender")
            answer = await self.client.configure(other, self.client.session_update())
            if answer is None or not isinstance(answer.payload, Mapping):
                raise self._broken("the bystander session could not be configured")
            return await self.client.connect(
                Role.RECEIVER, "bystander", str(answer.payload.get("sessionId"))
            )

        def _expect(
            self, peer: SocketIOPeer, events: tuple[str, ...], after: int, timeout: float, what: str
        ) -> Any:
            answer = self._run(self.client.answer(peer, events, timeout, after))
            if answer is None:
                raise self._broken(
                    f"{what}: awaited {' or '.join(events)} within {timeout:g} s; nothing came",
                )
            problem = _malformed(peer, after)
            if problem is not None:
                raise self._broken(f"{what}: {problem}")
            return answer

        def _configure(self, mode: Mode | None, what: str) -> bool:
            """session.update; True if applied, False if refused with a well-formed answer."""
            start = len(self.sender.received)
            self._run(self.sender.emit(Event.SESSION_UPDATE, self.client.session_update(mode)))
            answer = self._expect(
                self.sender,
                (Event.SESSION_UPDATED, Event.CUSTOM_ERROR),
                start,
                env.timeouts.event,
                what,
            )
            if answer.event == Event.CUSTOM_ERROR:
                # An error here may belong to an earlier event: a session.updated may follow.
                with contextlib.suppress(TimeoutError):
                    answer = self._run(
                        self.sender.wait_for(
                            lambda e: e.event == Event.SESSION_UPDATED, _GRACE_S, after=start
                        )
                    )
            payload = answer.payload if isinstance(answer.payload, Mapping) else {}
            if answer.event == Event.CUSTOM_ERROR or payload.get("success") is False:
                clock.observe(
                    observed(f"{what} was refused: {answer.event} {answer.payload!r:.120}")
                )
                return False
            self.session_id = str(payload.get("sessionId", ""))
            self.configured = True
            return True

        def _fresh_sender(self) -> None:
            """A new Sender socket: the model's state is known again (nothing configured)."""
            self._run(self.sender.close())
            self._run(asyncio.sleep(0.05))
            # A new socket is a new Sender: the old session's Receivers must hear no more.
            self.orphans += [(r, len(r.received)) for r in self.receivers]
            self.receivers = []
            self.sender = self._run(self.client.connect(Role.SENDER, "sender"))
            self.session_id, self.configured, self.buffered = "", False, 0

        def _drain(self, starts: list[int]) -> None:
            """Let a response the server chose to give (to input it accepted leniently) end,
            so that it is not taken for the next one's."""
            for receiver, begin in zip(self.receivers, starts, strict=True):
                try:
                    self._run(receiver.wait_for(lambda _: True, env.timeouts.event, after=begin))
                    self._run(receiver.wait_for(_done, env.timeouts.turn, after=begin))
                except TimeoutError:
                    continue

        # --- rules ---

        # Most sequences worth testing start with a configured session and a Receiver.
        @initialize(mode=st.sampled_from(modes))
        def start(self, mode: str) -> None:
            if not clock.active():
                return
            self.update(mode)
            self.join()

        @rule(mode=st.sampled_from(modes))
        def update(self, mode: str) -> None:
            if not clock.active():
                return
            self._note("update", mode=mode)
            if self._configure(Mode.parse(mode), f"session.update ({mode})"):
                return
            # Refused: what the server kept is its own business; the profile's own update
            # must still be applied, and the model goes on from there.
            if not self._configure(None, "after a refused update, the profile's session.update"):
                raise self._broken(
                    f"after a refused session.update ({mode}), the profile's own "
                    "session.update was refused too: the session no longer works",
                )

        @rule(
            cuts=st.lists(st.integers(min_value=1, max_value=max(1, len(speech) - 1)), max_size=6)
        )
        def append(self, cuts: list[int]) -> None:
            if not clock.active():
                return
            self._note("append", cuts=cuts)
            bounds = [0, *sorted(set(cuts)), len(speech)]
            start = len(self.sender.received)
            for a, b in itertools.pairwise(bounds):
                if b > a:
                    self._run(
                        self.sender.emit(Event.INPUT_BUFFER_APPEND, self.client.chunk(speech[a:b]))
                    )
            if not self.configured:
                # Every chunk gets its error: wait for all, so none is taken for a later answer.
                # A server may instead take the chunks (lenient): then it says so at once.
                sent = sum(1 for a, b in itertools.pairwise(bounds) if b > a)
                try:
                    self._run(
                        self.sender.wait_for(
                            lambda _: (
                                _errors_since(self.sender, start) >= sent
                                or _since(self.sender, start, Event.INPUT_BUFFER_INITIALIZED) > 0
                            ),
                            env.timeouts.event,
                            after=start,
                        )
                    )
                except TimeoutError:
                    got = _errors_since(self.sender, start)
                    raise self._broken(
                        f"{sent} chunks before session.update got {got} errors"
                    ) from None
                problem = _malformed(self.sender, start)
                if problem is not None:
                    raise self._broken(f"chunks before session.update: {problem}")
                if _since(self.sender, start, Event.INPUT_BUFFER_INITIALIZED):
                    clock.observe(
                        lenient("chunks before any session.update were accepted leniently")
                    )
                    self._fresh_sender()  # what the server made of them is not modelled
                return
            if self.buffered == 0:
                self._expect(
                    self.sender,
                    (Event.INPUT_BUFFER_INITIALIZED,),
                    start,
                    env.timeouts.event,
                    "the first chunk of a buffer",
                )
            self.buffered += 1

        # A whole turn in one step, so that sequences reach the responses often. Turns run
        # only with a Receiver to wait on: a response still in flight when a sequence ends
        # would reach the next sequence's sessions and blur whose it is.
        @precondition(lambda self: bool(self.receivers) or not self.configured)
        @rule(
            cuts=st.lists(st.integers(min_value=1, max_value=max(1, len(speech) - 1)), max_size=6)
        )
        def turn(self, cuts: list[int]) -> None:
            if not clock.active():
                return
            self.append(cuts)
            self.commit()

        @precondition(lambda self: bool(self.receivers) or not self.configured)
        @rule()
        def commit(self) -> None:
            if not clock.active():
                return
            self._note("commit")
            start = len(self.sender.received)
            starts = [len(r.received) for r in self.receivers]
            self._run(self.sender.emit(Event.INPUT_BUFFER_COMMIT))
            if not self.configured or self.buffered == 0:
                answer = self._expect(
                    self.sender,
                    (Event.CUSTOM_ERROR, Event.REQUEST_TRANSCRIBE_DONE),
                    start,
                    env.timeouts.event,
                    "a commit with nothing to commit",
                )
                if answer.event == Event.REQUEST_TRANSCRIBE_DONE:
                    clock.observe(lenient("a commit with nothing to commit was accepted leniently"))
                    if self.configured:
                        self._drain(starts)
                    else:
                        self._fresh_sender()  # what the server made of it is not modelled
                return
            self.buffered = 0
            self._expect(
                self.sender,
                (Event.REQUEST_TRANSCRIBE_DONE, Event.CUSTOM_ERROR),
                start,
                env.timeouts.transcription,
                "a commit",
            )
            self._run(asyncio.sleep(0.05))
            answers = [
                e.event
                for e in self.sender.received[start:]
                if e.event in (Event.REQUEST_TRANSCRIBE_DONE, Event.CUSTOM_ERROR)
            ]
            if len(answers) != 1:
                raise self._broken(
                    f"one commit got {answers}: exactly one transcription or one error expected",
                )
            if answers[0] == Event.CUSTOM_ERROR:
                return
            for receiver, begin in zip(self.receivers, starts, strict=True):
                self._complete(receiver, begin)

        def _complete(self, receiver: SocketIOPeer, begin: int) -> None:
            try:
                self._run(receiver.wait_for(_done, env.timeouts.turn, after=begin))
            except TimeoutError:
                raise self._broken(
                    f"{receiver.name}'s delta stream did not end within {env.timeouts.turn:g} s",
                ) from None
            self._run(asyncio.sleep(0.05))
            deltas = [
                e.payload
                for e in receiver.received[begin:]
                if e.event == Event.RESPONSE_AUDIO_DELTA
            ]
            ids = sorted(d.get("id", -1) if isinstance(d, Mapping) else -1 for d in deltas)
            if ids != list(range(len(ids))):
                raise self._broken(
                    f"{receiver.name} got delta ids {ids}: 0..n-1 each once was expected",
                )

        @precondition(lambda self: bool(self.session_id) and len(self.receivers) < 3)
        @rule()
        def join(self) -> None:
            if not clock.active():
                return
            self._note("join")
            connection = self._run(
                self.client.attempt(
                    Role.RECEIVER, f"receiver-{len(self.receivers)}", self.session_id
                )
            )
            if connection.peer is None:
                raise self._broken(
                    f"a Receiver naming the live session was refused: {connection.refusal!r}",
                )
            self.receivers.append(connection.peer)

        @precondition(lambda self: bool(self.receivers))
        @rule()
        def leave(self) -> None:
            if not clock.active():
                return
            self._note("leave")
            self._run(self.receivers.pop().close())

        # Only between turns: what a server keeps of a half-sent buffer is not specified.
        @precondition(lambda self: self.buffered == 0)
        @rule()
        def reconnect(self) -> None:
            if not clock.active():
                return
            self._note("reconnect")
            self._fresh_sender()

        def teardown(self) -> None:
            stray = [e.event for e in self.bystander.received[1:]]
            for orphan, heard in self.orphans:
                stray += [e.event for e in orphan.received[heard:] if e.event != "disconnect"]
            self._run(self.client.__aexit__(None, None, None))
            if stray:
                raise self._broken(f"another session's Receiver got {stray}")

    return Protocol
