"""Fuzzing EVI: client messages generated from the JSON Schemas, mutations of them, and a
witness chat that must hear none of it. Every finding replays (`fuzzcases.replay`).

Each example runs on a chat of its own. Steps (`Step.event`):
- "json": send args[0] as JSON, as it is (a client message, valid or not);
- "raw": send args[0] as a text frame (not JSON, or JSON too deep to build as a value);
- "speech": the profile's fixture clip as audio_input chunks; args: how ({"format": "pcm" |
  "wav" | "webm", "chunk": bytes, and for pcm "rate" and "declared": "message" | "query"}) and
  an audio_input template (its fields besides `data`);
- "tool": the profile's tool declared (args[0]: its optional fields), its prompt, and the
  tool_call answered with args[1] (a tool_response or tool_error, its tool_call_id bound);
- "pause": args[0] (pause_assistant_message), a user_input, then args[1] (resume_...).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections import Counter
from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conformance import audio, schemas
from conformance.engine.context import Env
from conformance.engine.model import Blocked
from conformance.fuzz.findings import Step
from conformance.fuzz.judgement import Judgement, broken, lenient, observed, worst
from conformance.fuzz.values import JSON, NOT_OBJECTS, is_base64
from conformance.protocols.evi.client import Chat, EviClient, Turn
from conformance.protocols.evi.events import ANSWER, Client, Server
from conformance.protocols.evi.invariants import (
    BEGUN,
    LEAKS,
    TOOL_PARAMETERS,
    conformance,
    head,
    mapping,
    opened,
    probe,
    probe_text,
    turn_problem,
)
from conformance.transports.base import TransportError

__all__ = [
    "QUIET_WHEN_TAKEN",
    "judge_step",
    "negative_steps",
    "positive_steps",
    "valid_message",
    "witness",
]

PROTOCOL = "evi"
# Client messages a server that takes them answers with nothing: for these, silence is lenient
# acceptance (NON-STRICT), as the EVI-ERR cases read it, not a silent session.
QUIET_WHEN_TAKEN = frozenset(
    {
        Client.SESSION_SETTINGS,
        Client.AUDIO_INPUT,
        Client.TOOL_RESPONSE,
        Client.TOOL_ERROR,
        Client.PAUSE_ASSISTANT_MESSAGE,
        Client.RESUME_ASSISTANT_MESSAGE,
    }
)
_RATES = (8000, 16000, 24000, 44100, 48000)


# --- generation ----------------------------------------------------------------------------


@cache
def _schema(kind: str) -> dict[str, Any]:
    return schemas.bundled(PROTOCOL, kind, annotations=False)


def _generated(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    # Each client schema is an object: every value drawn is a dict.
    return cast("st.SearchStrategy[dict[str, Any]]", from_schema(_schema(kind)))


def _json_step(label: str, message: Any) -> Step:
    return Step(event="json", args=(message,), label=label, expect="ack")


def _tools_as_json(message: dict[str, Any]) -> dict[str, Any]:
    # The schema lets `parameters` be any string; a stringified JSON schema is what it means
    # (a server refusing other text refuses bad input, not a valid message).
    for tool in message.get("tools", []):
        tool["parameters"] = TOOL_PARAMETERS
    return message


def positive_steps(capabilities: Mapping[str, Any]) -> st.SearchStrategy[Step]:
    """Valid client messages: session_settings, user_input and assistant_input from their
    schemas; the fixture speech as audio_input (declared PCM at several rates, or slices of
    each container the profile lists); a tool round, and a pause and resume around a user
    input, where the profile's capabilities have them."""
    settings = _generated(Client.SESSION_SETTINGS).map(_tools_as_json)
    inputs = [
        settings.map(lambda m: _json_step("a valid session_settings", m)),
        _generated(Client.USER_INPUT).map(lambda m: _json_step("a valid user_input", m)),
        _generated(Client.ASSISTANT_INPUT).map(lambda m: _json_step("a valid assistant_input", m)),
    ]
    template = _generated(Client.AUDIO_INPUT).map(
        lambda m: {k: v for k, v in m.items() if k != "data"}
    )
    pcm = st.fixed_dictionaries(
        {
            "format": st.just("pcm"),
            "rate": st.sampled_from(_RATES),
            "declared": st.sampled_from(["message", "query"]),
            "chunk": st.integers(min_value=512, max_value=8192),
        }
    )
    containers = [str(f) for f in capabilities.get("container_audio", [])]
    hows = pcm
    if containers:
        hows |= st.fixed_dictionaries(
            {
                "format": st.sampled_from(containers),
                "chunk": st.integers(min_value=512, max_value=8192),
            }
        )
    inputs.append(st.tuples(hows, template).map(_speech_step))
    if capabilities.get("tools"):
        extras = st.fixed_dictionaries(
            {},
            optional={
                "description": st.text(max_size=40),
                "fallback_content": st.text(max_size=40),
            },
        )
        answers = _generated(Client.TOOL_RESPONSE) | _generated(Client.TOOL_ERROR)
        inputs.append(
            st.tuples(extras, answers).map(
                lambda ta: Step(
                    event="tool",
                    args=ta,
                    label=f"a tool round answered with a valid {ta[1]['type']}",
                    expect="ack",
                )
            )
        )
    if capabilities.get("pause"):
        inputs.append(
            st.tuples(
                _generated(Client.PAUSE_ASSISTANT_MESSAGE),
                _generated(Client.RESUME_ASSISTANT_MESSAGE),
            ).map(
                lambda pr: Step(
                    event="pause",
                    args=pr,
                    label="a user_input between valid pause and resume messages",
                    expect="ack",
                )
            )
        )
    return st.one_of(*inputs)


