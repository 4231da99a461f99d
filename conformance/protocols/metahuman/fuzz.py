"""Fuzzing MetaHuman AI Chat: generated session.update variants, malformed input, and a
state machine over the protocol. Every finding replays (`replay`)."""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conformance import schemas
from conformance.engine.context import Env
from conformance.engine.transcript import WireEvent
from conformance.fuzz.findings import Step
from conformance.fuzz.judgement import Judgement, broken, lenient, observed, worst
from conformance.fuzz.values import JSON, is_base64
from conformance.protocols.metahuman.client import MetaHumanClient
from conformance.protocols.metahuman.events import Event, Role
from conformance.transports.base import TransportError
from conformance.transports.socketio import SocketIOPeer

__all__ = ["judge_step", "negative_steps", "positive_steps", "witness"]

ERRORS = (Event.CUSTOM_ERROR, Event.CONNECT_ERROR)
# What accepts a step, besides an error event that refuses it.
_ACCEPTS: dict[str, tuple[str, ...]] = {
    Event.SESSION_UPDATE: (Event.SESSION_UPDATED,),
    Event.INPUT_BUFFER_APPEND: (Event.INPUT_BUFFER_INITIALIZED,),
    Event.INPUT_BUFFER_COMMIT: (Event.REQUEST_TRANSCRIBE_DONE,),
    "append-then-commit": (Event.REQUEST_TRANSCRIBE_DONE,),
}


# --- generation ----------------------------------------------------------------------------


