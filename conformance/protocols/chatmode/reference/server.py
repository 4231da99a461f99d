"""The reference Chat Mode server: the publisher's documented flow (PROTOCOLS.md §2) on aiohttp.

`POST /jwt` issues a token, `GET /connection` describes the avatars and languages and opens a
session, `/ws/chat?token=<jwt>` carries the chat, and `GET /files/<id>.mp3` serves the audio of
each answer from memory. Everything is offline and deterministic: speech is recognised from the
fixture clips and synthesised with the MetaHuman server's offline voice. Bad input on the socket
is answered with a `system` message naming the field, and the socket stays open ([default]).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import av
from aiohttp import WSCloseCode, WSMsgType, web

from conformance import audio, fixtures
from conformance.protocols.chatmode.reference import faults as f
from conformance.protocols.chatmode.reference import tokens
from conformance.protocols.chatmode.reference import variants as v
from conformance.protocols.metahuman.reference.providers import speech

__all__ = ["AVATARS", "LANGUAGES", "OWN_AVATARS", "Avatar", "ChatModeServer", "reference_app"]

log = logging.getLogger("conformance.reference.chatmode")

_USER_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DAY_S: Final = 86_400
_RATE: Final = 16_000
# Base64 of a few minutes of 16 kHz WAV; aiohttp's default (4 MiB) would cut a long recording.
_MAX_MESSAGE_BYTES: Final = 32 << 20
# Answers' audio is kept in memory; the oldest go first so a long run cannot grow without end.
_MAX_FILES: Final = 1024
_REQUEST_TYPE: Final = {"text": "text", "voice": "audio"}  # chat_type -> its requestType
_COMMON_STRINGS: Final = ("avatar_id", "user_id", "chat_type", "language", "requestType", "source")
_NOT_AUDIO: Final = b"<html><body>not audio</body></html>\n" * 32  # answer-audio-not-decodable


@dataclass(frozen=True, slots=True, kw_only=True)
class Avatar:
    id: str
    name: str
    greeting: str

    def info(self) -> dict[str, Any]:
        # Live Mode is out of scope (PROTOCOLS.md §2), so no avatar offers it.
        return {
            "_id": self.id,
            "name": self.name,
            "hasLiveMode": False,
            "greetingText": self.greeting,
        }


# The seed's example avatar id is one of them, so the seed's messages work as written.
AVATARS: Final = (
    Avatar(id="avatar-id-123", name="Ava", greeting="Hello, I am Ava. How can I help you today?"),
    Avatar(id="avatar-id-456", name="Max", greeting="Hi, I am Max. Ask me anything."),
)
# The avatars of the own-avatars variant: a deployment's ids, not the seed's example.
OWN_AVATARS: Final = (
    Avatar(id="6650f1c2a9e4", name="Ava", greeting="Hello, I am Ava. How can I help you today?"),
    Avatar(id="6650f1c2a9e5", name="Max", greeting="Hi, I am Max. Ask me anything."),
)
LANGUAGES: Final = (
    {"name": "English", "language_code": "en"},
    {"name": "Spanish", "language_code": "es"},
)


class _Invalid(Exception):
    """A client message the server refuses; the text names the field and becomes `content`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Message:
    avatar: Avatar
    request: str | None  # the text of a text message
    audio: bytes | None  # the decoded file_base64_data of a voice message


_ERROR_TEXT: Final = {  # the jwt-error-object variant's messages
    "invalid_user_id": "user_id must be 1 to 128 letters, digits, hyphens or underscores",
    "invalid_project_id": "project_id must be a string",
    "project_not_found": "no such project",
    "invalid_token": "the token is missing or invalid",
    "token_expired": "the token has expired",
}


