"""The reference EVI server over a real socket on 127.0.0.1, port 0: each behaviour of the
readings in schemas/evi/asyncapi.yaml, every server message checked against its schema.

The harness (`served`, `Evi`, `Socket`, the audio builders) is tests/e2e/evi_harness.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest

from conformance import audio, schemas
from conformance.fixtures import clip
from conformance.protocols.evi.reference.config import ACCESS_TOKEN, API_KEY
from conformance.protocols.evi.reference.errors import CATALOGUE
from conformance.protocols.evi.reference.server import reference_app
from conformance.protocols.evi.reference.variants import OWN_CODES, VARIANTS
from tests.e2e.evi_harness import (
    CLIP,
    LINEAR16_QUERY,
    TOOL,
    WAIT_S,
    Evi,
    Socket,
    linear16,
    pcm,
    served,
    speech,
    turn_audio,
)

CODES = {kind.slug: kind.code for kind in CATALOGUE}


@pytest.fixture
async def evi() -> AsyncIterator[Evi]:
    """A clean reference server whose messages must all meet their schemas."""
    async with served() as made:
        yield made


def assert_turn(messages: Sequence[dict[str, Any]], *, from_text: bool = False) -> None:
    """An answer: per sentence an assistant_message then its audio (ids and indexes 0..n-1,
    joined into one decodable WAV), and assistant_end last."""
    kinds = [m["type"] for m in messages]
    assert kinds[-1] == "assistant_end"
    start = kinds.index("assistant_message")
    current = None
    for m in messages[start:-1]:
        if m["type"] == "assistant_message":
            current, expected = m["id"], 0
            assert m["from_text"] is from_text
            assert m["message"]["role"] == "assistant"
        else:
            assert m["type"] == "audio_output", kinds
            assert (m["id"], m["index"]) == (current, expected)
            expected += 1
    for data in turn_audio(messages).values():
        assert audio.sniff(data) == "wav"
        assert audio.duration_ms(audio.decode(data)) > 300


def texts(messages: Sequence[dict[str, Any]], kind: str = "assistant_message") -> list[str]:
    return [m["message"]["content"] for m in messages if m["type"] == kind]


# --- opening a chat ------------------------------------------------------------------------------


async def test_chat_metadata_comes_first_with_fresh_ids(evi: Evi) -> None:
    """chat_metadata is the first message, with uuid chat_group_id, chat_id and request_id,
    new for every socket."""
    first, second = await evi.chat(), await evi.chat()
    a, b = first.received[0], second.received[0]
    assert a["type"] == b["type"] == "chat_metadata"
    for key in ("chat_group_id", "chat_id", "request_id"):
        assert str(uuid.UUID(a[key])) == a[key]
        assert a[key] != b[key]


@pytest.mark.parametrize(
    "params",
    [{"api_key": API_KEY}, {"access_token": ACCESS_TOKEN}],
    ids=["api_key", "access_token"],
)
async def test_credentials_in_the_query_open_a_chat(evi: Evi, params: dict[str, str]) -> None:
    """The api_key or the access_token in the query opens a chat."""
    socket = await evi.connect(auth=False, **params)
    metadata = await socket.wait("chat_metadata")
    assert metadata["chat_id"]


async def test_the_api_key_header_opens_a_chat(evi: Evi) -> None:
    """X-Hume-Api-Key, as the SDK sends it, opens a chat."""
    ws = await evi.http.ws_connect(f"{evi.url}/v0/evi/chat", headers={"X-Hume-Api-Key": API_KEY})
    socket = Socket(ws)
    socket.start()
    evi.sockets.append(socket)
    metadata = await socket.wait("chat_metadata")
    assert metadata["chat_id"]


@pytest.mark.parametrize(
    "params",
    [{}, {"api_key": "wrong"}, {"access_token": "wrong"}, {"api_key": ACCESS_TOKEN}],
    ids=["none", "wrong-key", "wrong-token", "token-as-key"],
)
async def test_bad_credentials_are_refused_with_401(evi: Evi, params: dict[str, str]) -> None:
    """Without valid credentials the upgrade is refused: HTTP 401, an `error` JSON body."""
    status, body = await evi.upgrade_status(**params)
    assert status == 401
    assert (body["type"], body["code"], body["slug"]) == ("error", "E0101", "unauthorized")
    assert schemas.errors("evi", "error", body) == []


async def test_credentials_are_configurable() -> None:
    """A server given other credentials accepts those, and no longer the embedded ones."""
    async with served(api_key="other-key", access_token="other-token") as evi:
        await evi.chat(auth=False, api_key="other-key")
        await evi.chat(auth=False, access_token="other-token")
        status, _ = await evi.upgrade_status(api_key=API_KEY)
        assert status == 401


def test_unknown_fault_or_variant_names_the_known_ones() -> None:
    """reference_app refuses an unknown fault or variant with KeyError naming the known ones."""
    with pytest.raises(KeyError, match=r"known: .*metadata-not-first"):
        reference_app(["no-such-fault"], {})
    with pytest.raises(KeyError, match=r"known: .*whole-wav-chunks"):
        reference_app([], {"variants": ["no-such-variant"]})


# --- text turns ----------------------------------------------------------------------------------


async def test_text_turn_order_and_audio(evi: Evi) -> None:
    """user_input: its user_message (from_text, final, empty models, begin <= end), then
    assistant_message + audio_output per sentence, assistant_end last; quick."""
    socket = await evi.chat()
    started = time.monotonic()
    messages = await socket.turn({"type": "user_input", "text": "Hello, how are you today?"})
    assert time.monotonic() - started < 2.0
    user = messages[0]
    assert user["type"] == "user_message"
    assert user["message"] == {"role": "user", "content": "Hello, how are you today?"}
    assert (user["from_text"], user["interim"], user["models"]) == (True, False, {})
    assert 0 <= user["time"]["begin"] <= user["time"]["end"]
    assert_turn(messages[1:])
    assert texts(messages)[0] == "You said Hello, how are you today."
    assert all(
        m["is_quick_response"] is False for m in messages if m["type"] == "assistant_message"
    )


async def test_assistant_input_is_spoken_verbatim(evi: Evi) -> None:
    """assistant_input: one assistant_message from_text with exactly the text, audio, end; no
    user_message."""
    socket = await evi.chat()
    text = "Welcome back. I am the assistant, speaking the words you gave me."
    messages = await socket.turn({"type": "assistant_input", "text": text})
    assert texts(messages) == [text]
    assert "user_message" not in [m["type"] for m in messages]
    assert_turn(messages, from_text=True)


async def test_custom_session_id_is_echoed_on_every_message(evi: Evi) -> None:
    """Once session_settings sets custom_session_id, every server message carries it."""
    socket = await evi.chat()
    await socket.send({"type": "session_settings", "custom_session_id": "session-123"})
    messages = await socket.turn({"type": "user_input", "text": "Hi."})
    assert {m.get("custom_session_id") for m in messages} == {"session-123"}


async def test_session_settings_are_not_acknowledged(evi: Evi) -> None:
    """session_settings gets no answer [default]; the next turn still works."""
    socket = await evi.chat()
    await socket.send({**linear16(), "system_prompt": "Be brief."})
    assert await socket.quiet() == []
    await socket.turn({"type": "user_input", "text": "Hi."})


# --- audio turns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "sizes"),
    [
        # 7-byte chunks split samples across messages; then odd 3199-byte chunks, to stay quick
        (16_000, [7] * 1000 + [3199]),
        (16_000, [3200]),
        (44_100, [8821]),
    ],
    ids=["16k-7-then-3199-bytes", "16k-3200-bytes", "44k1-odd-chunks"],
)
async def test_linear16_audio_turn(evi: Evi, rate: int, sizes: list[int]) -> None:
    """Declared linear16 PCM at any chunk size: the clip's transcript with 48 prosody scores,
    from_text false, then a turn quoting it."""
    socket = await evi.chat()
    await socket.send(linear16(rate))
    mark = len(socket.received)
    await socket.stream(pcm(rate=rate), sizes)
    end = await socket.wait("assistant_end", since=mark, timeout=10)
    messages = socket.received[mark : socket.received.index(end) + 1]
    [user] = socket.of("user_message", mark)
    assert user["message"]["content"] == clip(CLIP).text
    assert (user["from_text"], user["interim"]) == (False, False)
    assert len(user["models"]["prosody"]["scores"]) == 48
    assert 0 <= user["time"]["begin"] <= user["time"]["end"]
    assert texts(messages)[0] == f"You said {clip(CLIP).text}."
    assert_turn(messages[messages.index(user) + 1 :])


async def test_wav_slices_without_audio_settings(evi: Evi) -> None:
    """Without session_settings.audio, slices of a WAV file (4096 bytes) are understood."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.stream(audio.encode(speech(), "wav"), [4096])
    user = await socket.wait("user_message", since=mark)
    assert user["message"]["content"] == clip(CLIP).text
    await socket.wait("assistant_end", since=mark)


