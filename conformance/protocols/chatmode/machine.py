"""A hypothesis state machine over Chat Mode: one user's text and voice turns, invalid
messages, reconnects with a new token, and a second user joining and leaving.

Invariants, checked as the rules run (each break is MUST: a finding): every message, valid or
not, gets exactly one answer (`incoming` or `system`) within its timeout, and the socket stays
open; every server message is a valid server.message; each `incoming` answer's fileUrl (if any)
fetches with 200; nothing reaches the second user. Below MUST, tallied on the case: an invalid
message answered with `incoming` was accepted leniently (SHOULD, NON-STRICT); a valid one
answered with a well-formed `system` message was refused (MAY, noted).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from conformance.engine.context import Env
from conformance.fuzz.judgement import lenient, observed
from conformance.fuzz.machine import ProtocolMachine
from conformance.fuzz.runner import Clock, LoopBridge
from conformance.profiles import Timeout
from conformance.protocols.chatmode.client import ChatClient
from conformance.protocols.chatmode.fuzz import answer_of, schema_problem
from conformance.transports.base import TransportError
from conformance.transports.websocket import WebSocketPeer

__all__ = ["INVALID", "REQUESTS", "machine"]

REQUESTS = ("Hello, how are you?", "What is the weather like today?", "Tell me a joke.")
# Invalid messages, by name (rule arguments stay JSON): each is a valid text message changed.
INVALID: dict[str, Callable[[dict[str, Any]], Any]] = {
    "without-request": lambda m: {k: v for k, v in m.items() if k != "request"},
    "without-avatar_id": lambda m: {k: v for k, v in m.items() if k != "avatar_id"},
    "request-not-a-string": lambda m: {**m, "request": 42},
    "isLive-not-a-boolean": lambda m: {**m, "isLive": "false"},
    "type-mismatch": lambda m: {**m, "requestType": "audio"},
    "isLive-true": lambda m: {**m, "isLive": True},
    "bad-base64": lambda m: {
        **{k: v for k, v in m.items() if k != "request"},
        "chat_type": "voice",
        "requestType": "audio",
        "file_base64_data": "%%% not base64 %%%",
    },
    "not-audio": lambda m: {
        **{k: v for k, v in m.items() if k != "request"},
        "chat_type": "voice",
        "requestType": "audio",
        "file_base64_data": base64.b64encode(b"not audio at all " * 32).decode(),
    },
    "a-list": lambda m: [m],
    "not-json": lambda m: "this is not json {",
}
_SETTLE_S = 0.05  # after an answer: time for a duplicate to arrive before counting


def machine(
    env: Env, bridge: LoopBridge, budget: Clock | None = None
) -> type[RuleBasedStateMachine]:
    """The state machine class, bound to a target and a budget."""
    clock: Clock = budget if budget is not None else Clock(max_time=3600.0)
    capabilities = env.profile.section("capabilities")
    formats = [str(f) for f in capabilities.get("voice_formats", [])] or ["wav"]
    live = bool(capabilities.get("live_mode", False))
    invalid_kinds = [k for k in INVALID if not (live and k == "isLive-true")]
    other_user = env.profile.section("auth").get("other_user_id")

    class Protocol(ProtocolMachine, bridge=bridge, clock=clock, wait=4 * env.timeouts.turn):
        def __init__(self) -> None:
            super().__init__()
            self.client = ChatClient(env)
            self.other: WebSocketPeer | None = None
            self.other_heard = 0
            self.peer = self._run(self.client.open("user"))
            self.settled = len(self.peer.received)  # everything before this was judged

        # --- plumbing ---

        def _quiet(self) -> None:
            """Nothing answered twice since the last turn; nothing reached the other user."""
            late = [e.event for e in self.peer.received[self.settled :] if answer_of(e)]
            if late:
                raise self._broken(f"after its answer, the user's socket got {late}")
            if self.other is not None:
                stray = [e.event for e in self.other.received[self.other_heard :]]
                if stray:
                    raise self._broken(f"the other user's socket got {stray} of the first's turns")

        def _send(self, what: str, message: Any) -> int:
            self._quiet()
            start = len(self.peer.received)
            try:
                if isinstance(message, str):
                    self._run(self.peer.send_text(message))
                else:
                    self._run(self.peer.send_json(message))
            except TransportError as exc:
                raise self._broken(f"the socket was gone sending {what}: {exc}") from None
            return start

        def _answer(
            self, what: str, start: int, timeout: Timeout, patience: Timeout | None = None
        ) -> Any:
            """The one answer (`incoming` or `system`) to what was sent at `start`: within
            `timeout`, or (`patience`, for a turn accepted leniently) that longer timeout."""
            limit = timeout
            try:
                answer = self._run(self.peer.wait_for(answer_of, limit, after=start))
            except TimeoutError:
                answer = None
            if answer is None and patience is not None and patience > limit:
                try:
                    answer = self._run(self.peer.wait_for(answer_of, patience - limit, after=start))
                except TimeoutError:
                    answer = None
                limit = patience
            if answer is None:
                raise self._broken(f"{what}: no answer within {limit.cited}")
            self._run(asyncio.sleep(_SETTLE_S))
            received = self.peer.received[start:]
            problem = schema_problem(received)
            if problem is not None:
                raise self._broken(f"{what}: {problem}")
            answers = [e.event for e in received if answer_of(e) and e.event != "close"]
            if len(answers) != 1:
                raise self._broken(
                    f"{what} got {answers or ['a close']}: exactly one incoming or system expected",
                )
            self.settled = len(self.peer.received)
            return answer

        def _turn(self, what: str, message: Any) -> None:
            start = self._send(what, message)
            answer = self._answer(what, start, env.timeouts.turn)
            payload = answer.payload
            if answer.event != "incoming":
                clock.observe(observed(f"{what} was refused: {answer.event} {payload!r:.120}"))
                self._quiet()
                return
            url = payload.get("fileUrl") if isinstance(payload, Mapping) else None
            if isinstance(url, str) and url:
                fetched = self._run(self.client.fetch(url))
                if fetched.status != 200:
                    raise self._broken(f"{what}: its fileUrl answered HTTP {fetched.status}")
            self._quiet()

        # --- rules ---

        @rule(request=st.sampled_from(REQUESTS))
        def text(self, request: str) -> None:
            if not clock.active():
                return
            self._note("text", request=request)
            self._turn("a text message", self.client.text(request))

        @rule(fmt=st.sampled_from(formats), push_to_talk=st.none() | st.booleans())
        def voice(self, fmt: str, push_to_talk: bool | None) -> None:
            if not clock.active():
                return
            self._note("voice", fmt=fmt, push_to_talk=push_to_talk)
            fields = {} if push_to_talk is None else {"isPushToTalk": push_to_talk}
            message = self.client.voice(self.client.speech(fmt), **fields)
            self._turn(f"a {fmt} voice message", message)

        @rule(kind=st.sampled_from(invalid_kinds))
        def invalid(self, kind: str) -> None:
            if not clock.active():
                return
            self._note("invalid", kind=kind)
            what = f"an invalid message ({kind})"
            start = self._send(what, INVALID[kind](self.client.text()))
            answer = self._answer(what, start, env.timeouts.event, patience=env.timeouts.turn)
            if not self.peer.connected:
                raise self._broken(f"the server closed the socket after {what}")
            if answer.event != "system":
                clock.observe(lenient(f"accepted {what} leniently (answered {answer.event})"))

        @rule()
        def reconnect(self) -> None:
            if not clock.active():
                return
            self._note("reconnect")
            self._quiet()
            self._run(self.peer.close())
            self.peer = self._run(self.client.open("user"))
            self.settled = len(self.peer.received)

        @precondition(lambda self: self.other is None)
        @rule()
        def join(self) -> None:
            if not clock.active():
                return
            self._note("join")
            self.other = self._run(
                self.client.open("other-user", str(other_user) if other_user else None)
            )
            self.other_heard = len(self.other.received)

        @precondition(lambda self: self.other is not None)
        @rule()
        def leave(self) -> None:
            if not clock.active():
                return
            self._note("leave")
            self._quiet()
            if self.other is not None:
                self._run(self.other.close())
            self.other = None

        def teardown(self) -> None:
            try:
                if clock.active() and not self.broken:
                    self._run(asyncio.sleep(_SETTLE_S))
                    self._quiet()
            finally:
                self._run(self.client.__aexit__(None, None, None))

    return Protocol
