"""A hypothesis state machine over one EVI chat: text and audio turns, assistant inputs, tool
rounds, pauses and resumes, interruptions, and reconnects (resuming the chat group or not).

Invariants, checked as the rules run (each break is MUST: a finding): chat_metadata first on
every connection, a resumed one with the chat group it names and a new chat_id; every message
well-formed; every answered turn ends with assistant_end and nothing of it follows; audio_output
indexes strictly increase per id (and run 0..n-1 as the profile reads them); nothing from the
assistant while paused, and one answer after a resume that has something to answer; a tool_call
whose result is sent is answered; speech over the assistant gets user_interruption, stops the
interrupted audio, and is a turn of its own; nothing arrives between turns. Below MUST, tallied
on the case: a valid input refused with a well-formed error (MAY, noted).

Every wait has the profile's timeouts (`EviClient`); rule arguments are JSON, so a finding's
rule sequence replays (`conformance.fuzz.runner.replay_rules`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from conformance.engine.context import Env
from conformance.engine.model import Blocked
from conformance.fuzz.judgement import observed
from conformance.fuzz.machine import ProtocolMachine
from conformance.fuzz.runner import Clock, LoopBridge
from conformance.protocols.evi.client import Chat, EviClient, Interruption, Turn
from conformance.protocols.evi.events import ANSWER, Client, Server
from conformance.protocols.evi.invariants import (
    TOOL_PARAMETERS,
    conformance,
    mapping,
    opened,
    turn_problem,
)
from conformance.transports.base import TransportError

__all__ = ["PROMPTS", "SAID", "machine"]

T = TypeVar("T")

# None mentions the profile's tool: a tool_call is asked for by its own rule.
PROMPTS = ("Hello, how are you today?", "Tell me a joke.", "What time is it?")
SAID = ("Welcome back.", "I am the assistant of a conformance test.")
_SPOKEN = (*ANSWER, Server.ASSISTANT_END)
# The results a tool round sends (tool_response, or tool_error with the seed's fields).
_RESULTS: dict[str, dict[str, Any]] = {
    Client.TOOL_RESPONSE: {"content": "Sunny, 22 degrees", "tool_type": "function"},
    Client.TOOL_ERROR: {
        "error": "service down",
        "code": "E_TOOL",
        "level": "warn",
        "content": "The weather service is down.",
    },
}


def machine(
    env: Env, bridge: LoopBridge, budget: Clock | None = None
) -> type[RuleBasedStateMachine]:
    """The state machine class, bound to a target and a budget."""
    clock: Clock = budget if budget is not None else Clock(max_time=3600.0)
    capabilities = env.profile.section("capabilities")
    tools = env.profile.section("tools")
    prompts = env.profile.section("prompts")
    resumable = st.booleans() if capabilities.get("resumption") else st.just(False)

    class EviChat(ProtocolMachine, bridge=bridge, clock=clock, wait=4 * env.timeouts.turn):
        def __init__(self) -> None:
            super().__init__()
            # An env of its own: what the client remembers of a failed turn (later turns
            # BLOCKED) belongs to one sequence, not to the ones hypothesis tries after it.
            own = Env(
                url=env.url, profile=env.profile, recorder=env.recorder, report_dir=env.report_dir
            )
            self.client = EviClient(own)
            self.group = self.chat_id = ""
            self.connections = 0
            self.opened = False

        chat: Chat  # the chat of the moment, opened by `open`

        # --- plumbing ---

        def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
            try:
                return super()._run(coroutine)
            except Blocked as exc:  # an earlier input of this sequence got no message at all
                raise self._broken(str(exc)) from None

        def _active(self) -> bool:
            """Within the budget, on an opened chat (out of it, the rules do nothing)."""
            return clock.active() and self.opened

        def _connect(self, resume: bool) -> Chat:
            """A new chat (resuming the group when asked); the chat's state starts afresh."""
            self.connections += 1
            query = {"resumed_chat_group_id": self.group} if resume else None
            chat = self._run(self.client.attempt(f"chat-{self.connections}", query=query))
            problem = opened(chat, env)
            if problem is not None:
                raise self._broken(problem + (" (resuming its chat group)" if resume else ""))
            metadata = mapping(chat.first.payload if chat.first else None)
            group, chat_id = metadata.get("chat_group_id"), metadata.get("chat_id")
            if resume and group != self.group:
                raise self._broken(
                    f"resumed_chat_group_id={self.group} opened a chat of the group {group!r}"
                )
            if resume and chat_id == self.chat_id:
                raise self._broken(f"the resumed chat has the old chat_id {chat_id!r}")
            self.group, self.chat_id = str(group), str(chat_id)
            self.paused = self.held = self.declared = self.tools = False
            self.settled = len(chat.live.received)  # what came before this was judged
            return chat

        def _judge(self, start: int, what: str) -> None:
            """Every message since `start` is well-formed, and the socket is still open."""
            received = self.chat.live.received[start:]
            judged = conformance(received)
            if judged is not None and judged.breaks:
                raise self._broken(f"{what}: {judged.reason}")
            if judged is not None:
                clock.observe(judged)
            if any(e.event == "close" for e in received):
                raise self._broken(f"the server closed the chat during {what}")

        def _idle(self) -> None:
            """Nothing from the assistant since the last rule's exchange was over."""
            self._judge(self.settled, "between exchanges")
            spoken = [
                e.event for e in self.chat.live.received[self.settled :] if e.event in _SPOKEN
            ]
            if spoken:
                when = "while paused" if self.paused else "after the exchange was over"
                raise self._broken(f"{len(spoken)} {spoken[0]} came {when}")

        def _settle(self) -> None:
            self.settled = len(self.chat.live.received)

        def _send(self, kind: str, what: str, **fields: Any) -> int:
            start = len(self.chat.live.received)
            try:
                self._run(self.client.send(self.chat, kind, **fields))
            except TransportError as exc:
                raise self._broken(f"the socket was gone sending {what}: {exc}") from None
            return start

        def _turn(self, turn: Turn, what: str) -> Turn:
            """An answered turn judged (a tool_call the server chose is answered too)."""
            self._judge(turn.start, what)
            if turn.end is not None and turn.end.event == Server.ERROR:
                clock.observe(observed(f"{what} was refused: {turn.end.payload!r:.120}"))
                return turn
            if turn.end is not None and turn.end.event == Server.TOOL_CALL:
                return self._answer_tool(turn, Client.TOOL_RESPONSE, what)
            problem = turn_problem(env, turn, what)
            if problem is not None:
                raise self._broken(problem)
            return turn

        def _quiet_while_paused(self, start: int, what: str) -> None:
            self._run(asyncio.sleep(env.timeouts.silence))
            self._judge(start, what)
            spoken = [e.event for e in self.chat.live.received[start:] if e.event in _SPOKEN]
            if spoken:
                raise self._broken(f"while paused, {what} got {len(spoken)} {spoken[0]}")
            self.held = True

        def _pcm(self) -> None:
            """linear16 at the profile's rate, declared once per chat."""
            if not self.declared:
                self._send(
                    Client.SESSION_SETTINGS, "session_settings", audio=self.client.pcm_settings()
                )
                self.declared = True

        def _answer_tool(self, call: Turn, kind: str, what: str) -> Turn:
            issued = mapping(call.end.payload if call.end else None)
            parameters = issued.get("parameters")
            try:
                json.loads(str(parameters))
            except ValueError:
                raise self._broken(
                    f"{what}: tool_call.parameters is not stringified JSON: {parameters!r:.80}"
                ) from None
            fields = {**_RESULTS[kind], "tool_call_id": issued.get("tool_call_id")}
            if kind == Client.TOOL_RESPONSE:
                fields["tool_name"] = issued.get("name")
            answered = self._run(self.client.tool_answer(self.chat, kind, **fields))
            return self._turn(answered, f"the {kind} to {what}'s tool_call")

        # --- rules ---

        # A rule, not the constructor, so that a chat refused or not opened by chat_metadata
        # is a finding with a rule sequence that replays.
        @initialize()
        def open(self) -> None:
            if not clock.active():
                return
            self._note("open")
            self.chat = self._connect(resume=False)
            self.opened = True

        @rule(prompt=st.sampled_from(PROMPTS))
        def text(self, prompt: str) -> None:
            if not self._active():
                return
            self._note("text", prompt=prompt)
            self._idle()
            if self.paused:
                start = self._send(Client.USER_INPUT, "a user_input", text=prompt)
                self._quiet_while_paused(start, "a user_input")
            else:
                self._turn(self._run(self.client.text_turn(self.chat, prompt)), "a user_input")
            self._settle()

        @rule(chunk=st.integers(min_value=256, max_value=8192))
        def speech(self, chunk: int) -> None:
            if not self._active():
                return
            self._note("speech", chunk=chunk)
            self._idle()
            self._pcm()
            data = self.client.pcm()
            seconds = len(data) / 2 / int(self.client.pcm_settings()["sample_rate"])
            heard = not self.paused
            turn = self._run(
                self.client.audio_turn(self.chat, data, chunk, seconds, answered=heard)
            )
            if heard:
                self._turn(turn, f"speech in chunks of {chunk} bytes")
            else:
                self._quiet_while_paused(turn.start, "speech")
            self._settle()

        @precondition(lambda self: not self.paused)
        @rule(text=st.sampled_from(SAID))
        def assistant(self, text: str) -> None:
            if not self._active():
                return
            self._note("assistant", text=text)
            self._idle()
            turn = self._run(self.client.assistant_turn(self.chat, text))
            self._turn(turn, "an assistant_input")
            self._settle()

        @precondition(lambda self: bool(capabilities.get("pause")) and not self.paused)
        @rule()
        def pause(self) -> None:
            if not self._active():
                return
            self._note("pause")
            self._idle()
            self._send(Client.PAUSE_ASSISTANT_MESSAGE, "pause_assistant_message")
            self.paused, self.held = True, False
            self._settle()

        @precondition(lambda self: self.paused)
        @rule()
        def resume(self) -> None:
            if not self._active():
                return
            self._note("resume")
            self._idle()
            held, self.paused, self.held = self.held, False, False
            turn = self.client.mark(self.chat)
            self._send(Client.RESUME_ASSISTANT_MESSAGE, "resume_assistant_message")
            if not held:  # nothing to answer: what a server does then is not modelled
                self._run(self.client.settle(self.chat))
                self._judge(turn.start, "resume_assistant_message")
                self._settle()
                return
            what = "resume_assistant_message after input during the pause"
            self._turn(self._run(self.client.finish(turn)), what)
            after = self._run(self.client.quiet(self.chat, env.timeouts.silence))
            ends = len(turn.of(Server.ASSISTANT_END)) + sum(
                e.event == Server.ASSISTANT_END for e in after
            )
            if ends > 1:
                raise self._broken(f"{what} got {ends} answers: the last user message's only")
            self._settle()

        @precondition(lambda self: bool(capabilities.get("tools")) and not self.paused)
        @rule(kind=st.sampled_from([Client.TOOL_RESPONSE, Client.TOOL_ERROR]))
        def tool(self, kind: str) -> None:
            if not self._active():
                return
            self._note("tool", kind=str(kind))
            self._idle()
            if not self.tools:
                tool = {
                    "type": "function",
                    "name": str(tools.get("name", "get_weather")),
                    "parameters": TOOL_PARAMETERS,
                    "fallback_content": "The weather service is unavailable.",
                }
                self._send(Client.SESSION_SETTINGS, "session_settings", tools=[tool])
                self.tools = True
            what = "the tool's prompt"
            call = self._run(self.client.tool_call(self.chat, str(tools.get("prompt"))))
            self._judge(call.start, what)
            if call.end is not None and call.end.event == Server.TOOL_CALL:
                self._answer_tool(call, kind, what)
            else:
                answered = self._turn(call, what)
                if answered.ended:
                    clock.observe(observed(f"{what} was answered without a tool_call"))
            self._settle()

        # The prompt is an argument (always prompts.long) so that hypothesis, which tries the
        # rules without arguments first, does not spend its first sequence interrupting.
        @precondition(lambda self: bool(capabilities.get("interruption")) and not self.paused)
        @rule(prompt=st.just(str(prompts.get("long"))))
        def interrupt(self, prompt: str) -> None:
            if not self._active():
                return
            self._note("interrupt", prompt=prompt)
            self._idle()
            self._pcm()
            start = len(self.chat.live.received)
            seen = self._run(self.client.interrupt(self.chat, prompt))
            self._judge(start, "an interruption")
            self._interrupted(seen)
            self._settle()

        def _interrupted(self, seen: Interruption) -> None:
            what = "speech over the assistant's answer"
            refusals = [e for e in seen.events if e.event == Server.ERROR]
            if seen.speech_at is None or any(
                e.event == Server.ASSISTANT_END and e.at < seen.speech_at for e in seen.events
            ):
                # Nothing was being said when the speech began: nothing to interrupt.
                if refusals:
                    clock.observe(observed(f"prompts.long was refused: {refusals[0].payload!r}"))
                return
            cut = next(
                (
                    i
                    for i, e in enumerate(seen.events)
                    if e.event == Server.USER_INTERRUPTION and e.at >= seen.speech_at
                ),
                None,
            )
            if cut is None:
                raise self._broken(f"{what} got no user_interruption")
            interrupted = {
                mapping(e.payload).get("id")
                for e in seen.events[:cut]
                if e.event == Server.AUDIO_OUTPUT
            }
            late = [
                e
                for e in seen.events[cut:]
                if e.event == Server.AUDIO_OUTPUT and mapping(e.payload).get("id") in interrupted
            ]
            if late:
                raise self._broken(f"{len(late)} audio_output of the interrupted answer followed")
            if seen.answer is None:
                raise self._broken(f"{what} got no final user_message: it was no turn")
            self._turn(seen.answer, what)

        @rule(resume=resumable)
        def reconnect(self, resume: bool) -> None:
            if not self._active():
                return
            self._note("reconnect", resume=resume)
            self._idle()
            self._run(self.chat.live.close())
            self.chat = self._connect(resume)

        def teardown(self) -> None:
            try:
                if self._active() and not self.broken:
                    self._run(self.client.settle(self.chat))
                    self._idle()
            finally:
                self._run(self.client.__aexit__(None, None, None))

    return EviChat
