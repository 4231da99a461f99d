"""The reference server serves every operation of MetaHuman AI Chat (PROTOCOLS.md §1)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest

from conformance import audio, schemas
from conformance.fixtures import clip
from conformance.protocols.metahuman.reference.config import LlmConfig
from conformance.protocols.metahuman.reference.providers import (
    FAILURE_MARKER,
    OfflineLanguageModel,
    Providers,
)
from conformance.transports.base import Refused
from tests.conftest import PeerFactory, ServerFactory, chunks, fixture_audio, session_update
from tests.e2e.turns import configure, delta_audio, deltas_until_done, turn


def assert_valid(message: str, payload: Any) -> None:
    violations = schemas.errors("metahuman", message, payload)
    assert not violations, f"{message}: {violations}"


# --- handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        ({"role": "receiver"}, 400),
        ({"role": "receiver", "sessionId": str(uuid.uuid4())}, 404),
        ({"role": "listener"}, 400),
        ({"role": "sender", "sessionId": str(uuid.uuid4())}, 404),
    ],
)
async def test_refused_handshake_is_connect_error(
    auth: dict[str, str], status: int, reference: ServerFactory, peer: PeerFactory
) -> None:
    """A refused handshake is CONNECT_ERROR {message, data: {message, statusCode}}."""
    url = await reference()
    with pytest.raises(Refused) as refused:
        await peer(url, "receiver", **auth)
    assert_valid("connect_error", refused.value.payload)
    assert refused.value.payload["data"]["statusCode"] == status


async def test_token(reference: ServerFactory, peer: PeerFactory) -> None:
    """A server with a token refuses a handshake without it (401) and accepts it with it."""
    url = await reference(token="s3cret")
    with pytest.raises(Refused) as refused:
        await peer(url, role="sender")
    assert refused.value.payload["data"]["statusCode"] == 401
    sender = await peer(url, role="sender", token="s3cret")
    await configure(sender, session_update())


async def test_single_client_is_sender_and_receiver(
    reference: ServerFactory, peer: PeerFactory
) -> None:
    """A socket naming no role gets the Sender's and the Receiver's events."""
    url = await reference()
    both = await peer(url, "client")
    await configure(both, session_update())
    await both.emit("input.buffer.append", chunks(fixture_audio(), 1 << 20)[0])
    await both.emit("input.buffer.commit")
    await both.wait_for("request.transcribe.done", 10)
    await both.wait_for("response.text", 10)
    await deltas_until_done(both)
    assert {"request.transcribe.done", "response.text", "response.audio.delta"} <= {
        e.event for e in both.received
    }


async def test_receiver_by_query_parameters(reference: ServerFactory, peer: PeerFactory) -> None:
    """A Receiver can name its role and session in the query string instead of auth."""
    url = await reference()
    sender = await peer(url, role="sender")
    session_id = await configure(sender, session_update())
    receiver = await peer(f"{url}?role=receiver&sessionId={session_id}", "receiver")
    await sender.emit("input.buffer.append", chunks(fixture_audio(), 1 << 20)[0])
    await sender.emit("input.buffer.commit")
    text = await receiver.wait_for("response.text", 10)
    assert text.payload["text"]


async def test_sender_resumes_its_session(reference: ServerFactory, peer: PeerFactory) -> None:
    """A Sender reconnecting with its sessionId resumes it; a second live Sender is refused."""
    url = await reference()
    first = await peer(url, "sender", role="sender")
    session_id = await configure(first, session_update())
    receiver = await peer(url, "receiver", role="receiver", sessionId=session_id)
    with pytest.raises(Refused) as refused:
        await peer(url, "intruder", role="sender", sessionId=session_id)
    assert refused.value.payload["data"]["statusCode"] == 409
    await first.close()
    await asyncio.sleep(0.2)
    again = await peer(url, "sender-again", role="sender", sessionId=session_id)
    await again.emit("input.buffer.append", chunks(fixture_audio(), 1 << 20)[0])
    await again.emit("input.buffer.commit")
    await receiver.wait_for("response.text", 10)


# --- session and input buffer -------------------------------------------------------------


async def test_session_update(reference: ServerFactory, peer: PeerFactory) -> None:
    """session.updated is {sessionId: uuid, success: true}; a second update keeps the id."""
    url = await reference()
    sender = await peer(url, role="sender")
    await sender.emit("session.update", session_update())
    updated = await sender.wait_for("session.updated", 5)
    assert_valid("session.updated", updated.payload)
    assert updated.payload["success"] is True
    assert await configure(sender, session_update("stream")) == updated.payload["sessionId"]


async def test_initialized_once_per_buffer(reference: ServerFactory, peer: PeerFactory) -> None:
    """input.buffer.initialized comes once for the first chunk of each buffer."""
    url = await reference()
    t = await turn(url, peer, chunk_size=1000)
    first = t.sender.events("input.buffer.initialized")
    assert len(first) == 1
    assert first[0].payload == {"sessionId": t.session_id}
    for chunk in chunks(fixture_audio(), 1000):
        await t.sender.emit("input.buffer.append", chunk)
    await t.sender.wait_for("input.buffer.initialized", 5, after=len(t.sender.received))
    await asyncio.sleep(0.2)
    assert len(t.sender.events("input.buffer.initialized")) == 2


@pytest.mark.parametrize("fmt", ["wav", "mp3", "webm", "ogg"])
async def test_turn_per_input_format(fmt: str, reference: ServerFactory, peer: PeerFactory) -> None:
    """A fixture clip in each format is transcribed, answered and spoken; all events valid."""
    url = await reference()
    speech = clip("robot_story")
    t = await turn(
        url, peer, audio=speech.files[fmt].read_bytes(), chunk_size=777, media_format=fmt
    )
    assert t.transcribed["text"] == speech.text
    assert t.transcribed["language"] == "en-US"
    assert speech.text in t.text
    for event in t.sender.received + t.receiver.received:
        if event.event not in ("connect", "disconnect"):
            assert_valid(event.event, event.payload)
    assert not t.sender.events("response.text")
    assert not t.sender.events("response.audio.delta")
    assert not t.receiver.events("request.transcribe.done")


async def test_sentiment(reference: ServerFactory, peer: PeerFactory) -> None:
    """With sentimentAnalysis on, request.transcribe.done carries a sentiment."""
    url = await reference()
    thanks = clip("thank_you").files["mp3"].read_bytes()
    t = await turn(url, peer, audio=thanks, STT={"sentimentAnalysis": True})
    assert t.transcribed["sentiment"] == "positive"


# --- audio deltas -------------------------------------------------------------------------


@pytest.mark.parametrize("is_ordered", [True, False])
@pytest.mark.parametrize("is_base64", [True, False])
@pytest.mark.parametrize("response_type", ["single", "chain", "stream"])
async def test_audio_deltas(
    response_type: str,
    is_base64: bool,
    is_ordered: bool,
    reference: ServerFactory,
    peer: PeerFactory,
) -> None:
    """Deltas follow the [default] semantics for every response type and flag."""
    url = await reference()
    t = await turn(url, peer, response_type, is_base64=is_base64, is_ordered=is_ordered)
    by_id = sorted(t.deltas, key=lambda d: d["id"])
    count = len(t.deltas)
    assert [d["id"] for d in by_id] == list(range(count))
    assert [d["done"] for d in by_id] == [False] * (count - 1) + [True]
    assert t.deltas[-1]["done"]  # the final delta is also the last to arrive
    assert " ".join(d["text"] for d in by_id) == t.text
    assert by_id[-1]["streamPartDone"]
    parts = sum(d["streamPartDone"] for d in t.deltas)
    if response_type == "single":
        assert count == 1
    elif response_type == "chain":
        assert parts == count > 1
    else:
        assert count > parts > 1
        assert all(d["totalNumber"] == 0 for d in by_id[:-1])
    assert by_id[-1]["totalNumber"] == count
    ids = [d["id"] for d in t.deltas]
    if count >= 3:  # fewer cannot be reordered with `done` kept last
        assert (ids == sorted(ids)) is is_ordered
    for d in t.deltas:
        assert_valid("response.audio.delta", d)
        assert d["isBase64"] is is_base64
        assert isinstance(d["audio"], str if is_base64 else bytes)
        data = delta_audio(d)
        assert audio.sniff(data) == "mp3"
        assert audio.duration_ms(audio.decode(data)) >= 1000 * len(d["text"]) / 40


# --- the custom.error catalogue -----------------------------------------------------------


async def _error(sender: Any, after: int) -> dict[str, Any]:
    error = await sender.wait_for("custom.error", 10, after=after)
    assert_valid("custom.error", error.payload)
    return dict(error.payload)


async def _still_usable(sender: Any) -> None:
    await configure(sender, session_update())


async def test_invalid_session_config(reference: ServerFactory, peer: PeerFactory) -> None:
    """An invalid session.update is custom.error 1001 naming the field; the socket stays."""
    url = await reference()
    sender = await peer(url, role="sender")
    bad = session_update()
    bad["TTS"]["responseType"] = {"name": "whisper"}
    await sender.emit("session.update", bad)
    error = await _error(sender, 0)
    assert error["errorId"] == 1001
    assert "/TTS/responseType/name" in error["message"]
    await _still_usable(sender)


@pytest.mark.parametrize("event", ["input.buffer.append", "input.buffer.commit"])
async def test_not_configured(event: str, reference: ServerFactory, peer: PeerFactory) -> None:
    """Appending or committing before session.update is custom.error 1002."""
    url = await reference()
    sender = await peer(url, role="sender")
    await sender.emit(event, *([chunks(b"abc", 3)[0]] if event.endswith("append") else []))
    assert (await _error(sender, 0))["errorId"] == 1002
    await _still_usable(sender)


@pytest.mark.parametrize("chunk", ["%%% not base64 %%%", "", 12345, {"audio": "QUJD"}])
async def test_invalid_chunk(chunk: Any, reference: ServerFactory, peer: PeerFactory) -> None:
    """A chunk that is not non-empty base64 is custom.error 1003."""
    url = await reference()
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    after = len(sender.received)
    await sender.emit("input.buffer.append", chunk)
    assert (await _error(sender, after))["errorId"] == 1003
    await _still_usable(sender)


async def test_audio_not_decodable_then_a_good_turn(
    reference: ServerFactory, peer: PeerFactory
) -> None:
    """A buffer that is not audio is custom.error 1004 at commit; the next turn completes."""
    url = await reference()
    sender = await peer(url, role="sender")
    session_id = await configure(sender, session_update())
    receiver = await peer(url, "receiver", role="receiver", sessionId=session_id)
    await sender.emit("input.buffer.append", base64.b64encode(b"\x00" * 5000).decode())
    await sender.emit("input.buffer.commit")
    assert (await _error(sender, 0))["errorId"] == 1004
    for chunk in chunks(fixture_audio(), 4096):
        await sender.emit("input.buffer.append", chunk)
    await sender.emit("input.buffer.commit")
    await sender.wait_for("request.transcribe.done", 10)
    await deltas_until_done(receiver)


async def test_empty_commit(reference: ServerFactory, peer: PeerFactory) -> None:
    """A commit of an empty buffer is custom.error 1005."""
    url = await reference()
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    await sender.emit("input.buffer.commit")
    assert (await _error(sender, 0))["errorId"] == 1005
    await _still_usable(sender)


async def test_payload_too_large(reference: ServerFactory, peer: PeerFactory) -> None:
    """A chunk over the 1 MiB limit is custom.error 1006, not a dropped connection."""
    url = await reference()
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    after = len(sender.received)
    await sender.emit("input.buffer.append", base64.b64encode(b"\x01" * ((1 << 20) + 1)).decode())
    assert (await _error(sender, after))["errorId"] == 1006
    await _still_usable(sender)


@pytest.mark.parametrize("section", ["STT", "LLM"])
async def test_provider_failure(section: str, reference: ServerFactory, peer: PeerFactory) -> None:
    """A failing provider is custom.error 1007."""
    url = await reference()
    sender = await peer(url, role="sender")
    update = session_update()
    update[section]["prompt"] = f"please fail {FAILURE_MARKER}"
    await configure(sender, update)
    await sender.emit("input.buffer.append", chunks(fixture_audio(), 1 << 20)[0])
    await sender.emit("input.buffer.commit")
    assert (await _error(sender, 0))["errorId"] == 1007
    await _still_usable(sender)


async def test_unknown_events(reference: ServerFactory, peer: PeerFactory) -> None:
    """An unknown event, or a Sender's event from a Receiver, is custom.error 1008."""
    url = await reference()
    sender = await peer(url, role="sender")
    session_id = await configure(sender, session_update())
    await sender.emit("response.text", {"text": "spoofed"})
    assert (await _error(sender, 0))["errorId"] == 1008
    receiver = await peer(url, "receiver", role="receiver", sessionId=session_id)
    await receiver.emit("session.update", session_update())
    assert (await _error(receiver, 0))["errorId"] == 1008
    await _still_usable(sender)


