"""The harness side of Chat Mode: the token flow, the chat socket, the answer's audio. It
records what the server did; it never judges."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from conformance import audio
from conformance.engine.context import Env
from conformance.engine.model import HarnessError
from conformance.engine.transcript import WireEvent
from conformance.fixtures import clip
from conformance.profiles import Timeout
from conformance.transports.base import Refused, TransportError
from conformance.transports.http import HttpAnswer, request
from conformance.transports.websocket import WebSocketPeer

__all__ = ["ANSWERS", "KNOWN", "ChatClient", "Turn", "recognised", "run_turn"]

ANSWERS = ("incoming", "system")  # what ends a turn: the answer, or the error message
KNOWN = (*ANSWERS, "event")  # the publisher's message types (PROTOCOLS.md §2)
# What the transport records besides messages: the handshake and the end of the socket.
_LIFECYCLE = ("connect", "refused", "close")


def recognised(event: WireEvent) -> bool:
    """A message of a known type (or the socket's own connect/close), not something else."""
    return event.event in KNOWN or event.event in _LIFECYCLE


_UNSET: Any = object()


class ChatClient:
    """Opens the HTTP exchanges and sockets of one case or scenario, as the profile says."""

    def __init__(self, env: Env) -> None:
        self.env = env
        parts = urlsplit(env.url)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        self.http_base = urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.ws_base = urlunsplit(
            ({"http": "ws", "https": "wss"}[scheme], parts.netloc, parts.path.rstrip("/"), "", "")
        )
        self.peers: list[WebSocketPeer] = []

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for peer in self.peers:
            await peer.close()

    def _http(self, key: str) -> str:
        return str(self.env.profile.section("http").get(key))

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.env.profile.section("http").get("headers", {}))

    async def jwt(self, user_id: Any = _UNSET, project_id: Any = _UNSET) -> HttpAnswer:
        """POST the token request; the profile's identity unless told otherwise."""
        auth = self.env.profile.section("auth")
        body: dict[str, Any] = {"user_id": auth.get("user_id") if user_id is _UNSET else user_id}
        project = auth.get("project_id") if project_id is _UNSET else project_id
        if project is not None:
            body["project_id"] = project
        return await request(
            "POST",
            self.http_base + self._http("jwt_path"),
            transcript=self.env.recorder.transcript,
            json_body=body,
            headers=self.headers,
            timeout=self.env.timeouts.event,
        )

    async def token(self, user_id: str | None = None) -> str:
        """A valid token; a refusal here is a harness error (the profile's identity is wrong)."""
        answer = await self.jwt(user_id=user_id or self.env.profile.section("auth").get("user_id"))
        body = answer.json()
        if answer.status != 200 or not isinstance(body, Mapping) or not body.get("jwt"):
            raise HarnessError(
                f"POST /jwt gave no token (HTTP {answer.status}); check auth.user_id"
            )
        return str(body["jwt"])

    async def connection(self, token: str | None) -> HttpAnswer:
        headers = self.headers | ({"Authorization": f"Bearer {token}"} if token is not None else {})
        return await request(
            "GET",
            self.http_base + self._http("connection_path"),
            transcript=self.env.recorder.transcript,
            headers=headers,
            timeout=self.env.timeouts.event,
        )

    async def attempt(self, name: str, token: str | None) -> tuple[WebSocketPeer | None, Any]:
        """Open the chat socket: the peer, or None and the refusal (the server's answer)."""
        query = f"?{urlencode({'token': token})}" if token is not None else ""
        peer = WebSocketPeer(
            self.ws_base + self._http("socket_path") + query,
            name=name,
            transcript=self.env.recorder.transcript,
            headers=self.headers,
            label=_label,
        )
        self.peers.append(peer)
        try:
            await peer.connect(self.env.timeouts.connect)
        except Refused as refused:
            return None, refused.payload
        return peer, None

    async def open(self, name: str = "user", user_id: str | None = None) -> WebSocketPeer:
        """A token, then the socket; a refusal is a harness error here."""
        peer, refusal = await self.attempt(name, await self.token(user_id))
        if peer is None:
            raise HarnessError(f"the chat socket refused a fresh token: {refusal!r}")
        return peer

    def text(self, request_text: str = "Hello, how are you?", **fields: Any) -> dict[str, Any]:
        auth = self.env.profile.section("auth")
        return {
            "user_id": auth.get("user_id"),
            **self.env.profile.section("message"),
            "chat_type": "text",
            "requestType": "text",
            "request": request_text,
            **fields,
        }

    def speech(self, fmt: str | None = None) -> bytes:
        settings = self.env.profile.section("audio")
        return (
            clip(str(settings.get("fixture")))
            .files[fmt or str(settings.get("format"))]
            .read_bytes()
        )

    def voice(self, data: bytes | None = None, **fields: Any) -> dict[str, Any]:
        message = self.text(**fields)
        message.pop("request", None)
        message.update(chat_type="voice", requestType="audio")
        message["file_base64_data"] = base64.b64encode(
            data if data is not None else self.speech()
        ).decode()
        message.update(fields)
        return message

    async def answer(
        self, peer: WebSocketPeer, after: int, timeout: Timeout | None = None
    ) -> WireEvent | None:
        """The `incoming` or `system` message that answers, or None (see below).

        While the server is silent or sends `event` notifications (it may take its time), the
        wait runs to `timeout` (timeouts.turn unless given). It ends sooner when the socket
        closes (None), or once the server has sent something the harness does not recognise (a
        message without a known `type`, text that is not JSON...): the exchange has begun and
        went astray, so the wait ends when nothing more arrives for `timeouts.stall` seconds
        (None if no answer came by then).
        """
        limit = self.env.timeouts.turn if timeout is None else timeout
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            hit = await peer.wait_for(
                lambda e: e.event in ANSWERS or e.event == "close" or not recognised(e),
                limit,
                after=after,
            )
            if hit.event in ANSWERS:
                return hit
            if hit.event == "close":
                return None
            return await peer.wait_for(
                lambda e: e.event in ANSWERS or e.event == "close",
                max(0.0, limit - (loop.time() - began)),
                after=after,
                stall=self.env.timeouts.stall,
            )
        except TimeoutError:
            return None

    async def reply(
        self, peer: WebSocketPeer, after: int, timeout: Timeout | None = None
    ) -> WireEvent | None:
        """The first message after `after` that is no `event` notification, or None.

        What answers a message that gets one reply (an invalid message's error): whatever it
        is, a `system` message or not, it is the reply to judge, and the wait ends with it, or
        with the socket's close (None), or after `timeout` (None; timeouts.event unless given).
        """
        try:
            hit = await peer.wait_for(
                lambda e: e.event not in ("event", "connect"),
                self.env.timeouts.event if timeout is None else timeout,
                after=after,
            )
        except TimeoutError:
            return None
        return None if hit.event == "close" else hit

    def resolve(self, url: str) -> str:
        """A fileUrl as fetched: a relative one is resolved against the server's URL."""
        return urljoin(self.http_base + "/", url)

    async def fetch(self, url: str) -> HttpAnswer:
        return await request(
            "GET",
            self.resolve(url),
            transcript=self.env.recorder.transcript,
            headers=self.headers,
            timeout=self.env.timeouts.turn,
        )