async def test_one_wav_file_of_two_utterances(evi: Evi) -> None:
    """A WAV stream goes on after its first utterance ends: the second utterance has no header
    of its own and is still the same file's PCM (a regression the fuzzer found)."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.stream(audio.encode(speech() + speech("thank_you"), "wav"), [4096])
    second = await socket.wait("user_message", since=mark, count=2)
    assert second["message"]["content"] == clip("thank_you").text
    assert socket.of("error", mark) == []


async def test_webm_slices_end_when_the_input_pauses(evi: Evi) -> None:
    """WebM/Opus slices: the utterance ends when the input pauses (700 ms), then its turn."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.stream(audio.encode(speech("thank_you"), "webm"), [2048])
    user = await socket.wait("user_message", since=mark)
    assert user["message"]["content"] == clip("thank_you").text
    await socket.wait("assistant_end", since=mark)


async def test_linear16_declared_in_the_query(evi: Evi) -> None:
    """session_settings[audio][...] query parameters declare PCM as a message would."""
    socket = await evi.chat(**LINEAR16_QUERY)
    mark = len(socket.received)
    await socket.stream(pcm(), [3200])
    user = await socket.wait("user_message", since=mark)
    assert user["message"]["content"] == clip(CLIP).text


async def test_verbose_transcription_sends_interim_then_final(evi: Evi) -> None:
    """verbose_transcription=true: interim user_messages (partial text) before the final."""
    socket = await evi.chat(verbose_transcription=True)
    await socket.send(linear16())
    mark = len(socket.received)
    await socket.stream(pcm(), [3200])
    await socket.wait("assistant_end", since=mark)
    users = socket.of("user_message", mark)
    assert [u["interim"] for u in users] == [True, False]
    assert clip(CLIP).text.startswith(users[0]["message"]["content"])
    assert users[-1]["message"]["content"] == clip(CLIP).text


