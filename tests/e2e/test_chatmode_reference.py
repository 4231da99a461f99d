"""The reference Chat Mode endpoints over real HTTP and WebSocket on 127.0.0.1, port 0.

The token flow, `/connection`, text and voice turns on `/ws/chat`, the answer audio behind
`fileUrl`, invalid messages, and every registered fault: seen with it, and not without it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest

from conformance import audio
from conformance.fixtures import clip
from conformance.protocols.chatmode.reference.faults import FAULTS
from conformance.protocols.chatmode.reference.server import reference_app
from tests.e2e.chatmode_harness import (
    AVATAR,
    TIMEOUT_S,
    Client,
    ask,
    fixture,
    reply,
    served,
    text_message,
    voice_message,
)


def wav_variant(*, rate: int = 16_000, channels: int = 1) -> bytes:
    """The hello_weather clip as WAV at another rate or channel count."""
    segment = audio.decode(fixture("wav")).set_frame_rate(rate).set_channels(channels)
    return audio.encode(segment, "wav")


def webm_declaring(rate: int) -> bytes:
    """The WebM fixture with its OpusHead input sample rate rewritten to `rate`."""
    data = bytearray(fixture("webm"))
    head = data.index(b"OpusHead")
    data[head + 12 : head + 16] = rate.to_bytes(4, "little")
    return bytes(data)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """A clean reference server."""
    async with served() as made:
        yield made


def claims(token: str) -> Any:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the token flow --------------------------------------------------------------------------


async def test_jwt_issues_a_signed_token(client: Client) -> None:
    """`POST /jwt` answers a three-part JWT with the user, the default project and a 24 h exp."""
    status, body = await client.post_jwt({"user_id": "user-123"})
    assert status == 200
    assert body["result"] == "success"
    token = body["jwt"]
    assert len(token.split(".")) == 3
    payload = claims(token)
    assert payload["user_id"] == "user-123"
    assert payload["project_id"] == "conformance"
    assert abs(payload["exp"] - (time.time() + 86_400)) < 60


async def test_jwt_accepts_the_known_project_and_edge_user_ids(client: Client) -> None:
    """A known project_id and user_ids of 1 and 128 allowed characters get tokens."""
    for user_id in ("a", "A-z_0" + "9" * 123):
        status, body = await client.post_jwt({"user_id": user_id, "project_id": "conformance"})
        assert (status, body["result"]) == (200, "success")


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": ""},
        {"user_id": "a" * 129},
        {"user_id": "bad user"},
        {"user_id": "caf\u00e9"},
        {"user_id": 42},
        {},
        "not json",
        [1, 2],
    ],
    ids=["empty", "129-chars", "space", "non-ascii", "number", "missing", "not-json", "array"],
)
async def test_jwt_rejects_a_bad_user_id(client: Client, body: Any) -> None:
    """A user_id that is not 1-128 of [A-Za-z0-9_-] is 400 `invalid_user_id`."""
    raw = body == "not json"
    assert await client.post_jwt(body, raw=raw) == (
        400,
        {"result": "failure", "error": "invalid_user_id"},
    )


@pytest.mark.parametrize("project_id", [42, None, ["conformance"]])
async def test_jwt_rejects_a_project_id_that_is_not_a_string(
    client: Client, project_id: Any
) -> None:
    """A project_id that is not a string is 400 `invalid_project_id`."""
    assert await client.post_jwt({"user_id": "u", "project_id": project_id}) == (
        400,
        {"result": "failure", "error": "invalid_project_id"},
    )


async def test_jwt_rejects_an_unknown_project(client: Client) -> None:
    """A project_id the server does not know is 401 `project_not_found`."""
    assert await client.post_jwt({"user_id": "u", "project_id": "elsewhere"}) == (
        401,
        {"result": "failure", "error": "project_not_found"},
    )


async def test_the_project_id_is_configurable() -> None:
    """A server made with another project_id knows that one, and no longer the default."""
    async with served(project_id="acme") as other:
        status, _ = await other.post_jwt({"user_id": "u", "project_id": "acme"})
        assert status == 200
        status, _ = await other.post_jwt({"user_id": "u", "project_id": "conformance"})
        assert status == 401


# --- /connection -----------------------------------------------------------------------------


async def test_connection_describes_avatars_languages_and_a_new_session(client: Client) -> None:
    """`GET /connection` answers status, a fresh session, avatars (no Live Mode) and languages."""
    token = await client.token()
    status, body = await client.connection(f"Bearer {token}")
    assert status == 200
    assert body["status"] == 200
    assert isinstance(body["session"], str)
    assert body["session"]
    assert body["avatars_info"]
    for avatar in body["avatars_info"]:
        assert set(avatar) == {"_id", "name", "hasLiveMode", "greetingText"}
        assert avatar["hasLiveMode"] is False
    assert AVATAR in {a["_id"] for a in body["avatars_info"]}
    assert {"name": "English", "language_code": "en"} in body["languages"]
    _, again = await client.connection(f"Bearer {token}")
    assert again["session"] != body["session"]


def _part(value: Any) -> str:
    """One base64url JWT part holding `value` as JSON."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


