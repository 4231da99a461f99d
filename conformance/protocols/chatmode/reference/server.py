"""The reference Chat Mode server: the publisher's documented flow (PROTOCOLS.md §2) on aiohttp.

`POST /jwt` issues a token, `GET /connection` describes the avatars and languages and opens a
session, `/ws/chat?token=<jwt>` carries the chat, and `GET /files/<id>.mp3` serves the audio of
each answer from memory. Everything is offline and deterministic (`providers.py`). Bad input on
the socket is answered with a `system` message naming the field, and the socket stays open
([default]; `errors.py`). This module holds the application, the token checks, the routing and
the turn; a message is read in `config.py`, and the answers' audio is kept in `session.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from conformance.protocols.chatmode.reference import errors, providers, tokens
from conformance.protocols.chatmode.reference import faults as f
from conformance.protocols.chatmode.reference import variants as v
from conformance.protocols.chatmode.reference.config import (
    AVATARS,
    LANGUAGES,
    OWN_AVATARS,
    parse_message,
)
from conformance.protocols.chatmode.reference.session import AnswerFiles

__all__ = ["ChatModeServer", "reference_app"]

log = logging.getLogger("conformance.reference.chatmode")

_USER_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DAY_S: Final = 86_400
# Base64 of a few minutes of 16 kHz WAV; aiohttp's default (4 MiB) would cut a long recording.
_MAX_MESSAGE_BYTES: Final = 32 << 20
_NOT_AUDIO: Final = b"<html><body>not audio</body></html>\n" * 32  # answer-audio-not-decodable


def _timestamp(*, epoch_ms: bool = False) -> str | int:
    now = datetime.now(UTC)
    if epoch_ms:
        return int(now.timestamp() * 1000)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        self.files = AnswerFiles()
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
        as_object = self.variants.active(v.JWT_ERROR_OBJECT)
        return web.json_response(errors.failure(error, as_object=as_object), status=status)

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
        if self.faults.active(f.ANSWER_AUDIO_NOT_DECODABLE):
            data = _NOT_AUDIO
        file_id = self.files.keep(data)
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
        generic = self.variants.active(v.GENERIC_SYSTEM_ERRORS)
        await self._send(ws, errors.refusal(reason, generic=generic))
        if self.faults.active(f.ERROR_CLOSES_SOCKET):
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid message")
            return False
        return True

    async def _turn(self, ws: web.WebSocketResponse, raw: str, origin: str) -> bool:
        """Answer one client message; False if the socket must close."""
        try:
            message = parse_message(
                raw, allow_live=self.faults.active(f.LIVE_MODE_ACCEPTED), avatars=self.avatars
            )
            if message.audio is not None:
                any_rate = self.faults.active(f.WAV_8KHZ_ACCEPTED)
                heard = await asyncio.to_thread(
                    providers.transcribe, message.audio, any_wav_rate=any_rate
                )
                if self.faults.active(f.NO_ANSWER_TO_VOICE):
                    return True
            else:
                heard = message.request or ""
        except errors.Invalid as exc:
            return await self._refuse(ws, str(exc))
        if not self.variants.active(v.NO_PROCESSING_EVENT):
            await self._send(ws, {"type": "event", "content": "processing"})
        typing = self.variants.active(v.TYPING_EVENTS)
        if typing:
            await self._send(ws, {"type": "event", "content": "typing"})
        try:
            text = providers.answer(message.avatar, heard)
            answer: dict[str, Any] = {"type": "incoming", "content": text}
            if not self.variants.active(v.TEXT_ONLY_ANSWERS):
                spoken = await asyncio.to_thread(providers.synthesise, text, wav=self.wav)
                answer["fileUrl"] = self._store(spoken, origin)
        except Exception:  # nothing the server does wrong may take the socket down
            log.exception("chat mode turn failed")
            await self._send(ws, errors.INTERNAL_ERROR)
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
        f.ActiveFaults(f.FAULTS, faults),
        variants=v.ActiveVariants(v.VARIANTS, variants),
        project_id=project_id,
        token_ttl_s=token_ttl_s,
        secret=secret,
    )
    return server.app()