def positive_steps() -> st.SearchStrategy[Step]:
    """Valid client messages: session.update from its JSON Schema; base64 chunks of any bytes.

    The schema marks the chunk `contentEncoding: base64`, which hypothesis-jsonschema does not
    honour, so chunks are drawn as bytes and encoded.
    """
    updates = from_schema(schemas.bundled("metahuman", Event.SESSION_UPDATE)).map(
        lambda payload: Step(
            event=Event.SESSION_UPDATE,
            args=(payload,),
            label="a valid session.update",
            expect="ack",
        )
    )
    chunks = st.binary(min_size=1, max_size=4096).map(
        lambda data: Step(
            event=Event.INPUT_BUFFER_APPEND,
            args=(base64.b64encode(data).decode(),),
            label=f"a valid base64 chunk of {len(data)} bytes",
            expect="ack",
        )
    )
    return st.one_of(updates, chunks)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a JSON object."""
    found: list[tuple[str, ...]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    return found


def _set(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def _drop(payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    node = changed
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return changed


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"nested": value}
    return value


def negative_steps(base: Mapping[str, Any]) -> st.SearchStrategy[Step]:
    """Schema-violating mutations of a valid session.update, and bad chunks and events."""
    update = dict(base)
    required = [
        ("STT",),
        ("LLM",),
        ("TTS",),
        ("STT", "provider"),
        ("LLM", "provider"),
        ("TTS", "provider"),
    ]
    enums = [
        ("STT", "provider", "name"),
        ("LLM", "provider", "name"),
        ("TTS", "provider", "name"),
        ("TTS", "responseType", "name"),
    ]
    typed = {
        ("TTS", "isBase64"): st.text(max_size=5),
        ("TTS", "speed"): st.text(max_size=5),
        ("LLM", "maxToken"): st.text(max_size=5)
        | st.floats(allow_nan=False, min_value=0.5, max_value=9.5),
        ("LLM", "stop"): st.text(max_size=5),
        ("LLM", "temperature"): st.text(min_size=1, max_size=5),
        ("STT", "sentimentAnalysis"): st.integers(),
    }
    known = set(_paths(update))

    def step(
        label: str, *args: Any, event: str = Event.SESSION_UPDATE, expect: str = "error"
    ) -> Step:
        return Step(event=event, args=args, label=label, expect=expect)

    mutations: list[st.SearchStrategy[Step]] = [
        st.sampled_from([p for p in required if p in known]).map(
            lambda p: step(f"session.update without {'.'.join(p)}", _drop(update, p))
        ),
        st.tuples(
            st.sampled_from([p for p in enums if p in known]), st.text(min_size=1, max_size=12)
        )
        .filter(
            lambda pv: (
                pv[1]
                not in (
                    "openai",
                    "aws",
                    "google",
                    "mistral",
                    "azure",
                    "aigames",
                    "clarity",
                    "bayer",
                    "single",
                    "chain",
                    "stream",
                )
            )
        )
        .map(
            lambda pv: step(
                f"session.update with {'.'.join(pv[0])} {pv[1]!r}",
                _set(update, pv[0], {"name": pv[1]} if pv[0][-1] != "name" else pv[1]),
            )
        ),
        st.sampled_from([p for p in typed if p in known]).flatmap(
            lambda p: typed[p].map(
                lambda v: step(f"session.update with {'.'.join(p)} = {v!r}", _set(update, p, v))
            )
        ),
        st.sampled_from([("STT",), ("LLM",), ("TTS",)]).flatmap(
            lambda p: JSON.filter(lambda v: not isinstance(v, dict)).map(
                lambda v: step(f"session.update with {p[0]} = {v!r}", _set(update, p, v))
            )
        ),
        st.integers(min_value=2000, max_value=100_000).map(
            lambda n: step(
                f"session.update with a {n}-character LLM.stop entry as a list of lists",
                _set(update, ("LLM", "stop"), [["x" * n]]),
            )
        ),
        st.integers(min_value=50, max_value=400).map(
            lambda d: step(
                f"session.update with STT {d} levels deep", _set(update, ("STT",), _deep(d))
            )
        ),
        JSON.filter(lambda v: not isinstance(v, dict)).map(
            lambda v: step(f"session.update with payload {v!r}", v)
        ),
        st.just(step("session.update with no payload")),
        # chunks
        st.text(min_size=1, max_size=40)
        .filter(lambda t: not is_base64(t))
        .map(
            lambda t: step(
                f"input.buffer.append of {t!r} (not base64)", t, event=Event.INPUT_BUFFER_APPEND
            )
        ),
        JSON.filter(lambda v: not isinstance(v, str | bytes)).map(
            lambda v: step(
                f"input.buffer.append of {v!r} (not a string)", v, event=Event.INPUT_BUFFER_APPEND
            )
        ),
        # The schema allows an empty chunk, and the size limit is the server's: either answer.
        st.just(
            step(
                "input.buffer.append of an empty chunk",
                "",
                event=Event.INPUT_BUFFER_APPEND,
                expect="any",
            )
        ),
        st.integers(min_value=1, max_value=64).map(
            lambda extra: step(
                f"input.buffer.append of a chunk {extra} KiB over the 1 MiB default limit",
                base64.b64encode(bytes((1 << 20) + (extra << 10))).decode(),
                event=Event.INPUT_BUFFER_APPEND,
                expect="any",
            )
        ),
        st.just(
            step(
                "input.buffer.append with extra arguments",
                "%%%",
                {"extra": True},
                event=Event.INPUT_BUFFER_APPEND,
            )
        ),
        st.just(step("input.buffer.append with no payload", event=Event.INPUT_BUFFER_APPEND)),
        st.binary(min_size=16, max_size=2048)
        .filter(
            lambda b: not b.startswith((b"ID3", b"RIFF", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3"))
        )
        .map(
            lambda b: step(
                f"a commit of {len(b)} bytes that are not audio",
                base64.b64encode(b).decode(),
                event="append-then-commit",
            )
        ),
        # events
        st.just(step("input.buffer.commit of an empty buffer", event=Event.INPUT_BUFFER_COMMIT)),
        st.text(min_size=1, max_size=24)
        .filter(
            lambda e: (
                e not in {str(v) for v in Event} and e not in ("connect", "disconnect", "message")
            )
        )
        .map(lambda e: step(f"an unknown event {e!r}", {"x": 1}, event=e)),
    ]
    return st.one_of(*mutations)


# --- judging -------------------------------------------------------------------------------


def _refusal(answer: WireEvent) -> bool:
    """An error event, or a session.updated that says the update was not applied."""
    if answer.event in ERRORS:
        return True
    payload = answer.payload
    return (
        answer.event == Event.SESSION_UPDATED
        and isinstance(payload, Mapping)
        and payload.get("success") is False
    )


def _unknown(step: Step) -> bool:
    return step.event not in {str(v) for v in Event} and step.event not in _ACCEPTS


async def _usable(client: MetaHumanClient, sender: SocketIOPeer, label: str) -> Judgement | None:
    """The connection is still there and takes the profile's session.update."""
    if not sender.connected:
        return broken(f"the server dropped the connection after {label}")
    try:
        probe = await client.configure(sender, client.session_update())
    except TransportError:
        probe = None
    if probe is None or probe.event != Event.SESSION_UPDATED or _refusal(probe):
        got = "nothing" if probe is None else f"{probe.event} {probe.payload!r:.120}"
        return broken(
            f"after {label}, the connection was not usable: the profile's session.update got "
            f"{got}, not session.updated"
        )
    return None


