"""Fuzzing Chat Mode: generated text and voice messages, malformed input, and a witness user
who must hear none of it. Every finding replays (`fuzzcases.replay`).

Steps: event "chat" sends a valid message bound to the profile (see `_bind`); event "json"
sends its argument as JSON, as it is; event "raw" sends its argument as text that is not JSON.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conformance import audio, schemas
from conformance.engine.context import Env
from conformance.engine.transcript import WireEvent
from conformance.fixtures import clip
from conformance.fuzz.findings import Step
from conformance.fuzz.judgement import Judgement, broken, lenient, observed
from conformance.fuzz.values import JSON, NOT_OBJECTS, is_base64
from conformance.protocols.chatmode.client import ANSWERS, ChatClient
from conformance.transports.base import TransportError
from conformance.transports.websocket import WebSocketPeer

__all__ = [
    "answer_of",
    "judge_step",
    "negative_steps",
    "positive_steps",
    "schema_problem",
    "witness",
]

# Overridden from the profile in every "chat" step. The schemas let any string through, but a
# server knows only its own avatars, languages and users (and whether Live Mode is on): the
# profile's avatar_id, language and user_id (the token's) are the ones a valid message names,
# and isLive is false (Live Mode is out of scope, PROTOCOLS.md §2).
BOUND = ("avatar_id", "user_id", "language", "isLive")
# Fields of the voice message: as unknown extras of a generated text message they would carry
# values of any type, which a server may rightly refuse.
_VOICE_ONLY = ("isPushToTalk", "file_base64_data")
_NOT_ANSWERS = ("event", "connect")  # what may come before the answer


# --- generation ----------------------------------------------------------------------------


def _text_step(generated: Any) -> Step:
    message = {k: v for k, v in dict(generated).items() if k not in _VOICE_ONLY}
    blank = not str(message.get("request", "")).strip()
    # The schema allows an empty `request`; whether a server takes one is a case's concern.
    return Step(
        event="chat",
        args=(message,),
        label="a valid text message" + (" with a blank request" if blank else ""),
        expect="any" if blank else "ack",
    )


def _voice_step(fmt: str, push_to_talk: bool | None, session: bool) -> Step:
    message: dict[str, Any] = {
        "avatar_id": "",
        "user_id": "",
        "chat_type": "voice",
        "language": "",
        "requestType": "audio",
        "source": "conformance",
        "isLive": False,
        "file_base64_data": {"$fixture": fmt},  # the profile's clip, filled in by `_bind`
    }
    if push_to_talk is not None:
        message["isPushToTalk"] = push_to_talk
    if session:
        message["session"] = ""
    extra = "" if push_to_talk is None else f", isPushToTalk {str(push_to_talk).lower()}"
    return Step(
        event="chat",
        args=(message,),
        label=f"a valid {fmt} voice message{extra}" + (" with the session" if session else ""),
        expect="ack",
    )


def positive_steps(voice_formats: tuple[str, ...] = ("wav", "webm")) -> st.SearchStrategy[Step]:
    """Valid messages: text messages from chat.text's JSON Schema, and voice messages of the
    fixture clip in each of the profile's formats (capabilities.voice_formats)."""
    texts = from_schema(schemas.bundled("chatmode", "chat.text")).map(_text_step)
    if not voice_formats:
        return texts
    voices = st.builds(
        _voice_step,
        st.sampled_from(voice_formats),
        st.none() | st.booleans(),
        st.booleans(),
    )
    return st.one_of(texts, voices)


_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=8),
    "boolean": st.booleans(),
}
REQUIRED_TEXT = (
    "avatar_id",
    "user_id",
    "chat_type",
    "language",
    "request",
    "requestType",
    "source",
    "isLive",
)
_STRINGS = ("avatar_id", "user_id", "chat_type", "language", "request", "requestType", "source")


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"nested": value}
    return value


def _eight_khz(speech: bytes | None) -> bytes:
    """WAV at 8 kHz: the profile's clip resampled, or a tone when none is given."""
    segment = (
        audio.decode(speech)
        if speech is not None
        else audio.tone(440.0, 800, sample_rate=8000, volume_db=-12.0)
    )
    return audio.encode(segment.set_frame_rate(8000).set_channels(1), "wav")