def _timestamp(*, epoch_ms: bool = False) -> str | int:
    now = datetime.now(UTC)
    if epoch_ms:
        return int(now.timestamp() * 1000)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(raw: str, *, allow_live: bool, avatars: Sequence[Avatar] = AVATARS) -> _Message:
    """A valid Chat Mode message (seed 002's tables), or _Invalid naming the first bad field."""
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise _Invalid(f"the message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise _Invalid("the message is not a JSON object")
    for name in (*_COMMON_STRINGS, "isLive"):
        if name not in message:
            raise _Invalid(f"`{name}` is required")
    for name in _COMMON_STRINGS:
        if not isinstance(message[name], str):
            raise _Invalid(f"`{name}` must be a string")
    for name, kind, label in (
        ("isLive", bool, "a boolean"),
        ("isPushToTalk", bool, "a boolean"),
        ("session", str, "a string"),
    ):
        if name in message and not isinstance(message[name], kind):
            raise _Invalid(f"`{name}` must be {label}")
    chat_type = message["chat_type"]
    if chat_type not in _REQUEST_TYPE:
        raise _Invalid('`chat_type` must be "text" or "voice"')
    if message["requestType"] != _REQUEST_TYPE[chat_type]:
        raise _Invalid(
            f'`requestType` must be "{_REQUEST_TYPE[chat_type]}" when `chat_type` is "{chat_type}"'
        )
    if message["isLive"] and not allow_live:
        raise _Invalid("`isLive` must be false: this server offers Chat Mode only, not Live Mode")
    avatar = next((a for a in avatars if a.id == message["avatar_id"]), None)
    if avatar is None:
        raise _Invalid(f"`avatar_id` {message['avatar_id']!r} is not a known avatar")
    field = "request" if chat_type == "text" else "file_base64_data"
    value = message.get(field)
    if field not in message:
        raise _Invalid(f"`{field}` is required when `chat_type` is {chat_type!r}")
    if not isinstance(value, str):
        raise _Invalid(f"`{field}` must be a string")
    if chat_type == "text":
        if not value.strip():
            raise _Invalid("`request` is empty")
        return _Message(avatar=avatar, request=value.strip(), audio=None)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:  # non-ASCII text raises ValueError
        raise _Invalid(f"`file_base64_data` is not base64: {exc}") from None
    if not data:
        raise _Invalid("`file_base64_data` is empty")
    return _Message(avatar=avatar, request=None, audio=data)


def _opus_input_rate(data: bytes) -> int | None:
    """The OpusHead "input sample rate" (RFC 7845 §5.1) of a WebM/Opus stream, if it has one."""
    try:
        with av.open(io.BytesIO(data), format="matroska") as container:
            context = container.streams.audio[0].codec_context
            extradata = context.extradata if context.name == "opus" else None
    except (av.FFmpegError, IndexError, OSError, ValueError):
        return None
    if not extradata or len(extradata) < 16 or not extradata.startswith(b"OpusHead"):
        return None
    return int.from_bytes(extradata[12:16], "little")


def _transcribe(data: bytes, *, any_wav_rate: bool) -> str:
    """The text of a voice message's audio (WAV or WebM, 16 kHz, mono), or _Invalid."""
    fmt = audio.sniff(data)
    if fmt not in ("wav", "webm"):
        found = fmt or "not audio in a known container"
        raise _Invalid(f"`file_base64_data` must be WAV or WebM audio, not {found}")
    try:
        segment = audio.decode(data)
    except audio.AudioDecodeError as exc:
        raise _Invalid(f"`file_base64_data` does not decode: {exc}") from None
    if segment.channels != 1:
        raise _Invalid(f"`file_base64_data` must be mono, not {segment.channels} channels")
    rate: int | None = segment.frame_rate
    if fmt == "webm":
        input_rate = _opus_input_rate(data)
        if input_rate is not None:
            # Opus always decodes at 48 kHz; what the sender captured is OpusHead's input rate.
            # 0 means "unspecified", and browsers write 48000 whatever they captured (Chrome's
            # MediaRecorder does, although the official client asks getUserMedia for 16 kHz),
            # so only another declared rate (an 8 kHz recording, say) is held against it.
            rate = None if input_rate in (0, _RATE, 48_000) else input_rate
    elif any_wav_rate:
        rate = None
    if rate is not None and rate != _RATE:
        raise _Invalid(f"`file_base64_data` must be sampled at 16 kHz, not {rate} Hz")
    clip = fixtures.recognise(segment)
    if clip is not None:
        return clip.text
    # Not a fixture clip: a stable text that still says what was heard.
    return f"an audio message of {len(segment) / 1000:.1f} seconds"


def _answer(avatar: Avatar, heard: str) -> str:
    """The avatar's deterministic answer; it quotes what it heard, so it grows with it."""
    return f"{avatar.name} here. You said: {heard.rstrip('.!?')}. Thank you for your message."


def _synthesise(text: str, *, wav: bool = False) -> bytes:
    return audio.encode(speech(text), "wav" if wav else "mp3")


class ChatModeServer:
    """One server: its token key, the faults it runs with, its open sockets and its files."""

    def __init__(
        self,
        faults: f.ActiveFaults,
        *,
        variants: v.ActiveVariants | None = None,
        project_id: str = "conformance",
        token_ttl_s: float = _DAY_S,
        secret: bytes | None = None,
    ) -> None:
        self.faults = faults
        self.variants = variants or v.ActiveVariants(v.VARIANTS)
        self.project_id = project_id
        self.token_ttl_s = token_ttl_s
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.sockets: set[web.WebSocketResponse] = set()
        self.files: OrderedDict[str, bytes] = OrderedDict()
        self.avatars = OWN_AVATARS if self.variants.active(v.OWN_AVATARS) else AVATARS
        self.wav = self.variants.active(v.WAV_ANSWER_AUDIO)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_MESSAGE_BYTES)
        app.router.add_post("/jwt", self.jwt)
        app.router.add_get("/connection", self.connection)
        app.router.add_get("/ws/chat", self.chat)
        app.router.add_get("/files/{file_id}.{ext:mp3|wav}", self.file)
        app.on_shutdown.append(self._close_sockets)
        return app

    def _failure(self, status: int, error: str) -> web.Response:
        if self.variants.active(v.JWT_ERROR_OBJECT):
            detail = {"code": error, "message": _ERROR_TEXT.get(error, error)}
            return web.json_response({"result": "failure", "error": detail}, status=status)
        return web.json_response({"result": "failure", "error": error}, status=status)

    # --- tokens ---------------------------------------------------------------------------

    async def jwt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        # The publisher's catalogue has no code for a body that is not an object; without one
        # there is no valid user_id, so that is the error.
        if not isinstance(body, dict) or not isinstance(body.get("user_id"), str):
            return self._failure(400, "invalid_user_id")
        user_id: str = body["user_id"]
        if not _USER_ID.fullmatch(user_id) and not self.faults.active(f.JWT_ACCEPTS_BAD_USER_ID):
            return self._failure(400, "invalid_user_id")
        project_id = body.get("project_id", self.project_id)
        if not isinstance(project_id, str):
            return self._failure(400, "invalid_project_id")
        if project_id != self.project_id and not self.faults.active(f.UNKNOWN_PROJECT_ACCEPTED):
            return self._failure(401, "project_not_found")
        token = tokens.issue(
            self.secret, user_id=user_id, project_id=project_id, ttl_s=self.token_ttl_s
        )
        return web.json_response({"result": "success", "jwt": token})

    def _refusal(self, token: str) -> web.Response | None:
        """The answer to a token that is not valid (401, or 403 if expired); None if valid."""
        try:
            tokens.verify(
                self.secret, token, check_expiry=not self.faults.active(f.EXPIRED_TOKEN_ACCEPTED)
            )
        except tokens.ExpiredToken:
            if self.faults.active(f.EXPIRED_TOKEN_401):
                return self._failure(401, "invalid_token")
            return self._failure(403, "token_expired")
        except tokens.InvalidToken:
            return self._failure(401, "invalid_token")
        return None

    async def connection(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not self.faults.active(f.CONNECTION_WITHOUT_AUTH):
            refusal = self._refusal(token.strip() if scheme.lower() == "bearer" else "")
            if refusal is not None:
                return refusal
        return web.json_response(
            {
                "status": 200,
                "session": str(uuid.uuid4()),
                "avatars_info": [avatar.info() for avatar in self.avatars],
                "languages": list(LANGUAGES),
            }
        )

    # --- files ----------------------------------------------------------------------------

    async def file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["file_id"])
        if data is None or request.match_info["ext"] != self._ext:
            raise web.HTTPNotFound(text="no such file")
        wrong = self.faults.active(f.FILE_URL_WRONG_CONTENT_TYPE)
        kind = "audio/wav" if self.wav else "audio/mpeg"
        return web.Response(body=data, content_type="text/plain" if wrong else kind)

    @property
    def _ext(self) -> str:
        return "wav" if self.wav else "mp3"

    def _store(self, data: bytes, origin: str) -> str:
        """Keep an answer's audio and give its absolute URL."""
        file_id = uuid.uuid4().hex
        if self.faults.active(f.ANSWER_AUDIO_NOT_DECODABLE):
            data = _NOT_AUDIO
        self.files[file_id] = data
        while len(self.files) > _MAX_FILES:
            self.files.popitem(last=False)
        if self.faults.active(f.FILE_URL_404):
            file_id = f"missing-{file_id}"
        if self.variants.active(v.RELATIVE_FILE_URL):
            origin = ""
        return f"{origin}/files/{file_id}.{self._ext}"

    # --- the chat socket ------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        # Refuse before the upgrade, so a client sees the HTTP status the publisher documents.
        if not self.faults.active(f.SOCKET_WITHOUT_TOKEN):
            refusal = self._refusal(request.query.get("token", ""))
            if refusal is not None:
                return refusal
        ws = web.WebSocketResponse(max_msg_size=_MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        origin = str(request.url.origin())
        self.sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    keep_open = await self._turn(ws, msg.data, origin)
                elif msg.type is WSMsgType.BINARY:
                    keep_open = await self._refuse(ws, "messages are JSON text, not binary frames")
                else:
                    break
                if not keep_open:
                    break
        finally:
            self.sockets.discard(ws)
        return ws

    async def _send(self, ws: web.WebSocketResponse, message: Mapping[str, Any]) -> None:
        if self.faults.active(f.MISSING_TYPE_FIELD):
            message = {k: v for k, v in message.items() if k != "type"}
        if not ws.closed:
            await ws.send_json(dict(message))

    async def _refuse(self, ws: web.WebSocketResponse, reason: str) -> bool:
        """Answer an invalid message with a system message; False if the socket must close."""
        if self.variants.active(v.GENERIC_SYSTEM_ERRORS):
            refusal = {
                "type": "system",
                "content": "Something went wrong",
                "code": "invalid_message",
            }
        else:
            refusal = {"type": "system", "content": reason}
        await self._send(ws, refusal)
        if self.faults.active(f.ERROR_CLOSES_SOCKET):
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid message")
            return False
        return True

    async def _turn(self, ws: web.WebSocketResponse, raw: str, origin: str) -> bool:
        """Answer one client message; False if the socket must close."""
        try:
            message = _parse(
                raw, allow_live=self.faults.active(f.LIVE_MODE_ACCEPTED), avatars=self.avatars
            )
            if message.audio is not None:
                any_rate = self.faults.active(f.WAV_8KHZ_ACCEPTED)
                heard = await asyncio.to_thread(_transcribe, message.audio, any_wav_rate=any_rate)
                if self.faults.active(f.NO_ANSWER_TO_VOICE):
                    return True
            else:
                heard = message.request or ""
        except _Invalid as exc:
            return await self._refuse(ws, str(exc))
        if not self.variants.active(v.NO_PROCESSING_EVENT):
            await self._send(ws, {"type": "event", "content": "processing"})
        typing = self.variants.active(v.TYPING_EVENTS)
        if typing:
            await self._send(ws, {"type": "event", "content": "typing"})
        try:
            text = _answer(message.avatar, heard)
            answer: dict[str, Any] = {"type": "incoming", "content": text}
            if not self.variants.active(v.TEXT_ONLY_ANSWERS):
                spoken = await asyncio.to_thread(_synthesise, text, wav=self.wav)
                answer["fileUrl"] = self._store(spoken, origin)
        except Exception:  # nothing the server does wrong may take the socket down
            log.exception("chat mode turn failed")
            await self._send(ws, {"type": "system", "content": "Something went wrong"})
            return True
        answer["timestamp"] = _timestamp(epoch_ms=self.variants.active(v.EPOCH_MS_TIMESTAMP))
        leak = self.faults.active(f.CROSS_USER_LEAK)
        for target in list(self.sockets) if leak else [ws]:
            await self._send(target, answer)
        if typing:
            await self._send(ws, {"type": "event", "content": "idle"})
        return True

    async def _close_sockets(self, app: web.Application) -> None:
        # Without this, shutting down waits for every open socket's handler to finish.
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def reference_app(
    faults: Sequence[str] = (),
    *,
    variants: Sequence[str] = (),
    project_id: str = "conformance",
    token_ttl_s: float = _DAY_S,
    secret: bytes | None = None,
) -> web.Application:
    """The reference Chat Mode application; KeyError naming the known faults for an unknown one.

    `token_ttl_s` of 0 or less makes `POST /jwt` issue tokens that are already expired; `secret`
    fixes the signing key (random by default), so that two servers can share tokens.
    """
    server = ChatModeServer(
        f.ActiveFaults(faults),
        variants=v.ActiveVariants(v.VARIANTS, variants),
        project_id=project_id,
        token_ttl_s=token_ttl_s,
        secret=secret,
    )
    return server.app()
