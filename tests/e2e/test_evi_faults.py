"""Every fault of the reference EVI server is observable on the wire, and absent without it.

Each observation runs against a clean server (it must see nothing) and against the server with
the fault (it must see the defect): the pairing that keeps the faults honest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from conformance import audio
from conformance.fixtures import clip
from conformance.protocols.evi.reference.faults import FAULTS
from tests.e2e.evi_harness import (
    CLIP,
    LINEAR16_QUERY,
    TOOL,
    Evi,
    Socket,
    pcm,
    served,
    turn_audio,
)

Observation = Callable[[Evi], Awaitable[bool]]
OBSERVATIONS: dict[str, Observation] = {}
ABSENT_S = 1.5  # how long a clean server may take to send what a faulty one never sends
HELLO = {"type": "user_input", "text": "Hello there."}
LONG = {"type": "user_input", "text": "Please tell me a long story about a robot."}


def observes(name: str) -> Callable[[Observation], Observation]:
    """Register an observation of one fault."""

    def register(observation: Observation) -> Observation:
        OBSERVATIONS[name] = observation
        return observation

    return register


def observes_turn(
    name: str, predicate: Callable[[list[dict[str, Any]]], bool], payload: Any = HELLO
) -> None:
    """Register an observation that is a predicate over one whole turn (up to assistant_end,
    and what follows it for a moment)."""

    async def over_turn(evi: Evi) -> bool:
        socket = await evi.chat()
        mark = len(socket.received)
        await socket.send(payload)
        await socket.wait("assistant_end", since=mark)
        await socket.quiet(0.2)
        return predicate(socket.received[mark:])

    OBSERVATIONS[name] = over_turn


async def absent(socket: Socket, kind: str, *, since: int) -> bool:
    """Whether no `kind` arrives after `since` within ABSENT_S."""
    try:
        await socket.wait(kind, since=since, timeout=ABSENT_S)
    except AssertionError:
        return True
    return False


def _of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def _indexes(messages: list[dict[str, Any]]) -> dict[str, list[int]]:
    by_id: dict[str, list[int]] = {}
    for m in _of(messages, "audio_output"):
        by_id.setdefault(m["id"], []).append(m.get("index", -1))
    return by_id


observes_turn("audio-index-gap", lambda t: any(max(i) >= len(i) for i in _indexes(t).values()))
observes_turn(
    "audio-index-duplicate", lambda t: any(len(set(i)) != len(i) for i in _indexes(t).values())
)
observes_turn(
    "audio-output-without-index", lambda t: any("index" not in m for m in _of(t, "audio_output"))
)
observes_turn(
    "corrupt-audio-output",
    lambda t: any(audio.sniff(data) is None for data in turn_audio(t).values()),
)


def _audio_after_end(messages: list[dict[str, Any]]) -> bool:
    kinds = [m["type"] for m in messages]
    return "audio_output" in kinds[kinds.index("assistant_end") :]


observes_turn("assistant-end-early", _audio_after_end)
observes_turn("final-transcript-interim", lambda t: _of(t, "user_message")[-1]["interim"])
observes_turn(
    "time-end-before-begin",
    lambda t: any(m["time"]["end"] < m["time"]["begin"] for m in _of(t, "user_message")),
)
observes_turn("user-input-not-from-text", lambda t: not _of(t, "user_message")[0]["from_text"])
observes_turn(
    "assistant-input-not-from-text",
    lambda t: not _of(t, "assistant_message")[0]["from_text"],
    {"type": "assistant_input", "text": "Welcome back."},
)


@observes("metadata-not-first")
async def _metadata_not_first(evi: Evi) -> bool:
    socket = await evi.chat()
    return socket.types()[0] != "chat_metadata"


@observes("serves-without-auth")
async def _serves_without_auth(evi: Evi) -> bool:
    try:
        socket = await evi.connect(auth=False)
    except aiohttp.WSServerHandshakeError:
        return False
    await socket.quiet(0.3)
    return any(m["type"] == "chat_metadata" for m in socket.received)


@observes("query-settings-ignored")
async def _query_settings_ignored(evi: Evi) -> bool:
    socket = await evi.chat(**LINEAR16_QUERY)
    mark = len(socket.received)
    await socket.stream(pcm(), [3200])
    await socket.quiet(1.0)
    heard = [m["message"]["content"] for m in socket.of("user_message", mark)]
    return heard != [clip(CLIP).text]


@observes("no-assistant-end")
async def _no_assistant_end(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send(HELLO)
    return await absent(socket, "assistant_end", since=1)


@observes("responds-while-paused")
async def _responds_while_paused(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send({"type": "pause_assistant_message"})
    await socket.send(HELLO)
    return not await absent(socket, "assistant_message", since=1)


@observes("silent-after-resume")
async def _silent_after_resume(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send({"type": "pause_assistant_message"})
    await socket.send(HELLO)
    await socket.wait("user_message")
    await socket.send({"type": "resume_assistant_message"})
    return await absent(socket, "assistant_end", since=1)


async def _tool_call(evi: Evi) -> tuple[Socket, dict[str, Any]]:
    socket = await evi.chat()
    await socket.send({"type": "session_settings", "tools": [TOOL]})
    await socket.send({"type": "user_input", "text": "What is the weather in Paris? get_weather"})
    return socket, await socket.wait("tool_call")


@observes("tool-parameters-not-json")
async def _tool_parameters_not_json(evi: Evi) -> bool:
    _, call = await _tool_call(evi)
    try:
        json.loads(call["parameters"])
    except ValueError:
        return True
    return False


@observes("tool-response-ignored")
async def _tool_response_ignored(evi: Evi) -> bool:
    socket, call = await _tool_call(evi)
    mark = len(socket.received)
    await socket.send(
        {"type": "tool_response", "tool_call_id": call["tool_call_id"], "content": "Sunny"}
    )
    return await absent(socket, "assistant_end", since=mark)


@observes("unknown-tool-call-accepted")
async def _unknown_tool_call_accepted(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send({"type": "tool_response", "tool_call_id": "never-issued", "content": "x"})
    return await absent(socket, "error", since=1)


@observes("no-interruption")
async def _no_interruption(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send(LONG)
    await socket.wait("audio_output")
    await socket.send({"type": "user_input", "text": "Stop."})
    return await absent(socket, "user_interruption", since=1)


@observes("inactivity-ignored")
async def _inactivity_ignored(evi: Evi) -> bool:
    socket = await evi.chat(config_id=await evi.config_id(1, None))
    await asyncio.sleep(1 + ABSENT_S / 2)
    return not socket.closed.is_set()


@observes("max-duration-ignored")
async def _max_duration_ignored(evi: Evi) -> bool:
    socket = await evi.chat(config_id=await evi.config_id(None, 1))
    await asyncio.sleep(1 + ABSENT_S / 2)
    return not socket.closed.is_set()


@observes("resume-new-group")
async def _resume_new_group(evi: Evi) -> bool:
    group = (await evi.chat()).received[0]["chat_group_id"]
    resumed = await evi.chat(resumed_chat_group_id=group)
    return bool(resumed.received[0]["chat_group_id"] != group)


@observes("error-without-slug")
async def _error_without_slug(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send("not json")
    return "slug" not in await socket.wait("error")


@observes("close-on-bad-message")
async def _close_on_bad_message(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send("not json")
    await socket.quiet(0.3)
    return socket.closed.is_set()


@observes("silently-drop-bad-message")
async def _silently_drop_bad_message(evi: Evi) -> bool:
    socket = await evi.chat()
    await socket.send("not json")
    await socket.send({"type": "user_input"})
    dropped = await absent(socket, "error", since=1)
    await socket.turn(HELLO)  # the chat itself still works
    return dropped


@observes("cross-chat-leak")
async def _cross_chat_leak(evi: Evi) -> bool:
    bystander = await evi.chat()
    await (await evi.chat()).turn(HELLO)
    return bystander.types() != ["chat_metadata"]


def test_every_fault_has_an_observation() -> None:
    """The table of observations covers exactly the registered faults (the contract's 26)."""
    assert set(OBSERVATIONS) == set(FAULTS)
    assert len(FAULTS) == 26


def test_every_fault_names_its_clause_and_source() -> None:
    """Each fault says what it does wrong, the clause it breaks and where that is written."""
    for fault in FAULTS.values():
        assert fault.summary, fault.name
        assert fault.clause, fault.name
        assert fault.source, fault.name


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_fault_is_observable(name: str) -> None:
    """The defect is seen with the fault, and not seen on the clean server."""
    observe = OBSERVATIONS[name]
    async with served() as clean:
        assert not await observe(clean), f"{name} observed on the clean server"
    async with served([name], check=False) as faulty:
        assert await observe(faulty), f"{name} not observed with the fault injected"
