"""The Chat Mode variants over real HTTP and WebSocket on 127.0.0.1, port 0.

Each variant (reference/variants.py) reads an [open] point of PROTOCOLS.md §2 another way; here
each is observed on the wire with the variant, and the reference's [default] without it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from conformance import audio
from conformance.protocols.chatmode.reference import variants as v
from tests.e2e.chatmode_harness import (
    TIMEOUT_S,
    Client,
    ask,
    fixture,
    served,
    text_message,
    voice_message,
)


async def turn(client: Client, message: Any = None) -> list[dict[str, Any]]:
    """Every message a text message gets, up to the answer and what follows it within 0.5 s."""
    received: list[dict[str, Any]] = []
    async with client.socket(await client.token()) as ws:
        await ws.send_json(message if message is not None else text_message())
        while not any(m.get("type") in ("incoming", "system") for m in received):
            received.append(await ws.receive_json(timeout=TIMEOUT_S))
        try:
            while True:
                received.append(await ws.receive_json(timeout=0.5))
        except TimeoutError:
            pass
    return received


def answer_of(received: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in received if m.get("type") in ("incoming", "system"))


# --- one observation per variant: (with the variant, without it) -----------------------------


async def no_processing_event(client: Client, active: bool) -> None:
    kinds = [(m["type"], m["content"]) for m in await turn(client) if m["type"] == "event"]
    assert kinds == ([] if active else [("event", "processing")])


async def typing_events(client: Client, active: bool) -> None:
    shapes = [m["type"] if m["type"] != "event" else m["content"] for m in await turn(client)]
    if active:
        assert shapes == ["processing", "typing", "incoming", "idle"]
    else:
        assert shapes == ["processing", "incoming"]


async def epoch_ms_timestamp(client: Client, active: bool) -> None:
    stamp = answer_of(await turn(client))["timestamp"]
    if active:
        assert isinstance(stamp, int)
        assert abs(stamp - time.time() * 1000) < 60_000
    else:
        assert isinstance(stamp, str)
        assert stamp.endswith("Z")


async def relative_file_url(client: Client, active: bool) -> None:
    url = answer_of(await turn(client))["fileUrl"]
    assert url.startswith("/files/" if active else f"{client.url}/files/")
    status, content_type, _ = await client.fetch(url if not active else client.url + url)
    assert (status, content_type) == (200, "audio/mpeg")


async def wav_answer_audio(client: Client, active: bool) -> None:
    url = answer_of(await turn(client))["fileUrl"]
    status, content_type, data = await client.fetch(url)
    assert status == 200
    if active:
        assert url.endswith(".wav")
        assert (content_type, audio.sniff(data)) == ("audio/wav", "wav")
        segment = audio.decode(data)
        assert (segment.frame_rate, segment.channels) == (16_000, 1)
        assert audio.duration_ms(segment) > 1000
        assert (await client.fetch(url.removesuffix(".wav") + ".mp3"))[0] == 404
    else:
        assert url.endswith(".mp3")
        assert (content_type, audio.sniff(data)) == ("audio/mpeg", "mp3")


async def text_only_answers(client: Client, active: bool) -> None:
    answer = answer_of(await turn(client))
    assert answer["type"] == "incoming"
    assert answer["content"]
    assert ("fileUrl" in answer) is not active


async def generic_system_errors(client: Client, active: bool) -> None:
    async with client.socket(await client.token()) as ws:
        error = await ask(ws, text_message(avatar_id=None))
        if active:
            assert error == {
                "type": "system",
                "content": "Something went wrong",
                "code": "invalid_message",
            }
        else:
            assert error["type"] == "system"
            assert "avatar_id" in error["content"]
        assert (await ask(ws, text_message()))["type"] == "incoming"  # still open and usable


async def jwt_error_object(client: Client, active: bool) -> None:
    status, body = await client.post_jwt({"user_id": "bad user!"})
    assert status == 400
    refused, refusal = await client.connection(None)
    assert refused == 401
    if active:
        assert body["result"] == "failure"
        assert body["error"]["code"] == "invalid_user_id"
        assert body["error"]["message"]
        assert refusal["error"]["code"] == "invalid_token"
    else:
        assert body == {"result": "failure", "error": "invalid_user_id"}
        assert refusal == {"result": "failure", "error": "invalid_token"}
    assert await client.post_jwt({"user_id": "u", "project_id": "elsewhere"}) == (
        401,
        {"result": "failure", "error": {"code": "project_not_found", "message": "no such project"}}
        if active
        else {"result": "failure", "error": "project_not_found"},
    )


async def own_avatars(client: Client, active: bool) -> None:
    own = "6650f1c2a9e4"
    _, info = await client.connection(f"Bearer {await client.token()}")
    ids = {a["_id"] for a in info["avatars_info"]}
    assert (own in ids, "avatar-id-123" in ids) == (active, not active)
    async with client.socket(await client.token()) as ws:
        seed = await ask(ws, text_message(avatar_id="avatar-id-123"))
        mine = await ask(ws, voice_message(fixture("wav"), avatar_id=own))
    assert (seed["type"], mine["type"]) == (
        ("system", "incoming") if active else ("incoming", "system")
    )


OBSERVED: dict[str, Callable[[Client, bool], Awaitable[None]]] = {
    v.NO_PROCESSING_EVENT.name: no_processing_event,
    v.TYPING_EVENTS.name: typing_events,
    v.EPOCH_MS_TIMESTAMP.name: epoch_ms_timestamp,
    v.RELATIVE_FILE_URL.name: relative_file_url,
    v.WAV_ANSWER_AUDIO.name: wav_answer_audio,
    v.TEXT_ONLY_ANSWERS.name: text_only_answers,
    v.GENERIC_SYSTEM_ERRORS.name: generic_system_errors,
    v.JWT_ERROR_OBJECT.name: jwt_error_object,
    v.OWN_AVATARS.name: own_avatars,
}


def test_every_variant_is_observed() -> None:
    """Each registered variant has its observation here (and nothing else is observed)."""
    assert set(OBSERVED) == set(v.VARIANTS)


@pytest.mark.parametrize("active", [True, False], ids=["with", "without"])
@pytest.mark.parametrize("variant", list(OBSERVED))
async def test_variant_on_the_wire(variant: str, active: bool) -> None:
    """The variant's behaviour is seen with it, and the reference's [default] without it."""
    async with served(variants=[variant] if active else []) as client:
        await OBSERVED[variant](client, active)


def test_variant_profiles_are_valid_profile_keys() -> None:
    """Each variant's profile names only Chat Mode profile keys (the profile schema)."""
    from conformance.protocols.chatmode.plugin import PLUGIN

    sections = set(PLUGIN.profile_schema()["properties"])
    for variant in v.VARIANTS.values():
        assert set(variant.profile) <= sections, variant.name


async def test_an_unknown_variant_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"known: .*typing-events"):
        async with served(variants=["no-such-variant"]):
            pass


async def test_a_socket_still_closes_cleanly_with_every_variant() -> None:
    """All variants at once: a text turn is still answered, the server shuts down cleanly."""
    async with (
        served(variants=list(v.VARIANTS)) as client,
        client.socket(await client.token()) as ws,
    ):
        await ws.send_json(text_message(avatar_id="6650f1c2a9e4"))
        kinds = []
        while "incoming" not in kinds:
            msg = await ws.receive(timeout=TIMEOUT_S)
            assert msg.type is aiohttp.WSMsgType.TEXT
            kinds.append(msg.json()["type"])
