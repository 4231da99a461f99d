"""EVI under load: the scripted session and turn, judged by the catalogue's own cases.

A session is one chat, kept open from turn to turn. Each turn is a user_input answered up to
its assistant_end, then an assistant_input spoken up to its own: the values of the `text` and
`assistant-input` exchanges, so the text-turn, turn-order, audio-output and assistant-input
cases judge them unchanged. Each session's user_input names the session, so EVI-ISO-001 can
tell another chat's transcript on this socket (during a turn, or between two) from its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.engine.catalogue import matches
from conformance.engine.context import Env, Recorder
from conformance.engine.model import Case
from conformance.engine.transcript import Transcript, WireEvent
from conformance.profiles import merge
from conformance.protocols.evi.cases import ordered
from conformance.protocols.evi.cases.common import (
    AssistantExchange,
    TextExchange,
    prompt,
    scenario_values,
)
from conformance.protocols.evi.client import Chat, EviClient, fields, message_events
from conformance.protocols.evi.events import Server
from conformance.protocols.load import FIRST_AUDIO, TURN, LoadSession, Played

__all__ = ["SCRIPT", "EviLoad"]

_EVERY_TURN = ("EVI-TXT-*", "EVI-ORD-*", "EVI-OUT-*", "EVI-AIN-*", "EVI-ISO-001")


@dataclass(slots=True)
class _Session:
    env: Env
    name: str
    client: EviClient
    chat: Chat
    cases: list[Case]
    turns: int = 0
    between: list[WireEvent] = dataclasses.field(default_factory=list)
    seen: int = 0  # how many of the socket's messages the last turn accounted for

    def _fresh(self) -> Env:
        """A new wire log for the turn: the socket records into it, its mailbox emptied."""
        env = Env(
            url=self.env.url,
            profile=self.env.profile,
            recorder=Recorder(transcript=Transcript()),
            report_dir=self.env.report_dir,
            where=f"{self.name} turn {self.turns}",
        )
        self.client.env = env
        peer = self.chat.live
        peer.transcript = env.recorder.transcript
        self.between = message_events(peer.received[self.seen :])  # nobody asked for these
        peer.received.clear()
        return env

    def _foreign(self, events: Sequence[WireEvent]) -> list[WireEvent]:
        """The transcripts of another chat's user_input among a turn's messages."""
        mine = str(prompt(self.env, "text"))
        return [
            e
            for e in events
            if e.event == Server.USER_MESSAGE
            and str(fields(fields(e.payload).get("message")).get("content", "")) != mine
        ]

    async def turn(self) -> Played:
        self.turns += 1
        env = self._fresh()
        text = await self.client.text_turn(self.chat, str(prompt(env, "text")))
        said = await self.client.assistant_turn(self.chat, str(prompt(env, "assistant")))
        latencies: dict[str, float] = {}
        for key, kind in ((FIRST_AUDIO, Server.AUDIO_OUTPUT), (TURN, Server.ASSISTANT_END)):
            hit = text.of(kind)
            if hit:
                latencies[key] = 1000 * (hit[0].at - text.sent_at)
        heard = [*self.between, *self._foreign([*text.events, *said.events])]
        self.seen = len(self.chat.live.received)
        return Played(
            scenarios=scenario_values(
                {
                    "text": TextExchange(
                        chat=self.chat, bystander=self.chat, turn=text, heard=heard
                    ),
                    "assistant-input": AssistantExchange(
                        chat=self.chat, settings_reply=[], turn=said
                    ),
                }
            ),
            cases=self.cases,
            latencies_ms=latencies,
            transcript=env.recorder.transcript,
            profile=env.profile,
        )

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


class EviLoad:
    """The plug-in's load script (`ProtocolPlugin.load_script`)."""

    # No EVI fault of the reference needs concurrency to show.
    kill_matrix: Mapping[str, Sequence[str]] = {}

    async def open(self, env: Env, name: str) -> LoadSession:
        cases = [c for c in ordered() if any(matches(c.id, g) for g in _EVERY_TURN)]
        # The session's own words: another chat's transcript on this socket is then visible.
        said = f"{prompt(env, 'text')} This is {name}."
        data = merge(env.profile.data, {"prompts": {"text": said}})
        env = dataclasses.replace(env, profile=dataclasses.replace(env.profile, data=data))
        client = EviClient(env)
        try:
            chat = await client.open(name)
        except BaseException:
            await client.__aexit__(None, None, None)
            raise
        seen = len(chat.live.received)  # the chat_metadata that opened it
        return _Session(env=env, name=name, client=client, chat=chat, cases=cases, seen=seen)


SCRIPT = EviLoad()