_FORGED_CLAIMS = {"user_id": "admin", "project_id": "conformance", "exp": 2**40}


async def _tampered(client: Client) -> str:
    """A real token whose claims were swapped after signing."""
    header, _, signature = (await client.token()).split(".")
    return f"{header}.{_part(_FORGED_CLAIMS)}.{signature}"


def _unsigned() -> str:
    """A token with `alg: none` and no signature."""
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(_FORGED_CLAIMS)}."


async def _bad_tokens(client: Client) -> list[str]:
    async with served() as other:  # another server: another signing key
        foreign = await other.token()
    return ["garbage", "a.b.c", _unsigned(), await _tampered(client), foreign]


async def test_connection_refuses_a_missing_or_invalid_token(client: Client) -> None:
    """No bearer token, or one this server did not sign, is 401 `invalid_token`."""
    token = await client.token()
    headers = [None, "", f"Basic {token}", token, "Bearer "]
    headers += [f"Bearer {bad}" for bad in await _bad_tokens(client)]
    for header in headers:
        assert await client.connection(header) == (
            401,
            {"result": "failure", "error": "invalid_token"},
        ), header


async def test_connection_refuses_an_expired_token() -> None:
    """An expired token is 403 `token_expired`."""
    async with served(token_ttl_s=0) as expiring:
        token = await expiring.token()
        assert await expiring.connection(f"Bearer {token}") == (
            403,
            {"result": "failure", "error": "token_expired"},
        )


async def test_tokens_are_shared_by_servers_with_one_secret() -> None:
    """Two servers made with the same secret accept each other's tokens."""
    async with served(secret=b"k" * 32) as one, served(secret=b"k" * 32) as two:
        status, _ = await two.connection(f"Bearer {await one.token()}")
        assert status == 200


# --- the chat socket: turns ------------------------------------------------------------------


async def test_a_text_message_is_answered(client: Client) -> None:
    """A text message gets `incoming` with the answer, an http fileUrl and a string timestamp."""
    async with client.socket(await client.token()) as ws:
        await ws.send_json(text_message("What is the capital of France?"))
        first = await ws.receive_json(timeout=TIMEOUT_S)
        assert first == {"type": "event", "content": "processing"}
        answer = await reply(ws)
        assert answer is not None
        assert set(answer) == {"type", "content", "fileUrl", "timestamp"}
        assert answer["type"] == "incoming"
        assert "capital of France" in answer["content"]
        assert answer["fileUrl"].startswith(f"{client.url}/files/")
        assert isinstance(answer["timestamp"], str)
        again = await ask(ws, text_message("What is the capital of France?"))
        assert again["content"] == answer["content"]


@pytest.mark.parametrize("fmt", ["wav", "webm"])
async def test_a_voice_message_is_transcribed_and_answered(client: Client, fmt: str) -> None:
    """A 16 kHz mono WAV, or the WebM/Opus the official client records, is heard and answered."""
    async with client.socket(await client.token()) as ws:
        answer = await ask(ws, voice_message(fixture(fmt)))
        assert answer["type"] == "incoming"
        assert clip("hello_weather").text in answer["content"]
        status, content_type, _ = await client.fetch(answer["fileUrl"])
        assert (status, content_type) == (200, "audio/mpeg")