async def test_internal_error_is_contained(reference: ServerFactory, peer: PeerFactory) -> None:
    """A crashing provider is custom.error 1500; the connection and the server carry on."""

    class Broken(OfflineLanguageModel):
        async def complete(self, transcript: str, config: LlmConfig) -> str:
            raise RuntimeError("bug")

    url = await reference(providers=Providers(llm=Broken()))
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    await sender.emit("input.buffer.append", chunks(fixture_audio(), 1 << 20)[0])
    await sender.emit("input.buffer.commit")
    assert (await _error(sender, 0))["errorId"] == 1500
    await _still_usable(sender)


async def test_extra_arguments_and_no_payload(reference: ServerFactory, peer: PeerFactory) -> None:
    """Events with no payload or extra arguments get an error or work, never a crash."""
    url = await reference()
    sender = await peer(url, role="sender")
    await sender.emit("session.update")
    assert (await _error(sender, 0))["errorId"] == 1001
    await sender.emit("session.update", session_update(), "extra")
    await sender.wait_for("session.updated", 5)


# --- isolation ----------------------------------------------------------------------------


async def test_concurrent_sessions_are_isolated(
    reference: ServerFactory, peer: PeerFactory
) -> None:
    """Two concurrent sessions each get their own responses and nothing of the other."""
    url = await reference()
    weather, robot = clip("hello_weather"), clip("robot_story")
    first, second = await asyncio.gather(
        turn(url, peer, "chain", audio=weather.files["mp3"].read_bytes()),
        turn(url, peer, "stream", audio=robot.files["wav"].read_bytes(), is_base64=False),
    )
    assert weather.text in first.text
    assert robot.text in second.text
    assert all(d["isBase64"] for d in first.deltas)
    assert not any(d["isBase64"] for d in second.deltas)
    assert len(first.receiver.events("response.text")) == 1
    assert len(second.receiver.events("response.text")) == 1