@dataclass(slots=True, kw_only=True)
class Turn:
    """One exchange on the chat socket and what came of it."""

    message: dict[str, Any]
    peer: WebSocketPeer | None = None
    sent_at: float = 0.0
    answer: WireEvent | None = None
    received: list[WireEvent] = field(default_factory=list)  # everything after the message
    file: HttpAnswer | None = None
    file_error: str = ""  # why the fileUrl could not be fetched at all
    still_open: bool = False


async def run_turn(env: Env, kind: str = "text", fmt: str | None = None, **fields: Any) -> Turn:
    """The scenario most cases judge: a token, a socket, one message, its answer, its audio."""
    async with ChatClient(env) as client:
        peer = await client.open()
        message = (
            client.text(**fields) if kind == "text" else client.voice(client.speech(fmt), **fields)
        )
        turn = Turn(message=message, peer=peer)
        start = len(peer.received)
        turn.sent_at = time.monotonic() - env.recorder.transcript.started
        await peer.send_json(message)
        turn.answer = await client.answer(peer, start)
        turn.received = list(peer.received[start:])
        turn.still_open = peer.connected
        if turn.answer is not None:
            env.recorder.latencies_ms["message→answer"] = 1000 * (turn.answer.at - turn.sent_at)
            payload = turn.answer.payload
            url = payload.get("fileUrl") if isinstance(payload, Mapping) else None
            if isinstance(url, str) and url:
                fetched = time.monotonic()
                try:
                    turn.file = await client.fetch(url)
                except TransportError as exc:  # judged by the cases, not an error of the run
                    turn.file_error = str(exc)
                    return turn
                env.recorder.latencies_ms["fileUrl fetch"] = 1000 * (time.monotonic() - fetched)
                _keep_audio(env, turn, kind)
    return turn


def _keep_audio(env: Env, turn: Turn, label: str) -> None:
    """The answer's audio beside the report, when it decodes."""
    if turn.file is None or turn.file.status != 200:
        return
    fmt = audio.sniff(turn.file.body)
    try:
        length = audio.duration_ms(audio.decode(turn.file.body))
    except audio.AudioDecodeError:
        return
    folder = env.report_dir / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"chatmode-{label}-{hashlib.sha256(turn.file.body).hexdigest()[:10]}.{fmt}"
    (folder / name).write_bytes(turn.file.body)
    env.recorder.audio.append(
        {"label": f"answer audio ({label})", "format": fmt, "path": f"audio/{name}", "ms": length}
    )


def _label(message: Any) -> str:
    """A chat message's name in the wire log: its `chat_type` (text, voice), else its `type`."""
    if isinstance(message, Mapping):
        return str(message.get("chat_type") or message.get("type") or "message")
    return "message"