async def test_unknown_audio_gets_a_stable_answer(client: Client) -> None:
    """Audio that is no fixture clip is answered with the same text each time."""
    tone = audio.encode(audio.tone(440, 1500, sample_rate=16_000, volume_db=-10), "wav")
    async with client.socket(await client.token()) as ws:
        first = await ask(ws, voice_message(tone))
        second = await ask(ws, voice_message(tone))
        assert first["type"] == second["type"] == "incoming"
        assert first["content"] == second["content"]


async def test_the_answer_audio_is_served_and_grows_with_the_text(client: Client) -> None:
    """fileUrl serves 200 `audio/mpeg` that decodes, longer for a longer answer."""
    durations = []
    async with client.socket(await client.token()) as ws:
        for request in ("Hi.", "Please tell me a long story about a robot who learns to paint."):
            answer = await ask(ws, text_message(request))
            status, content_type, data = await client.fetch(answer["fileUrl"])
            assert (status, content_type) == (200, "audio/mpeg")
            assert audio.sniff(data) == "mp3"
            durations.append(audio.duration_ms(audio.decode(data)))
    assert 0 < durations[0] < durations[1]


async def test_optional_fields_are_accepted(client: Client) -> None:
    """`isPushToTalk` and `session` may be sent or left out."""
    async with client.socket(await client.token()) as ws:
        for message in (
            text_message(session=None),
            text_message(isPushToTalk=False),
            voice_message(fixture("wav"), isPushToTalk=None, session=None),
        ):
            assert (await ask(ws, message))["type"] == "incoming"


# --- the chat socket: invalid messages ------------------------------------------------------

_INVALID: list[tuple[str, Any, str]] = [
    ("not-json", "hello there", "JSON"),
    ("not-object", "[1, 2, 3]", "object"),
    *[
        (f"missing-{name}", text_message(**{name: None}), name)
        for name in (
            "avatar_id",
            "user_id",
            "chat_type",
            "language",
            "request",
            "requestType",
            "source",
            "isLive",
        )
    ],
    ("missing-file_base64_data", voice_message(b"", file_base64_data=None), "file_base64_data"),
    ("user_id-not-string", text_message(user_id=7), "user_id"),
    ("bad-chat_type", text_message(chat_type="video"), "chat_type"),
    ("text-with-audio-requestType", text_message(requestType="audio"), "requestType"),
    ("voice-with-text-requestType", voice_message(b"x", requestType="text"), "requestType"),
    ("isLive-true", text_message(isLive=True), "isLive"),
    ("isLive-string", text_message(isLive="false"), "isLive"),
    ("isPushToTalk-string", text_message(isPushToTalk="yes"), "isPushToTalk"),
    ("session-number", text_message(session=5), "session"),
    ("unknown-avatar", text_message(avatar_id="nobody"), "avatar_id"),
    ("empty-request", text_message(""), "request"),
    ("bad-base64", voice_message(b"", file_base64_data="%%% not base64 %%%"), "file_base64_data"),
    # Found by the fuzzer: non-ASCII text made b64decode raise ValueError and close the socket.
    ("non-ascii-base64", voice_message(b"", file_base64_data="\x80"), "file_base64_data"),
]


@pytest.mark.parametrize(
    ("message", "field"), [c[1:] for c in _INVALID], ids=[c[0] for c in _INVALID]
)
async def test_an_invalid_message_gets_a_system_message(
    client: Client, message: Any, field: str
) -> None:
    """An invalid message is answered `system` naming the field, and the socket stays open."""
    async with client.socket(await client.token()) as ws:
        answer = await ask(ws, message)
        assert answer["type"] == "system"
        assert field in answer["content"]
        assert (await ask(ws, text_message()))["type"] == "incoming"