async def judge_step(env: Env, step: Step) -> Judgement | None:
    """Send one step on a fresh, configured session; None if it passed, else its judgement.

    Oracles (PROTOCOLS.md, the readings for all protocols): never allowed (MUST) are a dropped
    connection, no answer within the timeout, an answer that violates its schema, and a
    connection that no longer takes the profile's session.update. A bad input (`expect`
    "error") accepted is lenient (SHOULD); a valid one (`expect` "ack") refused with a
    well-formed error, or session.updated with success false, is a refusal (MAY, noted); with
    `expect` "any" either is right. An unknown event ignored without a word, the session still
    usable, is at most SHOULD too (the [default] answers it with custom.error; Socket.IO
    servers ignore events they have no handler for).
    """
    async with MetaHumanClient(env) as client:
        sender = await client.connect(Role.SENDER, "sender")
        ready = await client.configure(sender, client.session_update())
        if ready is None or ready.event != Event.SESSION_UPDATED or _refusal(ready):
            return broken(
                "the profile's own session.update got no session.updated (before the step)"
            )
        start = len(sender.received)
        try:
            if step.event == "append-then-commit":
                await sender.emit(Event.INPUT_BUFFER_APPEND, *step.args)
                await sender.emit(Event.INPUT_BUFFER_COMMIT)
            else:
                await sender.emit(step.event, *step.args)
        except TransportError as exc:
            return broken(f"the connection was gone while sending {step.label}: {exc}")
        wanted = (*_ACCEPTS.get(step.event, ()), *ERRORS)
        # A commit accepted (leniently) is answered by a transcription: give it that time.
        timeout = (
            env.timeouts.transcription
            if Event.REQUEST_TRANSCRIBE_DONE in wanted
            else env.timeouts.event
        )
        answer = await client.answer(sender, wanted, timeout, start)
        if answer is None:
            if not sender.connected:
                return broken(f"the server dropped the connection after {step.label}")
            if _unknown(step):
                unusable = await _usable(client, sender, step.label)
                return unusable or lenient(
                    f"{step.label} got no answer (ignored; the session still works)"
                )
            awaited = " or ".join(wanted)
            return broken(f"no {awaited} within {timeout:g} s after {step.label}")
        violations = schemas.errors("metahuman", answer.event, answer.payload)
        if violations:
            first = violations[0]
            where = first.path or "/"
            return broken(
                f"{answer.event} after {step.label} violates its schema at {where}: {first.message}"
            )
        soft: Judgement | None = None
        if step.expect == "ack" and _refusal(answer):
            soft = observed(f"{step.label} was refused: {answer.event} {answer.payload!r:.160}")
        elif step.expect == "error" and not _refusal(answer):
            soft = lenient(f"accepted {step.label} leniently (answered {answer.event})")
        return worst(await _usable(client, sender, step.label), soft)


async def witness(env: Env, during: asyncio.Event) -> str | None:
    """A concurrent session: its Receiver must hear nothing while others are fuzzed, and its
    own turn must complete afterwards."""
    async with MetaHumanClient(env) as client:
        sender = await client.connect(Role.SENDER, "witness-sender")
        updated = await client.configure(sender, client.session_update())
        if updated is None or not isinstance(updated.payload, dict):
            return "the witness session could not be configured"
        if client.receiver_is_sender:  # every socket is Sender and Receiver
            receiver = sender
        else:
            receiver = await client.connect(
                Role.RECEIVER, "witness-receiver", str(updated.payload.get("sessionId"))
            )
        heard_from = len(receiver.received)
        await during.wait()
        stray = [e.event for e in receiver.received[heard_from:]]
        if stray:
            return f"a concurrent session's Receiver got {stray} while other sessions were fuzzed"
        await client.append(sender)
        await sender.emit(Event.INPUT_BUFFER_COMMIT)
        try:
            await receiver.wait_for(
                lambda e: (
                    e.event == Event.RESPONSE_AUDIO_DELTA
                    and isinstance(e.payload, Mapping)
                    and e.payload.get("done") is True
                ),
                env.timeouts.turn,
            )
        except TimeoutError:
            return "after the fuzzing, a concurrent session's turn did not complete"
    return None
