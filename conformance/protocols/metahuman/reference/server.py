"""The reference MetaHuman AI Chat server: python-socketio `AsyncServer` on aiohttp.

It implements PROTOCOLS.md §1 with the [default] readings, with offline providers, and the
faults of `faults.py` on demand. Bad input is answered with `custom.error` to the socket that
sent it; nothing a client sends crashes the server or reaches another session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import socketio
from aiohttp import web

from conformance import schemas
from conformance.audio import AudioDecodeError
from conformance.protocols.metahuman.events import Event, ResponseType, Role
from conformance.protocols.metahuman.reference import faults as f
from conformance.protocols.metahuman.reference import variants as v
from conformance.protocols.metahuman.reference.config import (
    SessionConfig,
    TtsConfig,
    parse_session_update,
    unsupported,
)
from conformance.protocols.metahuman.reference.deltas import (
    PlannedDelta,
    byte_slices,
    parts,
    plan,
    send_order,
)
from conformance.protocols.metahuman.reference.errors import (
    AUDIO_NOT_DECODABLE,
    EMPTY_BUFFER,
    INTERNAL_ERROR,
    INVALID_CHUNK,
    INVALID_SESSION_CONFIG,
    PROVIDER_FAILURE,
    SESSION_NOT_CONFIGURED,
    UNKNOWN_EVENT,
    CustomError,
)
from conformance.protocols.metahuman.reference.providers import (
    OfflineTextToSpeech,
    ProviderError,
    Providers,
)
from conformance.protocols.metahuman.reference.session import Limits, Session, decode_chunk

__all__ = ["ReferenceServer", "Refusal"]

log = logging.getLogger("conformance.reference.metahuman")

# The events each role may send; anything else is answered with UNKNOWN_EVENT.
_SENDER_EVENTS = frozenset(
    {Event.SESSION_UPDATE, Event.INPUT_BUFFER_APPEND, Event.INPUT_BUFFER_COMMIT}
)

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused handshake: CONNECT_ERROR `{message, data: {message, statusCode}}`."""

    status_code: int
    message: str

    def exception(self) -> socketio.exceptions.ConnectionRefusedError:
        return socketio.exceptions.ConnectionRefusedError(
            self.message, {"message": self.message, "statusCode": self.status_code}
        )


@dataclass(slots=True)
class _Peer:
    role: Role | None  # None: the single-client deployment, Sender and Receiver at once
    session: Session | None = None