_BAD_AUDIO: list[tuple[str, Callable[[], bytes], str]] = [
    ("mp3", lambda: fixture("mp3"), "WAV or WebM"),
    ("ogg", lambda: fixture("ogg"), "WAV or WebM"),
    ("not-audio", lambda: b"hello, this is not audio at all", "WAV or WebM"),
    ("broken-wav", lambda: fixture("wav")[:40], "decode"),
    ("wav-8khz", lambda: wav_variant(rate=8000), "16 kHz"),
    ("wav-48khz", lambda: wav_variant(rate=48_000), "16 kHz"),
    ("wav-stereo", lambda: wav_variant(channels=2), "mono"),
    ("webm-declaring-8khz", lambda: webm_declaring(8000), "16 kHz"),
]


@pytest.mark.parametrize(
    ("make", "reason"), [c[1:] for c in _BAD_AUDIO], ids=[c[0] for c in _BAD_AUDIO]
)
async def test_audio_outside_the_standard_format_gets_a_system_message(
    client: Client, make: Callable[[], bytes], reason: str
) -> None:
    """Audio that is not WAV or WebM, 16 kHz, mono is refused with `system`; the socket stays."""
    async with client.socket(await client.token()) as ws:
        answer = await ask(ws, voice_message(make()))
        assert answer["type"] == "system"
        assert "file_base64_data" in answer["content"]
        assert reason in answer["content"]
        assert (await ask(ws, text_message()))["type"] == "incoming"


async def test_webm_declaring_16khz_is_accepted(client: Client) -> None:
    """WebM/Opus whose OpusHead declares a 16 kHz capture is accepted."""
    async with client.socket(await client.token()) as ws:
        assert (await ask(ws, voice_message(webm_declaring(16_000))))["type"] == "incoming"


async def test_a_binary_frame_gets_a_system_message(client: Client) -> None:
    """A binary frame is not a JSON message: `system`, and the socket stays open."""
    async with client.socket(await client.token()) as ws:
        await ws.send_bytes(b"\x00\x01")
        answer = await reply(ws)
        assert answer is not None
        assert answer["type"] == "system"
        assert (await ask(ws, text_message()))["type"] == "incoming"


# --- the chat socket: tokens and isolation --------------------------------------------------


async def _upgrade_status(client: Client, token: str | None) -> int:
    try:
        async with client.socket(token):
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def test_the_socket_refuses_a_missing_or_invalid_token(client: Client) -> None:
    """Without a token this server signed, `/ws/chat` is 401 before the upgrade."""
    for token in [None, "", *await _bad_tokens(client)]:
        assert await _upgrade_status(client, token) == 401, token


async def test_the_socket_refuses_an_expired_token() -> None:
    """An expired token on `/ws/chat` is 403 before the upgrade."""
    async with served(token_ttl_s=0) as expiring:
        assert await _upgrade_status(expiring, await expiring.token()) == 403


async def test_two_users_sockets_are_isolated(client: Client) -> None:
    """Each socket gets the answers to its own messages and no other."""
    async with (
        client.socket(await client.token("alice")) as alice,
        client.socket(await client.token("bob")) as bob,
    ):
        first = await ask(alice, text_message("alpha question", user_id="alice"))
        assert "alpha" in first["content"]
        second = await ask(bob, text_message("bravo question", user_id="bob"))
        assert "bravo" in second["content"]
        third = await ask(alice, text_message("charlie question", user_id="alice"))
        assert "charlie" in third["content"]


# --- faults ----------------------------------------------------------------------------------

Observation = Callable[[Sequence[str]], Awaitable[bool]]
OBSERVATIONS: dict[str, Observation] = {}


def observes(name: str) -> Callable[[Observation], Observation]:
    """Register how one fault shows on the wire: True when the defect is seen."""

    def register(observation: Observation) -> Observation:
        assert name not in OBSERVATIONS, name
        OBSERVATIONS[name] = observation
        return observation

    return register


@observes("jwt-accepts-bad-user-id")
async def _jwt_bad_user(faults: Sequence[str]) -> bool:
    async with served(faults) as c:
        return (await c.post_jwt({"user_id": "not a valid id!"}))[0] == 200


@observes("unknown-project-accepted")
async def _unknown_project(faults: Sequence[str]) -> bool:
    async with served(faults) as c:
        return (await c.post_jwt({"user_id": "u", "project_id": "elsewhere"}))[0] == 200


@observes("expired-token-accepted")
async def _expired_accepted(faults: Sequence[str]) -> bool:
    async with served(faults, token_ttl_s=0) as c:
        return (await c.connection(f"Bearer {await c.token()}"))[0] == 200