async def test_silence_alone_is_no_turn(evi: Evi) -> None:
    """Silence (no speech) makes no user_message and no turn."""
    socket = await evi.chat()
    await socket.send(linear16())
    await socket.stream(bytes(32_000), [3200])
    assert await socket.quiet(1.0) == []


# --- pause, tools, interruption -----------------------------------------------------------------


async def test_pause_holds_answers_and_resume_answers_the_last(evi: Evi) -> None:
    """While paused, user_messages only; on resume, ONE turn answering the last message."""
    socket = await evi.chat()
    await socket.send({"type": "pause_assistant_message"})
    mark = len(socket.received)
    for question in ("What is the capital of France?", "What is the capital of Spain?"):
        await socket.send({"type": "user_input", "text": question})
    await socket.wait("user_message", since=mark, count=2)
    assert socket.types(mark) == ["user_message", "user_message"]
    assert await socket.quiet() == []
    messages = await socket.turn({"type": "resume_assistant_message"})
    assert texts(messages)[0] == "You said What is the capital of Spain."
    assert await socket.quiet() == []


async def test_pause_stops_the_answer_in_flight(evi: Evi) -> None:
    """A pause during an answer stops its audio, without user_interruption or assistant_end."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.send({"type": "user_input", "text": "Please tell me a long story about a robot."})
    await socket.wait("audio_output", since=mark)
    await socket.send({"type": "pause_assistant_message"})
    await asyncio.sleep(0.1)  # what was on the wire when the pause arrived
    settled = len(socket.received)
    assert await socket.quiet() == []
    assert "assistant_end" not in socket.types(mark)
    assert settled > mark


async def test_tool_round_trip(evi: Evi) -> None:
    """A user message naming a declared tool gets a tool_call (JSON arguments); its
    tool_response gets an answer quoting the content, audio and assistant_end."""
    socket = await evi.chat()
    await socket.send({"type": "session_settings", "tools": [TOOL]})
    mark = len(socket.received)
    await socket.send(
        {"type": "user_input", "text": "What is the weather in Paris? Use get_weather."}
    )
    call = await socket.wait("tool_call", since=mark)
    assert socket.types(mark) == ["user_message", "tool_call"]
    assert json.loads(call["parameters"]) == {"location": "Paris"}
    assert (call["name"], call["tool_type"], call["response_required"]) == (
        "get_weather",
        "function",
        True,
    )
    response = {
        "type": "tool_response",
        "tool_call_id": call["tool_call_id"],
        "content": "Sunny, 22 degrees",
        "tool_name": "get_weather",
        "tool_type": "function",
    }
    messages = await socket.turn(response)
    assert "Sunny, 22 degrees" in texts(messages)[0]
    assert_turn(messages)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"content": "The weather service is down."}, "The weather service is down"),
        ({}, "The weather service is unavailable"),  # the tool's fallback_content
    ],
    ids=["content", "fallback"],
)
async def test_tool_error_is_answered(evi: Evi, extra: dict[str, str], said: str) -> None:
    """tool_error: an answer with its content, else the tool's fallback_content."""
    socket = await evi.chat()
    await socket.send({"type": "session_settings", "tools": [TOOL]})
    mark = len(socket.received)
    await socket.send({"type": "user_input", "text": "Use get_weather for Paris."})
    call = await socket.wait("tool_call", since=mark)
    error = {"type": "tool_error", "tool_call_id": call["tool_call_id"], "error": "down", **extra}
    messages = await socket.turn({**error, "code": "E_TOOL", "level": "warn"})
    assert said in texts(messages)[0]