def _speech_step(how_template: tuple[dict[str, Any], dict[str, Any]]) -> Step:
    how, template = how_template
    if how["format"] == "pcm":
        what = f"PCM at {how['rate']} Hz declared by {how['declared']}"
    else:
        what = f"{how['format']} file slices"
    return Step(
        event="speech",
        args=(how, template),
        label=f"speech as audio_input ({what}, chunks of {how['chunk']} bytes)",
        expect="ack",
    )


def valid_message(message: Any) -> bool:
    """Whether `message` is a schema-valid client message (of its own `type`)."""
    if not isinstance(message, dict) or message.get("type") not in set(Client):
        return False
    return not schemas.errors(PROTOCOL, str(message["type"]), message)


def _bases(text: str) -> dict[str, dict[str, Any]]:
    """One valid message of each client type with every field set: what mutations change."""
    tool = {
        "type": "function",
        "name": "get_weather",
        "parameters": TOOL_PARAMETERS,
        "fallback_content": "unavailable",
    }
    return {
        Client.SESSION_SETTINGS: {
            "type": Client.SESSION_SETTINGS,
            "custom_session_id": "fuzz",
            "system_prompt": "Be brief.",
            "context": {"type": "persistent", "text": "A test."},
            "audio": {"encoding": "linear16", "channels": 1, "sample_rate": 16000},
            "tools": [tool],
            "builtin_tools": [{"name": "web_search"}],
            "variables": {"name": "Tester"},
        },
        Client.USER_INPUT: {"type": Client.USER_INPUT, "text": text},
        Client.ASSISTANT_INPUT: {"type": Client.ASSISTANT_INPUT, "text": "Hello."},
        Client.AUDIO_INPUT: {
            "type": Client.AUDIO_INPUT,
            "data": base64.b64encode(b"RIFF").decode(),
        },
        Client.TOOL_RESPONSE: {
            "type": Client.TOOL_RESPONSE,
            "tool_call_id": "no-such-tool-call",
            "content": "Sunny.",
            "tool_name": "get_weather",
            "tool_type": "function",
        },
        Client.TOOL_ERROR: {
            "type": Client.TOOL_ERROR,
            "tool_call_id": "no-such-tool-call",
            "error": "down",
            "content": "The service is down.",
            "code": "E_TOOL",
            "level": "warn",
        },
        Client.PAUSE_ASSISTANT_MESSAGE: {
            "type": Client.PAUSE_ASSISTANT_MESSAGE,
            "custom_session_id": "fuzz",
        },
        Client.RESUME_ASSISTANT_MESSAGE: {
            "type": Client.RESUME_ASSISTANT_MESSAGE,
            "custom_session_id": "fuzz",
        },
    }


Path = tuple[str | int, ...]


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every key path of a JSON value (list items by index)."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    found: list[Path] = []
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


def _changed(message: dict[str, Any], path: Path, value: Any = None, drop: bool = False) -> Any:
    changed = copy.deepcopy(message)
    node: Any = changed
    for key in path[:-1]:
        node = node[key]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