def negative_steps(
    base_text: Mapping[str, Any], speech: bytes | None = None
) -> st.SearchStrategy[Step]:
    """Mutations of a valid text message (the profile's), and bad voice messages, each of which
    a server must answer with a system message. `speech` is the fixture clip (WAV), resampled
    for the 8 kHz step."""
    text = copy.deepcopy(dict(base_text))
    voice = {k: v for k, v in text.items() if k != "request"}
    voice.update(chat_type="voice", requestType="audio")

    def step(label: str, payload: Any, event: str = "json") -> Step:
        return Step(event=event, args=(payload,), label=label, expect="error")

    def changed(message: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        return {**copy.deepcopy(dict(message)), **fields}

    def wrong_type(name: str) -> st.SearchStrategy[Step]:
        right = str if name in _STRINGS else bool
        values = JSON.filter(lambda v: not isinstance(v, right))
        return values.map(
            lambda v: step(f"a text message with {name} = {v!r}", changed(text, **{name: v}))
        )

    mutations: list[st.SearchStrategy[Step]] = [
        st.sampled_from([n for n in REQUIRED_TEXT if n in text]).map(
            lambda n: step(f"a text message without {n}", {k: v for k, v in text.items() if k != n})
        ),
        st.sampled_from([n for n in REQUIRED_TEXT if n in text]).flatmap(wrong_type),
        st.sampled_from(
            [
                ("text", "audio"),
                ("voice", "text"),
                ("audio", "audio"),
                ("TEXT", "text"),
            ]
        ).map(
            lambda ct: step(
                f"a text message with chat_type {ct[0]!r} and requestType {ct[1]!r}",
                changed(text, chat_type=ct[0], requestType=ct[1]),
            )
        ),
        st.text(min_size=1, max_size=12)
        .filter(lambda t: t not in ("text", "voice"))
        .map(
            lambda t: step(
                f"a message with chat_type {t!r}", changed(text, chat_type=t, requestType=t)
            )
        ),
        st.just(step("a text message with isLive true", changed(text, isLive=True))),
        st.integers(min_value=1, max_value=200).map(
            lambda kb: step(
                f"a text message whose request is a list holding {kb} KB of text",
                changed(text, request=["x" * (kb << 10)]),
            )
        ),
        st.integers(min_value=1, max_value=200).map(
            lambda kb: step(
                f"a text message whose isLive is a {kb} KB string",
                changed(text, isLive="y" * (kb << 10)),
            )
        ),
        st.integers(min_value=50, max_value=400).map(
            lambda d: step(
                f"a text message whose request is {d} levels deep", changed(text, request=_deep(d))
            )
        ),
        NOT_OBJECTS.map(lambda v: step(f"the JSON {v!r} (not an object)", v)),
        st.text(min_size=1, max_size=40)
        .filter(lambda t: not _parses(t))
        .map(lambda t: step(f"the text {t!r} (not JSON)", t, event="raw")),
        # voice
        st.just(step("a voice message without file_base64_data", voice)),
        st.text(min_size=1, max_size=40)
        .filter(lambda t: not is_base64(t))
        .map(
            lambda t: step(
                f"a voice message whose file_base64_data is {t!r} (not base64)",
                changed(voice, file_base64_data=t),
            )
        ),
        st.binary(min_size=16, max_size=2048)
        .filter(lambda b: audio.sniff(b) is None)
        .map(
            lambda b: step(
                f"a voice message of {len(b)} bytes that are not audio",
                changed(voice, file_base64_data=base64.b64encode(b).decode()),
            )
        ),
        st.just(
            step(
                "a voice message of 8 kHz WAV (16 kHz is required)",
                changed(voice, file_base64_data=base64.b64encode(_eight_khz(speech)).decode()),
            )
        ),
    ]
    return st.one_of(*mutations)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# --- judging -------------------------------------------------------------------------------


async def _bind(client: ChatClient, token: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """A "chat" step's message with the profile's identity, audio and the live session."""
    bound = dict(message)
    base = client.text()
    bound.update({k: base[k] for k in BOUND if k in base})
    bound["isLive"] = False
    data = bound.get("file_base64_data")
    if isinstance(data, Mapping) and "$fixture" in data:
        bound["file_base64_data"] = base64.b64encode(
            _speech(client, str(data["$fixture"]))
        ).decode()
    if "session" in bound:
        answer = await client.connection(token)
        body = answer.json()
        if isinstance(body, Mapping) and isinstance(body.get("session"), str):
            bound["session"] = body["session"]
    return bound


def _speech(client: ChatClient, fmt: str) -> bytes:
    name = str(client.env.profile.section("audio").get("fixture"))
    return clip(name).files[fmt].read_bytes()


def answer_of(event: WireEvent) -> bool:
    """What ends a turn: incoming or system, and anything else that is not an `event` (a
    message without a valid `type` too, so that it is judged instead of awaited); a close."""
    return event.event in ANSWERS or event.event not in _NOT_ANSWERS


def schema_problem(events: list[WireEvent]) -> str | None:
    """The first server message that is not a valid server.message, in words; None if all are."""
    for event in events:
        if event.event in ("connect", "close"):
            continue
        payload = event.args[0] if event.args else None
        violations = schemas.errors("chatmode", "server.message", payload)
        if violations:
            first = violations[0]
            return (
                f"a server message violates server.message at {first.path or '/'}: "
                f"{first.message} ({payload!r:.120})"
            )
    return None


async def _answer(peer: WebSocketPeer, after: int, timeout: float) -> WireEvent | None:
    try:
        return await peer.wait_for(answer_of, timeout, after=after)
    except TimeoutError:
        return None


async def probe(client: ChatClient, peer: WebSocketPeer) -> str | None:
    """A valid text message on `peer` must be answered with `incoming`; None if it is."""
    start = len(peer.received)
    try:
        await peer.send_json(client.text())
    except TransportError:
        return "the socket was gone"
    answer = await _answer(peer, start, client.env.timeouts.turn)
    if answer is None:
        return f"a valid text message got no answer within {client.env.timeouts.turn:g} s"
    if answer.event == "close":
        return f"the server closed it (code {answer.payload}) instead of answering a text message"
    if answer.event != "incoming":
        return f"a valid text message was answered with {answer.event}: {answer.payload!r:.160}"
    return schema_problem(peer.received[start:])


async def judge_step(env: Env, step: Step) -> Judgement | None:
    """Send one step on a fresh socket; None if it passed, else its judgement.

    Oracles (PROTOCOLS.md, the readings for all protocols): never allowed (MUST) are a refused
    or dropped socket, no answer within the timeout, a close instead of an answer, a server
    message that violates server.message, and a socket that no longer answers a valid text
    message with `incoming`. An invalid message (`expect` "error") answered with `incoming`
    was accepted leniently (SHOULD); a valid one (`expect` "ack") answered with a well-formed
    `system` message was refused (MAY, noted); with `expect` "any" either is right.
    """
    async with ChatClient(env) as client:
        token = await client.token()
        peer, refusal = await client.attempt("sender", token)
        if peer is None:
            return broken(f"the chat socket refused a fresh token: {refusal!r}")
        start = len(peer.received)
        payload = step.args[0] if step.args else None
        try:
            if step.event == "raw":
                await peer.send_text(str(payload))
            elif step.event == "chat" and isinstance(payload, Mapping):
                await peer.send_json(await _bind(client, token, payload))
            else:
                await peer.send_json(payload)
        except TransportError as exc:
            return broken(f"the socket was gone while sending {step.label}: {exc}")
        timeout = env.timeouts.event if step.expect == "error" else env.timeouts.turn
        answer = await _answer(peer, start, timeout)
        if answer is None:
            wanted = {"error": "system message", "ack": "incoming answer"}.get(
                step.expect, "incoming or system message"
            )
            if step.expect == "error" and env.timeouts.turn > timeout:
                # Accepted (lenient), the answer is a turn's: the turn's time before "silent".
                answer = await _answer(peer, start, env.timeouts.turn - timeout)
                timeout = env.timeouts.turn
            if answer is None:
                return broken(f"no {wanted} within {timeout:g} s after {step.label}")
        if answer.event == "close":
            return broken(f"the server closed the socket after {step.label} without answering")
        problem = schema_problem(peer.received[start:])
        if problem is not None:
            return broken(f"after {step.label}, {problem}")
        soft: Judgement | None = None
        if step.expect == "error" and answer.event != "system":
            soft = lenient(f"accepted {step.label} leniently (answered {answer.event})")
        if step.expect == "ack" and answer.event != "incoming":
            soft = observed(f"{step.label} was refused: {answer.event} {answer.payload!r:.160}")
        if not peer.connected:
            return broken(f"the server closed the socket after answering {step.label}")
        unusable = await probe(client, peer)
        if unusable is not None:
            return broken(f"after {step.label}, the socket was not usable: {unusable}")
    return soft


async def witness(env: Env, during: asyncio.Event) -> str | None:
    """A second user's socket: it must hear nothing while others are fuzzed, and its own text
    turn must be answered with `incoming` afterwards."""
    async with ChatClient(env) as client:
        other = env.profile.section("auth").get("other_user_id")
        peer = await client.open("witness", str(other) if other else None)
        heard = len(peer.received)
        await during.wait()
        stray = Counter(e.event for e in peer.received[heard:])
        if stray:
            got = ", ".join(f"{n} {event}" for event, n in stray.items())
            return f"another user's socket got {got} message(s) while other users were fuzzed"
        message = client.text()
        if other:
            message["user_id"] = str(other)
        start = len(peer.received)
        try:
            await peer.send_json(message)
        except TransportError:
            return "after the fuzzing, another user's socket was gone"
        answer = await _answer(peer, start, env.timeouts.turn)
        if answer is None or answer.event != "incoming":
            got = "nothing" if answer is None else answer.event
            return f"after the fuzzing, another user's text message got {got}, not incoming"
    return None
