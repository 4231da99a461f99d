"""The harness side of MetaHuman AI Chat: connect each role as the profile says, and record
the exchanges cases judge. It records what the server did; it never judges."""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from conformance import audio, schemas
from conformance.engine.context import Env
from conformance.engine.model import HarnessError
from conformance.engine.transcript import WireEvent
from conformance.fixtures import clip
from conformance.profiles import Timeout, merge
from conformance.protocols.metahuman.events import Event, Role
from conformance.transports.base import Refused, TransportError
from conformance.transports.socketio import SocketIOPeer

__all__ = ["Connection", "MetaHumanClient", "Mode", "Turn", "delta_id", "play_turn", "run_turn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Mode:
    """A TTS mode of a response."""

    response_type: str = "single"
    is_base64: bool = True
    is_ordered: bool = True

    @property
    def label(self) -> str:
        return "-".join(
            (
                self.response_type,
                "base64" if self.is_base64 else "binary",
                "ordered" if self.is_ordered else "unordered",
            )
        )

    @classmethod
    def parse(cls, label: str) -> Mode:
        """The mode of a label such as "chain-binary-unordered"."""
        response_type, encoding, order = label.split("-")
        return cls(
            response_type=response_type,
            is_base64=encoding == "base64",
            is_ordered=order == "ordered",
        )


@dataclass(slots=True)
class Connection:
    """A connection attempt: the peer, or the refusal payload."""

    peer: SocketIOPeer | None
    refusal: Any = None


def _template(value: Any, session_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{sessionId}", session_id)
    if isinstance(value, Mapping):
        return {k: _template(v, session_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v, session_id) for v in value]
    return value


class MetaHumanClient:
    """Opens the sockets of one case or scenario, as the profile describes them."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.peers: list[SocketIOPeer] = []

    async def __aenter__(self) -> MetaHumanClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for peer in self.peers:
            await peer.close()

    @property
    def receiver_is_sender(self) -> bool:
        return self.env.profile.section("roles").get("receiver_socket") == "sender"

    async def attempt(
        self, role: Role, name: str, session_id: str = "", **auth_overrides: Any
    ) -> Connection:
        """Connect one role; a refusal is an answer of the server, returned as data."""
        roles = self.env.profile.section("roles")
        handshake = _template(roles.get(role.value, {}), session_id)
        transport = self.env.profile.section("transport")
        auth = handshake.get("auth")
        if auth_overrides:
            auth = {k: v for k, v in {**(auth or {}), **auth_overrides}.items() if v is not None}
        url = self.env.url
        if handshake.get("query"):
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(handshake['query'])}"
        peer = SocketIOPeer(
            url,
            name=name,
            transcript=self.env.recorder.transcript,
            path=str(transport.get("path", "/socket.io")),
            namespace=str(transport.get("namespace", "/")),
            auth=auth,
            headers={**transport.get("headers", {}), **handshake.get("headers", {})},
        )
        self.peers.append(peer)
        try:
            await peer.connect(self.env.timeouts.connect)
        except Refused as refused:
            return Connection(peer=None, refusal=refused.payload)
        except TransportError as exc:
            raise HarnessError(str(exc)) from None
        return Connection(peer=peer)

    async def connect(self, role: Role, name: str, session_id: str = "") -> SocketIOPeer:
        """Connect one role; a refusal here is a harness error (the profile is wrong)."""
        connection = await self.attempt(role, name, session_id)
        if connection.peer is None:
            raise HarnessError(
                f"the server refused the {name}'s handshake ({connection.refusal!r}); "
                "check the profile's roles"
            )
        return connection.peer

    def session_update(
        self, mode: Mode | None = None, **sections: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The profile's session.update, in a TTS mode, with sections merged in."""
        payload = copy.deepcopy(dict(self.env.profile.section("session_update")))
        if mode is not None:
            payload = merge(
                payload,
                {
                    "TTS": {
                        "responseType": {
                            "name": mode.response_type,
                            "title": mode.response_type.title(),
                        },
                        "isBase64": mode.is_base64,
                        "isOrdered": mode.is_ordered,
                    }
                },
            )
        audio = self.env.profile.section("audio")
        payload = merge(payload, {"STT": {"mediaFormat": audio.get("format", "mp3")}})
        return merge(payload, sections)

    async def answer(
        self, peer: SocketIOPeer, events: tuple[str, ...], timeout: float, after: int
    ) -> WireEvent | None:
        """The first of `events` the peer receives from index `after` on, or None."""
        try:
            return await peer.wait_for(lambda e: e.event in events, timeout, after=after)
        except TimeoutError:
            return None

    async def configure(self, sender: SocketIOPeer, update: Mapping[str, Any]) -> WireEvent | None:
        """session.update; the session.updated (or custom.error) it brought, or None.

        A server that leaves the opening update of a fresh connection unanswered fails what
        every session needs: later exchanges of the run are BLOCKED instead of each waiting out
        the same timeout (the cases of this exchange judge the silence).
        """
        opening = self.env.recorder.transcript.sent_on(sender.name) in ([], ["connect"])
        if opening:
            self.env.prerequisite(Event.SESSION_UPDATE)
        after = len(sender.received)
        await sender.emit(Event.SESSION_UPDATE, update)
        timeout = self.env.timeouts.event
        answer = await self.answer(
            sender, (Event.SESSION_UPDATED, Event.CUSTOM_ERROR), timeout, after
        )
        if opening:
            broken = _opening_broken(answer, sender.connected, timeout)
            if broken:
                self.env.broke(Event.SESSION_UPDATE, broken)
        return answer

    def speech(self) -> bytes:
        audio = self.env.profile.section("audio")
        return clip(str(audio.get("fixture"))).files[str(audio.get("format"))].read_bytes()

    def chunk(self, data: bytes) -> str | bytes:
        """Audio bytes as the profile's `transport.chunk_encoding` carries them."""
        encoding = self.env.profile.section("transport").get("chunk_encoding", "base64")
        return data if encoding == "binary" else base64.b64encode(data).decode()

    async def append(self, sender: SocketIOPeer, data: bytes | None = None) -> int:
        """Stream audio as base64 chunks of the profile's size; the number of chunks."""
        data = self.speech() if data is None else data
        size = int(self.env.profile.section("audio").get("chunk_bytes", 4096))
        count = 0
        for start in range(0, len(data), size):
            await sender.emit(Event.INPUT_BUFFER_APPEND, self.chunk(data[start : start + size]))
            count += 1
        return count


@dataclass(slots=True, kw_only=True)
class Turn:
    """One turn: configure, join, stream, commit, and what came back on each socket."""

    mode: Mode
    sender: SocketIOPeer | None = None
    receiver: SocketIOPeer | None = None
    updated: WireEvent | None = None
    session_id: str = ""
    chunks: int = 0
    commit_at: float = 0.0
    transcribed: WireEvent | None = None
    deltas_done: bool = False
    stalled: bool = False  # the wait for `done` ended on timeouts.stall, not timeouts.turn
    receiver_refusal: Any = None  # the CONNECT_ERROR payload when the Receiver was refused
    missing: list[str] = field(default_factory=list)  # awaited events that never came

    def received(self, peer: SocketIOPeer | None, event: str) -> list[WireEvent]:
        return peer.events(event) if peer is not None else []

    @property
    def deltas(self) -> list[WireEvent]:
        """The deltas the Receiver got after the commit, in arrival order."""
        return [
            e
            for e in self.received(self.receiver, Event.RESPONSE_AUDIO_DELTA)
            if e.at >= self.commit_at
        ]

    @property
    def texts(self) -> list[WireEvent]:
        return [
            e for e in self.received(self.receiver, Event.RESPONSE_TEXT) if e.at >= self.commit_at
        ]


def delta_id(payload: Mapping[str, Any]) -> int:
    """A delta's id for sorting; -1 when it is not an integer (the cases say so)."""
    value = payload.get("id")
    return value if isinstance(value, int) else -1


def _is_done(event: WireEvent) -> bool:
    payload = event.payload
    return (
        event.event == Event.RESPONSE_AUDIO_DELTA
        and isinstance(payload, Mapping)
        and payload.get("done") is True
    )


async def run_turn(env: Env, mode: Mode, **sections: Mapping[str, Any]) -> Turn:
    """The scenario most cases judge: one whole turn with the fixture speech in one mode."""
    turn = Turn(mode=mode)
    client = MetaHumanClient(env)
    async with client:
        turn.sender = await client.connect(Role.SENDER, "sender")
        turn.updated = await client.configure(turn.sender, client.session_update(mode, **sections))
        if turn.updated is None or turn.updated.event != Event.SESSION_UPDATED:
            turn.missing.append(Event.SESSION_UPDATED)
            return turn
        turn.session_id = str((turn.updated.payload or {}).get("sessionId", ""))
        if client.receiver_is_sender:
            turn.receiver = turn.sender
        else:
            joined = await client.attempt(Role.RECEIVER, "receiver", turn.session_id)
            if joined.peer is None:  # the server's answer, judged by the cases
                turn.receiver_refusal = joined.refusal
                turn.missing.append("the Receiver's join")
            turn.receiver = joined.peer
        await play_turn(env, client, turn)
        if turn.receiver is None:
            return turn
        _measure(env, turn)
        _keep_audio(env, turn)
    return turn


async def play_turn(env: Env, client: MetaHumanClient, turn: Turn) -> None:
    """Stream the fixture speech, commit, and wait for the transcription and the whole answer:
    the part of a turn that load mode repeats on a configured session's open sockets."""
    if turn.sender is None:
        raise HarnessError("a turn needs its Sender's socket")
    turn.chunks = await client.append(turn.sender)
    turn.commit_at = time.monotonic() - env.recorder.transcript.started
    heard = len(turn.receiver.received) if turn.receiver is not None else 0
    await turn.sender.emit(Event.INPUT_BUFFER_COMMIT)
    started = time.monotonic()
    try:
        turn.transcribed = await turn.sender.wait_for(
            Event.REQUEST_TRANSCRIBE_DONE, env.timeouts.transcription
        )
    except TimeoutError:
        turn.missing.append(Event.REQUEST_TRANSCRIBE_DONE)
    elapsed = time.monotonic() - started
    if turn.receiver is None:
        return
    stall = env.timeouts.stall
    try:
        # A stream that stops ends the wait after timeouts.stall of silence, so the cases
        # judge what arrived without waiting out timeouts.turn: before the first delta the
        # gap runs only once the first audio is overdue (timeouts.first_audio), then
        # between deltas.
        await turn.receiver.wait_for(
            Event.RESPONSE_AUDIO_DELTA,
            max(0.1, env.timeouts.turn - elapsed),
            after=heard,
            stall=stall,
            not_before=max(0.0, env.timeouts.first_audio + stall - elapsed),
        )
        await turn.receiver.wait_for(
            _is_done,
            max(0.1, env.timeouts.turn - (time.monotonic() - started)),
            after=heard,
            stall=stall,
        )
        turn.deltas_done = True
        await asyncio.sleep(min(0.1, env.timeouts.silence))  # stragglers after `done`
    except TimeoutError:
        # Before timeouts.turn ran out, only a stall (timeouts.stall of silence) ends it.
        turn.stalled = time.monotonic() - started < env.timeouts.turn
        turn.missing.append(f"{Event.RESPONSE_AUDIO_DELTA} with done true")


def _measure(env: Env, turn: Turn) -> None:
    """Per-turn latencies in ms, for the report."""
    lat = env.recorder.latencies_ms
    sent = [e for e in env.recorder.transcript.events if e.event == Event.SESSION_UPDATE]
    if sent and turn.updated is not None:
        lat["update→updated"] = 1000 * (turn.updated.at - sent[0].at)
    if turn.transcribed is not None:
        lat["commit→transcribe.done"] = 1000 * (turn.transcribed.at - turn.commit_at)
    if turn.texts:
        lat["commit→first text"] = 1000 * (turn.texts[0].at - turn.commit_at)
    deltas = turn.deltas
    if deltas:
        lat["commit→first audio"] = 1000 * (deltas[0].at - turn.commit_at)
        lat["commit→last audio"] = 1000 * (deltas[-1].at - turn.commit_at)
        if len(deltas) > 1:
            lat["delta gap max"] = 1000 * max(b.at - a.at for a, b in itertools.pairwise(deltas))


def parts(payloads: list[dict[str, Any]], response_type: str) -> list[list[dict[str, Any]]]:
    """The deltas of each text part, in id order: what must decode together.

    In `single` and `chain` each delta is a whole part; in `stream` a part runs up to the delta
    with streamPartDone true (deltas after the last such one form a last part).
    """
    ordered = sorted(payloads, key=delta_id)
    if response_type != "stream":
        return [[p] for p in ordered]
    grouped: list[list[dict[str, Any]]] = [[]]
    for p in ordered:
        grouped[-1].append(p)
        if p.get("streamPartDone") is True:
            grouped.append([])
    return [part for part in grouped if part]


def _part_segments(pieces: list[bytes]) -> list[audio.AudioSegment] | None:
    """A text part's audio: its deltas joined, or else each delta alone; None if neither
    decodes (the way MH-DELTA-008 judges a part)."""
    try:
        return [audio.decode(b"".join(pieces))]
    except audio.AudioDecodeError:
        if len(pieces) < 2:
            return None
    try:
        return [audio.decode(piece) for piece in pieces]
    except audio.AudioDecodeError:
        return None


def _without_id3(data: bytes) -> bytes:
    """MP3 bytes without a leading ID3v2 tag: a tag inside a stream does not decode."""
    if len(data) < 10 or data[:3] != b"ID3":
        return data
    size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | data[9] & 0x7F
    return data[10 + size + (10 if data[5] & 0x10 else 0) :]


def _mp3_stream(files: list[bytes]) -> tuple[bytes, int] | None:
    """MP3 files as one stream, with its duration in ms: their frames concatenated (the tags
    of all but the first dropped); None when that does not decode."""
    data = b"".join([files[0], *(_without_id3(file) for file in files[1:])])
    try:
        return data, audio.duration_ms(audio.decode(data))
    except audio.AudioDecodeError:
        return None


def _keep_audio(env: Env, turn: Turn) -> None:
    """The response's audio, text parts in id order, as one playable file beside the report.

    Each text part's deltas are joined (or, where that does not decode, taken one by one, as
    MH-DELTA-008 does). MP3 files concatenate into a playable stream (checked by decoding it);
    otherwise the decoded parts are joined into one WAV. Audio that does not decode is left
    out (MH-DELTA-008 says why).
    """
    payloads = [dict(e.payload) for e in turn.deltas if isinstance(e.payload, Mapping)]
    files: list[bytes] = []  # what decoded: a part's deltas joined, or each of them alone
    segments: list[audio.AudioSegment] = []
    for part in parts(payloads, turn.mode.response_type):
        chunks: list[bytes] = []
        for payload in part:
            value = payload.get("audio")
            try:
                chunks.append(
                    value
                    if isinstance(value, bytes)
                    else base64.b64decode(str(value), validate=True)
                )
            except ValueError:
                return
        decoded = _part_segments(chunks)
        if decoded is None:
            return
        files.extend([b"".join(chunks)] if len(decoded) == 1 else chunks)
        segments.extend(decoded)
    if not segments:
        return
    mp3 = None
    if {audio.sniff(file) for file in files} == {"mp3"}:
        mp3 = _mp3_stream(files)
    if mp3 is not None:
        fmt, (data, ms) = "mp3", mp3
    else:
        joined = segments[0]
        for segment in segments[1:]:
            joined += segment
        fmt, data, ms = "wav", audio.encode(joined, "wav"), audio.duration_ms(joined)
    folder = env.report_dir / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"response-{turn.mode.label}.{fmt}"
    (folder / name).write_bytes(data)
    env.recorder.audio.append(
        {
            "label": f"response audio ({turn.mode.label})",
            "format": fmt,
            "path": f"audio/{name}",
            "ms": ms,
        }
    )


def _opening_broken(answer: WireEvent | None, connected: bool, timeout: Timeout) -> str:
    """Why the answer to a valid opening session.update leaves no session to work with ("" when
    it does): unanswered, the connection dropped, or a session.updated that violates its
    schema (a custom.error is an answer: a refusal the cases judge)."""
    if not connected:
        return "the server dropped the connection on a valid opening session.update"
    if answer is None:
        return f"the server left a valid opening session.update unanswered for {timeout.cited}"
    if answer.event == Event.SESSION_UPDATED:
        errors = schemas.errors("metahuman", answer.event, answer.payload)
        if errors:
            where = errors[0].path or "/"
            return (
                "the server answered a valid opening session.update with a malformed "
                f"session.updated (at {where}: {errors[0].message})"
            )
    return ""