def _where(path: Path) -> str:
    return "/".join(map(str, path))


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def negative_steps(text: str) -> st.SearchStrategy[Step]:
    """Invalid client messages, each of which an `error` answers: every field of a full valid
    message of each type dropped (where required) or set to a value its schema refuses (wrong
    types, values outside enumerations and ranges), unknown and missing types, JSON that is not
    an object, text that is not JSON, huge and deeply nested values, audio_input that is not
    base64 or not audio, tool answers for no tool_call, and tools whose parameters are not JSON.
    `text` is a valid user_input's text (the profile's probe)."""
    bases = _bases(text)
    paths = [(kind, path) for kind, base in bases.items() for path in _paths(base)]

    def step(label: str, payload: Any, event: str = "json") -> Step:
        return Step(event=event, args=(payload,), label=label, expect="error")

    def wrong(kind_path: tuple[str, Path], value: Any) -> Step:
        kind, path = kind_path
        return step(
            f"{kind} with {_where(path)} = {value!r:.60}", _changed(bases[kind], path, value)
        )

    dropped = [
        step(f"{kind} without {_where(path)}", changed)
        for kind, path in paths
        if not valid_message(changed := _changed(bases[kind], path, drop=True))
    ]
    mutations: list[st.SearchStrategy[Step]] = [
        st.sampled_from(dropped),
        st.builds(wrong, st.sampled_from(paths), JSON).filter(
            lambda s: not valid_message(s.args[0])
        ),
        st.text(min_size=1, max_size=24)
        .filter(lambda t: t not in set(Client))
        .map(lambda t: step(f"a message of the unknown type {t!r}", {"type": t, "text": text})),
        st.sampled_from(
            ["User_Input", "user-input", "user_input ", "audio_output", "error", "chat_metadata"]
        ).map(lambda t: step(f"a message of the unknown type {t!r}", {"type": t, "text": text})),
        st.just(step("a user_input without its type", {"text": text})),
        NOT_OBJECTS.map(lambda v: step(f"the JSON {v!r:.60} (not an object)", v)),
        st.text(max_size=40)
        .filter(lambda t: not _parses(t))
        .map(lambda t: step(f"the text {t!r} (not JSON)", t, event="raw")),
        # huge values, at places where their type is wrong
        st.integers(min_value=16, max_value=1024).flatmap(
            lambda kb: st.sampled_from(
                [
                    step(
                        f"a user_input whose text is a list holding {kb} KiB of text",
                        {"type": Client.USER_INPUT, "text": ["x" * (kb << 10)]},
                    ),
                    step(f"a message whose type is {kb} KiB long", {"type": "t" * (kb << 10)}),
                    step(
                        f"an audio_input whose data is {kb} KiB that are not base64",
                        {"type": Client.AUDIO_INPUT, "data": "%" * (kb << 10)},
                    ),
                ]
            )
        ),
        # nesting deeper than JSON parsers recurse by default (Python's stops near 1,000)
        st.integers(min_value=50, max_value=5000).map(
            lambda d: step(
                f"a user_input whose text is {d} nested lists",
                '{"type": "user_input", "text": ' + "[" * d + "]" * d + "}",
                event="raw",
            )
        ),
        # audio
        st.text(min_size=1, max_size=40)
        .filter(lambda t: not is_base64(t))
        .map(
            lambda t: step(
                f"an audio_input whose data is {t!r} (not base64)",
                {"type": Client.AUDIO_INPUT, "data": t},
            )
        ),
        st.binary(min_size=16, max_size=2048)
        .filter(lambda b: audio.sniff(b) is None)
        .map(
            lambda b: step(
                f"an audio_input of {len(b)} bytes that are not audio (no audio settings)",
                {"type": Client.AUDIO_INPUT, "data": base64.b64encode(b).decode()},
            )
        ),
        # semantics the schemas cannot say
        st.tuples(st.sampled_from([Client.TOOL_RESPONSE, Client.TOOL_ERROR]), st.text()).map(
            lambda kt: step(
                f"a {kt[0]} for the tool_call_id {kt[1]!r}, never issued",
                {**bases[kt[0]], "tool_call_id": kt[1]},
            )
        ),
        st.text(max_size=20)
        .filter(lambda t: not _parses(t))
        .map(
            lambda t: step(
                f"session_settings with a tool whose parameters is {t!r} (not JSON)",
                {
                    "type": Client.SESSION_SETTINGS,
                    "tools": [{"type": "function", "name": "get_weather", "parameters": t}],
                },
            )
        ),
    ]
    return st.one_of(*mutations)


# --- judging -------------------------------------------------------------------------------


async def _send(chat: Chat, event: str, payload: Any) -> None:
    if event == "raw":
        await chat.live.send_text(str(payload))
    else:
        await chat.live.send_json(payload)