async def test_a_tool_call_is_answered_once(evi: Evi) -> None:
    """A second tool_response for the same tool_call_id is an unknown tool call."""
    socket = await evi.chat()
    await socket.send({"type": "session_settings", "tools": [TOOL]})
    await socket.send({"type": "user_input", "text": "get_weather please"})
    call = await socket.wait("tool_call")
    response = {"type": "tool_response", "tool_call_id": call["tool_call_id"], "content": "x"}
    await socket.turn(response)
    mark = len(socket.received)
    await socket.send(response)
    error = await socket.wait("error", since=mark)
    assert error["code"] == CODES["unknown_tool_call"]


async def test_speech_interrupts_the_assistant(evi: Evi) -> None:
    """Speech during the answer's audio: user_interruption at once, no more audio of the
    interrupted ids, no assistant_end for it, then the speech's own turn."""
    socket = await evi.chat()
    await socket.send(linear16())
    mark = len(socket.received)
    await socket.send({"type": "user_input", "text": "Please tell me a long story about a robot."})
    await socket.wait("audio_output", since=mark)
    await socket.stream(pcm(), [3200])
    interruption = await socket.wait("user_interruption", since=mark)
    assert abs(interruption["time"] / 1000 - time.time()) < 10
    cut = socket.received.index(interruption)
    first_end = await socket.wait("assistant_end", since=mark)
    interrupted = {m["id"] for m in socket.received[mark:cut] if m["type"] == "audio_output"}
    after = socket.received[cut:]
    assert not [m for m in after if m["type"] == "audio_output" and m["id"] in interrupted]
    assert socket.received.index(first_end) > cut  # the interrupted turn got no assistant_end
    [user] = socket.of("user_message", cut)
    assert user["message"]["content"] == clip(CLIP).text