class ReferenceServer:
    """One server: its sessions, its peers, its providers and the faults it runs with."""

    def __init__(
        self,
        *,
        faults: f.ActiveFaults | None = None,
        variants: v.ActiveVariants | None = None,
        providers: Providers | None = None,
        limits: Limits | None = None,
        token: str | None = None,
        path: str = "socket.io",
        namespace: str = "/",
        slow_first_audio_s: float = 8.0,
        delta_gap_s: float = 0.0,
    ) -> None:
        self.faults = faults or f.ActiveFaults(f.FAULTS)
        self.variants = variants or v.ActiveVariants(v.VARIANTS)
        self.providers = providers or Providers()
        if self.variants.active(v.WAV_OUTPUT):
            self.providers = dataclasses.replace(
                self.providers, tts=OfflineTextToSpeech(output_format="wav")
            )
        self.limits = limits or Limits()
        if self.variants.active(v.LARGER_CHUNK_LIMIT):
            self.limits = Limits(
                max_chunk_bytes=v.CHUNK_LIMIT_BYTES,
                max_buffer_bytes=max(self.limits.max_buffer_bytes, 8 * v.CHUNK_LIMIT_BYTES),
            )
        if self.variants.active(v.OTHER_PATH):
            path, namespace = v.OTHER_PATH_AT, "/"
        if self.variants.active(v.OTHER_NAMESPACE):
            path, namespace = v.OTHER_NAMESPACE_AT
        self.token = token
        self.path = path.strip("/")
        self.namespace = namespace
        self.slow_first_audio_s = slow_first_audio_s  # the delay of the slow-first-audio fault
        # a pause before every delta but the first: a slow server on purpose (`--delta-gap`)
        self.delta_gap_s = delta_gap_s
        self.sessions: dict[str, Session] = {}
        self.peers: dict[str, _Peer] = {}
        # Sessions killed by the session-crash-on-invalid-base64 fault; empty without it.
        self.crashed: set[str] = set()
        # The session whose response began last: where deltas-across-sessions sends deltas.
        self.responding: Session | None = None
        # The ids of the input buffers shared-input-buffer shares; empty without it.
        self.pooled: set[int] = set()
        # Headroom over the chunk limit, so an oversized chunk reaches the handler and gets
        # PAYLOAD_TOO_LARGE instead of Engine.IO closing the connection.
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            cors_allowed_origins="*",
            max_http_buffer_size=4 * self.limits.max_chunk_bytes + (64 << 10),
        )
        self.sio.on("connect", self._connect, namespace=namespace)
        self.sio.on("disconnect", self._disconnect, namespace=namespace)
        routes: Mapping[str, Handler] = {
            Event.SESSION_UPDATE: self._session_update,
            Event.INPUT_BUFFER_APPEND: self._append,
            Event.INPUT_BUFFER_COMMIT: self._commit,
        }
        for event, handler in routes.items():
            self.sio.on(event, self._guarded(event, handler), namespace=namespace)
        self.sio.on("*", self._unknown_event, namespace=namespace)

    def attach(self, app: web.Application) -> web.Application:
        """Serve the protocol on an aiohttp application."""
        self.sio.attach(app, socketio_path=self.path)
        return app

    # --- handshake ------------------------------------------------------------------------

    async def _connect(self, sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
        # The [default] handshake is the CONNECT auth payload; query parameters serve clients
        # that cannot send one. The auth payload wins.
        params: dict[str, Any] = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        if self.variants.active(v.HANDSHAKE_IN_QUERY):
            pass  # the query string is the handshake; the auth payload is not read
        elif isinstance(auth, Mapping):
            params.update(auth)
        elif auth is not None:
            raise Refusal(400, "handshake auth must be an object").exception()
        if self.token is not None and params.get("token") != self.token:
            raise Refusal(401, "missing or invalid token").exception()
        role_name = params.get("role")
        if role_name in (None, "") or self.variants.active(v.ROLE_LESS_SINGLE_SOCKET):
            role = None
        elif role_name in (Role.SENDER, Role.RECEIVER):
            role = Role(role_name)
        else:
            raise Refusal(
                400, f"unknown role {role_name!r}; use 'sender' or 'receiver'"
            ).exception()
        session_id = params.get("sessionId")
        peer = _Peer(role=role)
        if role is Role.RECEIVER:
            peer.session = self._joinable(session_id)
            if peer.session is not None:
                peer.session.receivers.add(sid)
                await self.sio.enter_room(sid, peer.session.id, namespace=self.namespace)
        elif session_id is not None:
            peer.session = self._resumable(session_id)
            peer.session.sender = sid
            if role is None:
                peer.session.receivers.add(sid)
                await self.sio.enter_room(sid, peer.session.id, namespace=self.namespace)
        self.peers[sid] = peer

    def _joinable(self, session_id: Any) -> Session | None:
        if not isinstance(session_id, str) or not session_id:
            raise Refusal(400, "a receiver must name the sessionId it joins").exception()
        session = self.sessions.get(session_id)
        if session is None and not self.faults.active(f.ACCEPT_UNKNOWN_RECEIVER):
            raise Refusal(404, f"no session {session_id}").exception()
        return session

    def _resumable(self, session_id: Any) -> Session:
        # A Sender naming a sessionId resumes that session (after a reconnect).
        session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise Refusal(404, f"no session {session_id}").exception()
        if session.sender is not None:
            raise Refusal(409, f"session {session_id} already has a sender").exception()
        return session

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        peer = self.peers.pop(sid, None)
        if peer is None or peer.session is None:
            return
        session = peer.session
        session.receivers.discard(sid)
        if session.sender == sid:
            session.sender = None
        if session.abandoned:
            self.sessions.pop(session.id, None)
            self.crashed.discard(session.id)

    # --- events ---------------------------------------------------------------------------

    def _guarded(self, event: str, handler: Handler) -> Handler:
        """Answer a handler's failure with `custom.error` to the socket that sent the event."""

        @functools.wraps(handler)
        async def guarded(sid: str, *args: Any) -> None:
            peer = self.peers.get(sid)
            if peer is None:
                return
            if peer.session is not None and peer.session.id in self.crashed:
                return  # a dead session answers nothing (session-crash-on-invalid-base64)
            try:
                if peer.role is Role.RECEIVER and event in _SENDER_EVENTS:
                    raise CustomError(UNKNOWN_EVENT, f"a receiver may not send {event}")
                if self.faults.active(f.DISCONNECT_ON_MALFORMED_PAYLOAD) and schemas.errors(
                    "metahuman", event, args[0] if args else None
                ):
                    # A strict decoder that treats any malformed payload as a hostile client.
                    await self.sio.disconnect(sid, namespace=self.namespace)
                    return
                await handler(sid, peer, *args)
            except CustomError as error:
                await self._error(sid, error)
            except Exception:
                log.exception("handler of %s failed", event)
                await self._error(sid, CustomError(INTERNAL_ERROR, f"while handling {event}"))

        return guarded

    async def _unknown_event(self, event: str, sid: str, *args: Any) -> None:
        await self._error(sid, CustomError(UNKNOWN_EVENT, repr(event)))

    async def _error(self, sid: str, error: CustomError) -> None:
        if self.faults.active(f.SILENTLY_DROP_BAD_MESSAGE):
            return  # bad input swallowed: the client never learns what went wrong
        payload = error.payload()
        if self.variants.active(v.OWN_ERROR_IDS):
            error_id, message = v.OWN_ERRORS[error.kind.name]
            detail = f" ({error.detail})" if error.detail else ""
            payload = {"errorId": error_id, "message": f"{message}{detail}"}
        if self.faults.active(f.ERROR_WRONG_SHAPE):
            # A house error envelope instead of the seed's {message, errorId}.
            payload = {"error": payload["message"], "code": str(payload["errorId"])}
        if self.faults.active(f.ERROR_WITHOUT_ERROR_ID):
            payload.pop("errorId", None)
        await self.sio.emit(Event.CUSTOM_ERROR, payload, to=sid, namespace=self.namespace)

    async def _session_update(self, sid: str, peer: _Peer, *args: Any) -> None:
        try:
            config = parse_session_update(
                args[0] if args else None,
                lenient=self.variants.active(v.LENIENT_OPTIONAL_FIELDS),
            )
        except CustomError:
            if self.faults.active(f.DISCONNECT_ON_BAD_UPDATE):
                await self.sio.disconnect(sid, namespace=self.namespace)
                return
            raise
        if self.variants.active(v.REFUSE_UNSUPPORTED_MODELS):
            lacking = unsupported(config)
            if lacking is not None:
                raise CustomError(INVALID_SESSION_CONFIG, f"unsupported: {lacking}")
        if peer.session is None:
            peer.session = Session(config=config, sender=sid)
            peer.session.buffer.limits = self.limits
            if self.faults.active(f.SHARED_INPUT_BUFFER) and len(self.sessions) >= f.LOAD_BOUND:
                pooled = list(self.sessions.values())[len(self.sessions) % f.LOAD_BOUND]
                peer.session.buffer = pooled.buffer
                self.pooled.add(id(pooled.buffer))
            self.sessions[peer.session.id] = peer.session
            if peer.role is None:
                peer.session.receivers.add(sid)
                await self.sio.enter_room(sid, peer.session.id, namespace=self.namespace)
        else:
            peer.session.config = config
        session_id = peer.session.id
        if self.faults.active(f.UPDATED_ID_NOT_UUID):
            session_id = f"session-{session_id[:8]}"
        await self._emit(Event.SESSION_UPDATED, {"sessionId": session_id, "success": True}, sid)

    async def _append(self, sid: str, peer: _Peer, *args: Any) -> None:
        session = _configured(peer)
        chunk = args[0] if args else None
        if isinstance(chunk, str) and self.variants.active(v.BINARY_CHUNKS):
            raise CustomError(INVALID_CHUNK, "this server takes chunks as binary attachments")
        try:
            data = decode_chunk(chunk)
        except CustomError:
            # A non-empty string refused by decode_chunk is one that is not base64: with the
            # fault, the session's decoder dies on it, silently, and takes the session along.
            not_base64 = isinstance(chunk, str) and bool(chunk)
            if not_base64 and self.faults.active(f.SESSION_CRASH_ON_INVALID_BASE64):
                self.crashed.add(session.id)
                return
            raise
        first = session.buffer.append(data)
        if self.faults.active(f.NO_INITIALIZED):
            return
        if first or self.faults.active(f.INITIALIZED_EVERY_CHUNK):
            session_id = session.id
            if self.faults.active(f.SESSION_ID_CHANGES):
                session_id = str(uuid.uuid4())
            await self._emit(Event.INPUT_BUFFER_INITIALIZED, {"sessionId": session_id}, sid)

    async def _commit(self, sid: str, peer: _Peer, *args: Any) -> None:
        session = _configured(peer)
        # shared-input-buffer: a pooled buffer is emptied only when its turn ends.
        pooled = id(session.buffer) in self.pooled
        try:
            data = session.buffer.peek() if pooled else session.buffer.take()
        except CustomError as error:
            if error.kind is EMPTY_BUFFER and self.faults.active(f.NO_ERROR_ON_EMPTY_COMMIT):
                return
            raise
        config = session.config  # the turn keeps the config it was committed with
        try:
            async with session.turn_lock:
                await self._turn(sid, session, config, data)
        finally:
            if pooled:
                with contextlib.suppress(CustomError):  # another turn emptied it already
                    session.buffer.take()

    # --- a turn: STT -> LLM -> TTS ----------------------------------------------------------

    async def _turn(self, sid: str, session: Session, config: SessionConfig, data: bytes) -> None:
        try:
            heard = await self.providers.stt.transcribe(data, config.stt)
            transcribed: dict[str, Any] = {
                "text": heard.text,
                "sentiment": heard.sentiment,
                "language": heard.language,
            }
            if self.faults.active(f.MISSING_LANGUAGE):
                del transcribed["language"]
            if self.variants.active(v.SENTIMENT_ABSENT) and not config.stt.sentiment_analysis:
                del transcribed["sentiment"]
            await self._emit(Event.REQUEST_TRANSCRIBE_DONE, transcribed, sid)
            answer = await self.providers.llm.complete(heard.text, config.llm)
        except AudioDecodeError as exc:
            raise CustomError(AUDIO_NOT_DECODABLE, str(exc)) from None
        except ProviderError as exc:
            raise CustomError(PROVIDER_FAILURE, str(exc)) from None
        self.responding = session
        await self._respond(session, Event.RESPONSE_TEXT, {"text": answer})

        tts = config.tts
        planned = plan(answer, tts.response_type)
        streaming = tts.response_type is ResponseType.STREAM
        if streaming and self.variants.active(v.STREAM_TOTAL_NUMBER_KNOWN):
            planned = [dataclasses.replace(d, total_number=len(planned)) for d in planned]
        deltas = f.rewrite_plan(self.faults, send_order(planned, tts.is_ordered))
        burst = not tts.is_ordered and self.variants.active(v.DONE_NOT_LAST_UNORDERED)
        if burst and len(deltas) >= 2:
            deltas = [*deltas[:-2], deltas[-1], deltas[-2]]  # `done` before the last to arrive
        sound_of = self._synthesizer(
            planned, tts, sliced=streaming and self.variants.active(v.STREAM_BYTE_SLICES)
        )
        # Parallel synthesis sends each delta when its audio is ready: here, all at once.
        ready = [await sound_of(delta) for delta in deltas] if burst else []
        for index, delta in enumerate(deltas):
            sound = ready[index] if burst else await sound_of(delta)
            payload = f.rewrite_payload(
                self.faults,
                index,
                {
                    "id": delta.id,
                    "text": delta.text,
                    # isBase64 false: bytes travel as a Socket.IO binary attachment.
                    "audio": _b64(sound) if tts.is_base64 else sound,
                    "isBase64": tts.is_base64,
                    "done": delta.done,
                    "streamPartDone": delta.stream_part_done,
                    "totalNumber": delta.total_number,
                },
            )
            if index == 0 and self.faults.active(f.SLOW_FIRST_AUDIO):
                await asyncio.sleep(self.slow_first_audio_s)
            if index > 0 and self.delta_gap_s:
                await asyncio.sleep(self.delta_gap_s)
            if index == len(deltas) - 1 and self.faults.active(f.STALL_BEFORE_DONE):
                await asyncio.sleep(f.STALL_S)
            if index == 0 and self.faults.active(f.LATENCY_GROWS_WITH_SESSIONS):
                over = max(0, len(self.sessions) - f.LOAD_BOUND)
                await asyncio.sleep(f.LOAD_DELAY_S * over)
            await self._respond(session, Event.RESPONSE_AUDIO_DELTA, payload)

    def _synthesizer(
        self, planned: list[PlannedDelta], tts: TtsConfig, *, sliced: bool
    ) -> Callable[[PlannedDelta], Awaitable[bytes]]:
        """The audio of each delta of a response, each text synthesized once.

        `sliced` (stream-byte-slices variant): a text part is synthesized whole, and its file
        split at arbitrary byte boundaries over the part's deltas, in id order.
        """
        synthesized: dict[str, bytes] = {}
        slice_of: dict[int, tuple[str, list[int], int]] = {}  # id -> (part text, weights, index)
        if sliced:
            for part in parts(planned):
                text = " ".join(d.text for d in part)
                weights = [max(1, len(d.text)) for d in part]
                for index, delta in enumerate(part):
                    slice_of[delta.id] = (text, weights, index)

        async def synthesize(text: str) -> bytes:
            if text not in synthesized:
                try:
                    synthesized[text] = await self.providers.tts.synthesize(text, tts)
                except ProviderError as exc:
                    raise CustomError(PROVIDER_FAILURE, str(exc)) from None
            return synthesized[text]

        async def sound_of(delta: PlannedDelta) -> bytes:
            sliced_as = slice_of.get(delta.id)
            if sliced_as is None:
                return await synthesize(delta.text)
            text, weights, index = sliced_as
            return byte_slices(await synthesize(text), weights)[index]

        return sound_of

    async def _respond(self, session: Session, event: Event, payload: dict[str, Any]) -> None:
        """Send a response event to the Receivers of the session, and no one else."""
        if event is Event.RESPONSE_AUDIO_DELTA and self.faults.active(f.DELTAS_ACROSS_SESSIONS):
            session = self.responding or session
        if self.faults.active(f.LEAK_TO_OTHER_SESSION):
            for other in list(self.sessions.values()):
                await self._emit(event, payload, other.id)
        elif event is Event.RESPONSE_TEXT and self.faults.active(f.TEXT_TO_SENDER_ONLY):
            if session.sender is not None:
                await self._emit(event, payload, session.sender)
        else:
            await self._emit(event, payload, session.id)

    async def _emit(self, event: Event, payload: dict[str, Any], to: str) -> None:
        # `to` is never None here: python-socketio would broadcast to everyone.
        await self.sio.emit(event, payload, to=to, namespace=self.namespace)


def _configured(peer: _Peer) -> Session:
    if peer.session is None:
        raise CustomError(SESSION_NOT_CONFIGURED, "send session.update first")
    return peer.session


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