async def judge_step(env: Env, step: Step) -> Judgement | None:
    """Send one step on a chat of its own; None if it passed, else its judgement.

    Oracles (PROTOCOLS.md, the readings for all protocols): never allowed (MUST) are a chat
    refused or not opened by chat_metadata, a close, no error where one is due, a malformed
    message, an answered turn without its assistant_end or with broken audio indexes, an
    answer while paused or none after the resume, and a chat that no longer serves a
    user_input. Bad input (`expect` "error") taken is lenient (SHOULD; silence too for the
    messages a server answers with nothing when it takes them); a valid one refused with a
    well-formed error is noted (MAY).
    """
    async with EviClient(env) as client:
        how = step.args[0] if step.event == "speech" else {}
        # PCM declared by query parameters: the settings are part of the connection.
        query = how.get("declared") == "query"
        settings = {"audio": client.pcm_settings(how["rate"])} if query else None
        chat = await client.attempt("fuzzed", settings=settings)
        problem = opened(chat, env)
        if problem is not None:
            return broken(problem)
        try:
            if step.expect == "error":
                return await _bad(client, chat, step)
            return await _valid(client, chat, step)
        except TransportError as exc:
            return broken(f"the socket was gone during {step.label}: {exc}")
        except Blocked as exc:  # the client's memory of an input that got no message at all
            return broken(f"during {step.label}: {exc}")


async def _bad(client: EviClient, chat: Chat, step: Step) -> Judgement | None:
    payload = step.args[0] if step.args else None
    mark = client.mark(chat)
    await _send(chat, step.event, payload)
    reply = await client.wait(chat, lambda e: True, client.env.timeouts.event, after=mark.start)
    soft: Judgement | None = None
    if reply is None:
        quiet = isinstance(payload, dict) and payload.get("type") in QUIET_WHEN_TAKEN
        if not quiet:
            return broken(f"no error within {client.env.timeouts.event:g} s after {step.label}")
        soft = lenient(f"{step.label} got no error (taken without a word)")
    elif reply.event == "close":
        return broken(f"the server closed the socket after {step.label} without answering")
    elif reply.event != Server.ERROR:
        soft = lenient(f"accepted {step.label} leniently (answered {reply.event})")
        if reply.event in (Server.USER_MESSAGE, *BEGUN):
            await client.finish(mark)  # its answer ends before the probe's begins
    await client.settle(chat)
    judged = conformance(client.since(chat, mark.start))
    if judged is not None and judged.breaks:
        return broken(f"after {step.label}, {judged.reason}")
    if not chat.live.connected:
        return broken(f"the server closed the socket after answering {step.label}")
    unusable = await probe(client, chat)
    if unusable is not None:
        return broken(f"after {step.label}, the chat no longer serves: {unusable}")
    return worst(judged, soft)


def _refusal(turn: Turn, what: str) -> Judgement | None:
    if turn.end is not None and turn.end.event == Server.ERROR:
        return observed(f"{what} was refused: {head(turn.end.payload)!r:.160}")
    return None


async def _valid(client: EviClient, chat: Chat, step: Step) -> Judgement | None:
    """A valid step: its turn served (or refused with an error, noted), then, after a
    refusal or a message nothing answers, the chat still serving a user_input."""
    what = step.label
    kind = step.args[0].get("type") if step.event == "json" else None
    turn_taking = kind in (Client.USER_INPUT, Client.ASSISTANT_INPUT)
    if step.event == "speech":
        judged = await _speech(client, chat, step)
    elif step.event == "tool":
        judged = await _tool(client, chat, step)
    elif step.event == "pause":
        judged = await _pause(client, chat, step)
    elif turn_taking:
        turn = client.mark(chat)
        await chat.live.send_json(step.args[0])
        judged = _served(client.env, await client.finish(turn), what)
    else:  # session_settings: nothing answers it [default]; an echo or a refusal may
        start = len(chat.live.received)
        await chat.live.send_json(step.args[0])
        await client.settle(chat)
        errors = [e for e in client.since(chat, start) if e.event == Server.ERROR]
        judged = (
            observed(f"{what} was refused: {head(errors[0].payload)!r:.160}") if errors else None
        )
    if judged is not None and judged.breaks:
        return judged
    messages = conformance(chat.messages)
    if messages is not None and messages.breaks:
        return broken(f"during {what}, {messages.reason}")
    if not chat.live.connected:
        return broken(f"the server closed the socket after {what}")
    if judged is not None or (step.event == "json" and not turn_taking):
        unusable = await probe(client, chat)
        if unusable is not None:
            return broken(f"after {what}, the chat no longer serves: {unusable}")
    return worst(judged, messages)