async def test_user_input_interrupts_the_assistant(evi: Evi) -> None:
    """A user_input while the assistant speaks interrupts it too, then gets its own turn."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.send({"type": "user_input", "text": "Please tell me a long story about a robot."})
    await socket.wait("audio_output", since=mark)
    messages = await socket.turn({"type": "user_input", "text": "Stop."})
    assert messages[0]["type"] == "user_interruption"
    assert texts(messages)[0] == "You said Stop."


# --- timeouts, resumption, configs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeouts", "code", "limit_s"),
    [((1, None), "E0714", 1.0), ((None, 2), "E0715", 2.0)],
    ids=["inactivity", "max-duration"],
)
async def test_timeouts_end_the_chat(
    evi: Evi, timeouts: tuple[int | None, int | None], code: str, limit_s: float
) -> None:
    """A config's inactivity or max duration: an `error` with the publisher's code, then
    close 1000, on time."""
    config_id = await evi.config_id(*timeouts)
    started = time.monotonic()
    socket = await evi.chat(config_id=config_id)
    await asyncio.wait_for(socket.closed.wait(), limit_s + 2)
    assert limit_s - 0.1 <= time.monotonic() - started <= limit_s + 1.0
    assert socket.received[-1]["code"] == code
    assert socket.close_code == 1000


async def test_input_keeps_an_inactive_chat_open(evi: Evi) -> None:
    """Input restarts the inactivity timer: a chat with a 1 s timeout outlives 1.5 s of turns."""
    socket = await evi.chat(config_id=await evi.config_id(1, None))
    for _ in range(3):
        await socket.send({"type": "user_input", "text": "Still here."})
        await asyncio.sleep(0.5)
    assert not socket.closed.is_set()


async def test_resumption_keeps_the_group_with_a_new_chat(evi: Evi) -> None:
    """resumed_chat_group_id of a closed chat: the same chat_group_id, a new chat_id."""
    first = await evi.chat()
    opened = first.received[0]
    await first.close()
    resumed = (await evi.chat(resumed_chat_group_id=opened["chat_group_id"])).received[0]
    assert resumed["chat_group_id"] == opened["chat_group_id"]
    assert resumed["chat_id"] != opened["chat_id"]


async def test_unknown_chat_group_is_refused_after_the_upgrade(evi: Evi) -> None:
    """An unknown resumed_chat_group_id: `error` E0720, close 1008, no chat_metadata."""
    socket = await evi.connect(resumed_chat_group_id=str(uuid.uuid4()))
    await asyncio.wait_for(socket.closed.wait(), WAIT_S)
    assert [m["code"] for m in socket.received] == ["E0720"]
    assert socket.close_code == 1008


async def test_config_api(evi: Evi) -> None:
    """POST /v0/evi/configs: 201 with a config.response body; 400 for a bad body; 401 without
    credentials; an unknown config_id is refused with 404."""
    status, created = await evi.create_config(schemas.examples("evi", "config.request")[0])
    assert status == 201
    assert schemas.errors("evi", "config.response", created) == []
    assert created["timeouts"]["max_duration"] == {"enabled": True, "duration_secs": 2}
    status, body = await evi.create_config({"name": "t", "timeouts": {"inactivity": {}}})
    assert (status, body["code"]) == (400, "E0107")
    assert "/timeouts/inactivity" in body["message"]
    status, body = await evi.create_config({"name": "t"}, api_key="wrong")
    assert (status, body["code"]) == (401, "E0101")
    status, body = await evi.upgrade_status(api_key=API_KEY, config_id="nope")
    assert (status, body["code"]) == (404, "E0108")


# --- bad input -----------------------------------------------------------------------------------

BAD_INPUT = [
    ("not-json", "this is not json {", "invalid_json"),
    ("unknown-type", {"type": "no_such_message"}, "unknown_message_type"),
    ("no-type", {"text": "hi"}, "invalid_message"),
    ("array", [1, 2], "invalid_message"),
    ("missing-text", {"type": "user_input"}, "invalid_message"),
    ("text-not-string", {"type": "user_input", "text": 42}, "invalid_message"),
    ("data-not-base64", {"type": "audio_input", "data": "%%% not base64 %%%"}, "invalid_audio"),
    (
        "not-audio",
        {"type": "audio_input", "data": base64.b64encode(b"x" * 64).decode()},
        "invalid_audio",
    ),
    (
        "unknown-tool-call",
        {"type": "tool_response", "tool_call_id": "nope", "content": "x"},
        "unknown_tool_call",
    ),
    (
        "unknown-tool-error",
        {"type": "tool_error", "tool_call_id": "nope", "error": "x"},
        "unknown_tool_call",
    ),
    (
        "bad-sample-rate",
        {
            "type": "session_settings",
            "audio": {"encoding": "linear16", "channels": 1, "sample_rate": "16k"},
        },
        "invalid_session_settings",
    ),
    (
        "tool-parameters-not-json",
        {"type": "session_settings", "tools": [{**TOOL, "parameters": "{location"}]},
        "invalid_session_settings",
    ),
    (
        "bad-level",
        {"type": "tool_error", "tool_call_id": "x", "error": "x", "level": "fatal"},
        "invalid_message",
    ),
]


@pytest.mark.parametrize(
    ("payload", "slug"), [row[1:] for row in BAD_INPUT], ids=[row[0] for row in BAD_INPUT]
)
async def test_bad_input_gets_an_error_and_the_chat_goes_on(
    evi: Evi, payload: Any, slug: str
) -> None:
    """Each bad input: an `error` with the catalogue's code and slug; the socket stays open
    and the next user_input gets its turn."""
    socket = await evi.chat()
    mark = len(socket.received)
    await socket.send(payload)
    error = await socket.wait("error", since=mark)
    assert (error["code"], error["slug"]) == (CODES[slug], slug)
    assert error["message"]
    await socket.turn({"type": "user_input", "text": "Are you still there?"})


async def test_a_binary_frame_is_bad_input(evi: Evi) -> None:
    """A binary frame is answered with invalid_json and the socket stays open."""
    socket = await evi.chat()
    await socket.ws.send_bytes(b"\x00\x01")
    assert (await socket.wait("error"))["code"] == CODES["invalid_json"]
    await socket.turn({"type": "user_input", "text": "Hi."})


async def test_bad_query_settings_are_an_error_after_the_metadata(evi: Evi) -> None:
    """A bad verbose_transcription value: chat_metadata, then invalid_session_settings."""
    socket = await evi.connect(verbose_transcription="maybe")
    error = await socket.wait("error")
    assert socket.types() == ["chat_metadata", "error"]
    assert error["code"] == CODES["invalid_session_settings"]


async def test_two_chats_are_isolated(evi: Evi) -> None:
    """A turn on one chat sends nothing to another."""
    busy, idle = await evi.chat(), await evi.chat()
    await busy.turn({"type": "user_input", "text": "Only for me."})
    assert idle.types() == ["chat_metadata"]
    assert {m.get("type") for m in busy.received} >= {"user_message", "assistant_end"}


async def test_concurrent_chats_each_get_their_own_answer(evi: Evi) -> None:
    """Three chats speaking at once each get the answer to their own words."""
    sockets = [await evi.chat() for _ in range(3)]
    turns = await asyncio.gather(
        *(s.turn({"type": "user_input", "text": f"Number {n}."}) for n, s in enumerate(sockets))
    )
    for n, messages in enumerate(turns):
        assert texts(messages)[0] == f"You said Number {n}."


def test_every_catalogue_code_is_distinct() -> None:
    """The error catalogue has one code and one slug per kind."""
    assert len({k.code for k in CATALOGUE}) == len({k.slug for k in CATALOGUE}) == len(CATALOGUE)


# --- variants ------------------------------------------------------------------------------------

VariantCheck = Callable[[Evi], Awaitable[None]]


async def _whole_wav_chunks(evi: Evi) -> None:
    messages = await (await evi.chat()).turn({"type": "user_input", "text": "Hi."})
    for m in messages:
        if m["type"] == "audio_output":
            assert audio.sniff(base64.b64decode(m["data"])) == "wav"


async def _turn_wide_audio_index(evi: Evi) -> None:
    messages = await (await evi.chat()).turn({"type": "user_input", "text": "Hi."})
    indexes = [m["index"] for m in messages if m["type"] == "audio_output"]
    assert indexes == list(range(len(indexes)))
    assert len({m["id"] for m in messages if m["type"] == "audio_output"}) == 2


async def _unrelated_audio_ids(evi: Evi) -> None:
    messages = await (await evi.chat()).turn({"type": "user_input", "text": "Hi."})
    spoken = {m["id"] for m in messages if m["type"] == "audio_output"}
    assert spoken
    assert not spoken & {m["id"] for m in messages if m["type"] == "assistant_message"}


async def _prosody_messages(evi: Evi) -> None:
    messages = await (await evi.chat()).turn({"type": "user_input", "text": "Hi."})
    kinds = [m["type"] for m in messages]
    for n, kind in enumerate(kinds):
        if kind == "assistant_message":
            prosody = messages[n + 1]
            assert prosody["type"] == "assistant_prosody"
            assert prosody["id"] == messages[n]["id"]
            assert len(prosody["models"]["prosody"]["scores"]) == 48


async def _echo_session_settings(evi: Evi) -> None:
    socket = await evi.chat()
    settings = {"type": "session_settings", "system_prompt": "Be brief."}
    await socket.send(settings)
    assert await socket.wait("session_settings") == settings


async def _no_interim(evi: Evi) -> None:
    socket = await evi.chat(verbose_transcription=True)
    await socket.send(linear16())
    await socket.stream(pcm(), [3200])
    await socket.wait("assistant_end")
    assert [u["interim"] for u in socket.of("user_message")] == [False]


async def _refuse_after_upgrade(evi: Evi) -> None:
    socket = await evi.connect(auth=False, api_key="wrong")
    await asyncio.wait_for(socket.closed.wait(), WAIT_S)
    assert [m["type"] for m in socket.received] == ["error"]
    assert socket.close_code == 1008


async def _own_error_codes(evi: Evi) -> None:
    socket = await evi.chat()
    await socket.send("not json")
    error = await socket.wait("error")
    assert (error["code"], error["slug"]) == OWN_CODES["invalid_json"]


async def _any_key(evi: Evi) -> None:
    socket = await evi.connect(auth=False, api_key="a-key-it-never-issued")
    assert await socket.wait("chat_metadata")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await evi.connect(auth=False)  # no credentials at all: still refused
    assert refused.value.status == 401


VARIANT_CHECKS: dict[str, VariantCheck] = {
    "any-key": _any_key,
    "whole-wav-chunks": _whole_wav_chunks,
    "turn-wide-audio-index": _turn_wide_audio_index,
    "unrelated-audio-ids": _unrelated_audio_ids,
    "prosody-messages": _prosody_messages,
    "echo-session-settings": _echo_session_settings,
    "no-interim": _no_interim,
    "refuse-after-upgrade": _refuse_after_upgrade,
    "own-error-codes": _own_error_codes,
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
async def test_variant_is_served(name: str) -> None:
    """Each variant does what it says on the wire, every message still meeting its schema; its
    profile carries the reference's credentials (the variant matrix pins none otherwise)."""
    assert set(VARIANT_CHECKS) == set(VARIANTS)
    assert VARIANTS[name].profile["auth"] == {"api_key": API_KEY, "access_token": ACCESS_TOKEN}
    async with served(variants=[name]) as evi:
        await VARIANT_CHECKS[name](evi)