@observes("expired-token-401")
async def _expired_401(faults: Sequence[str]) -> bool:
    async with served(faults, token_ttl_s=0) as c:
        return (await c.connection(f"Bearer {await c.token()}"))[0] == 401


@observes("connection-without-auth")
async def _connection_without_auth(faults: Sequence[str]) -> bool:
    async with served(faults) as c:
        return (await c.connection(None))[0] == 200


@observes("socket-without-token")
async def _socket_without_token(faults: Sequence[str]) -> bool:
    async with served(faults) as c:
        return await _upgrade_status(c, None) == 101


async def _answer_type(faults: Sequence[str], message: Any) -> str:
    async with served(faults) as c, c.socket(await c.token()) as ws:
        return str((await ask(ws, message)).get("type"))


@observes("live-mode-accepted")
async def _live_mode(faults: Sequence[str]) -> bool:
    return await _answer_type(faults, text_message(isLive=True)) == "incoming"


@observes("wav-8khz-accepted")
async def _wav_8khz(faults: Sequence[str]) -> bool:
    return await _answer_type(faults, voice_message(wav_variant(rate=8000))) == "incoming"


@observes("no-answer-to-voice")
async def _no_answer_to_voice(faults: Sequence[str]) -> bool:
    async with served(faults) as c, c.socket(await c.token()) as ws:
        await ws.send_json(voice_message(fixture("wav")))
        answer = await ask(ws, text_message("marker"))  # answered after the voice message
        return "weather" not in answer["content"]


@observes("missing-type-field")
async def _missing_type(faults: Sequence[str]) -> bool:
    async with served(faults) as c, c.socket(await c.token()) as ws:
        await ws.send_json(text_message())
        return "type" not in await ws.receive_json(timeout=TIMEOUT_S)


async def _fetched_answer(faults: Sequence[str]) -> tuple[int, str, bytes]:
    async with served(faults) as c, c.socket(await c.token()) as ws:
        return await c.fetch((await ask(ws, text_message()))["fileUrl"])


@observes("file-url-404")
async def _file_404(faults: Sequence[str]) -> bool:
    return (await _fetched_answer(faults))[0] == 404


@observes("file-url-wrong-content-type")
async def _file_content_type(faults: Sequence[str]) -> bool:
    return (await _fetched_answer(faults))[1] != "audio/mpeg"


@observes("answer-audio-not-decodable")
async def _not_decodable(faults: Sequence[str]) -> bool:
    try:
        audio.decode((await _fetched_answer(faults))[2])
    except audio.AudioDecodeError:
        return True
    return False


@observes("cross-user-leak")
async def _cross_user_leak(faults: Sequence[str]) -> bool:
    async with (
        served(faults) as c,
        c.socket(await c.token("alice")) as alice,
        c.socket(await c.token("bob")) as bob,
    ):
        await ask(alice, text_message("alpha question", user_id="alice"))
        answer = await ask(bob, text_message("bravo question", user_id="bob"))
        return "alpha" in answer["content"]


@observes("error-closes-socket")
async def _error_closes(faults: Sequence[str]) -> bool:
    async with served(faults) as c, c.socket(await c.token()) as ws:
        assert (await ask(ws, "not json"))["type"] == "system"
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await ws.send_json(text_message())
        return await reply(ws) is None


def test_observations_cover_every_fault() -> None:
    """Every registered fault has an observation, and every observation a fault."""
    assert sorted(OBSERVATIONS) == sorted(FAULTS)
    assert len(FAULTS) >= 10


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_fault_is_observable(name: str) -> None:
    """The fault is seen on the wire with it, and not without it."""
    observe = OBSERVATIONS[name]
    assert not await observe(()), f"{name} seen on a clean server"
    assert await observe((name,)), f"{name} not seen with the fault"


def test_unknown_fault_names_the_known_ones() -> None:
    """An unknown fault name raises KeyError listing the registered faults."""
    with pytest.raises(KeyError, match="cross-user-leak") as raised:
        reference_app(["no-such-fault"])
    assert "no-such-fault" in str(raised.value)