def _served(env: Env, turn: Turn, what: str) -> Judgement | None:
    refused = _refusal(turn, what)
    if refused is not None:
        return refused
    problem = turn_problem(env, turn, what)
    return broken(problem) if problem else None


async def _speech(client: EviClient, chat: Chat, step: Step) -> Judgement | None:
    how, template = step.args
    if how["format"] == "pcm":
        if how["declared"] == "message":
            await client.settings(chat, audio=client.pcm_settings(how["rate"]))
        data = client.pcm(how["rate"])
        seconds = len(data) / 2 / how["rate"]
    else:
        data = client.container(how["format"])
        seconds = audio.duration_ms(audio.decode(data)) / 1000
    turn = client.mark(chat)
    chunk = int(how["chunk"])
    # Paced as the profile says (audio.pace times real time; 0: as fast as the socket goes).
    pause = seconds * chunk / len(data) * float(client.env.profile.section("audio").get("pace", 0))
    for start in range(0, len(data), chunk):
        piece = base64.b64encode(data[start : start + chunk]).decode()
        await chat.live.send_json({**template, "type": Client.AUDIO_INPUT, "data": piece})
        if pause:
            await asyncio.sleep(pause)
    return _served(client.env, await client.finish(turn), step.label)


async def _tool(client: EviClient, chat: Chat, step: Step) -> Judgement | None:
    extras, answer = step.args
    name = str(client.env.profile.section("tools").get("name", "get_weather"))
    tool = {"type": "function", "name": name, "parameters": TOOL_PARAMETERS, **extras}
    await client.settings(chat, tools=[tool])
    call = await client.tool_call(chat, str(client.env.profile.section("tools").get("prompt")))
    refused = _refusal(call, "the tool's prompt")
    if refused is not None:
        return refused
    if call.end is None or call.end.event != Server.TOOL_CALL:
        problem = turn_problem(client.env, call, "the tool's prompt")
        if problem is not None:
            return broken(problem)
        return observed("the tool's prompt was answered without a tool_call")
    issued = mapping(call.end.payload)
    bound = {**answer, "tool_call_id": issued.get("tool_call_id")}
    for key, value in (("tool_name", issued.get("name")), ("tool_type", "function")):
        if key in bound:
            bound[key] = value
    turn = client.mark(chat)
    await chat.live.send_json(bound)
    return _served(client.env, await client.finish(turn), f"the tool_call answered ({step.label})")


async def _pause(client: EviClient, chat: Chat, step: Step) -> Judgement | None:
    pause, resume = step.args
    start = len(chat.live.received)
    await chat.live.send_json(pause)
    await client.send(chat, Client.USER_INPUT, text=probe_text(client.env))
    await asyncio.sleep(client.env.timeouts.silence)
    during = client.since(chat, start)
    spoken = Counter(e.event for e in during if e.event in (*ANSWER, Server.ASSISTANT_END))
    if spoken:
        sent = ", ".join(f"{n} {kind}" for kind, n in spoken.items())
        return broken(f"while paused, the assistant sent {sent} ({step.label})")
    errors = [e for e in during if e.event == Server.ERROR]
    if errors:
        return observed(f"{step.label} was refused: {head(errors[0].payload)!r:.160}")
    turn = client.mark(chat)
    await chat.live.send_json(resume)
    return _served(client.env, await client.finish(turn), f"the resume of {step.label}")


async def witness(env: Env, during: asyncio.Event) -> str | None:
    """A chat of its own: it must hear nothing of the chats fuzzed meanwhile, and serve a text
    turn of its own afterwards (on a new chat if an inactivity timeout ended the idle one)."""
    async with EviClient(env) as client:
        chat = await client.attempt("witness")
        problem = opened(chat, env)
        if problem is not None:
            return f"the witness chat: {problem}"
        heard = len(chat.live.received)
        await during.wait()
        stray = Counter(e.event for e in client.since(chat, heard) if e.event in LEAKS)
        if stray:
            got = ", ".join(f"{n} {event}" for event, n in stray.items())
            return f"another chat got {got} while other chats were fuzzed"
        if not chat.live.connected:
            chat = await client.attempt("witness-again")
            problem = opened(chat, env)
            if problem is not None:
                return f"after the fuzzing, a new chat: {problem}"
        turn = await client.text_turn(chat, probe_text(env))
        problem = turn_problem(env, turn, "after the fuzzing, another chat's user_input")
        if problem is None and turn.end is not None and turn.end.event == Server.ERROR:
            problem = f"after the fuzzing, another chat's user_input got {turn.end.payload!r:.120}"
    return problem
