"""The harness side of EVI: open chats as the profile says, send each client message, stream
speech, and record turns. It records what the server did; it never judges."""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from conformance import audio, schemas
from conformance.engine.context import Env
from conformance.engine.model import Blocked, HarnessError
from conformance.engine.transcript import WireEvent
from conformance.fixtures import clip
from conformance.protocols.evi.events import ANSWER, Client, Server
from conformance.transports.base import Refused, TransportError
from conformance.transports.http import HttpAnswer, request
from conformance.transports.websocket import WebSocketPeer

__all__ = [
    "ANSWERS_INPUT",
    "CHAT",
    "LIFECYCLE",
    "Chat",
    "Credentials",
    "EviClient",
    "Interruption",
    "Paused",
    "Turn",
    "bracketed",
    "chunk_data",
    "fields",
    "message_events",
    "utterance_audio",
    "utterances",
]

# What the transport records besides messages: the handshake and the end of the socket.
LIFECYCLE = ("connect", "refused", "close")
# The prerequisite every exchange needs: a chat socket that takes the profile's credentials.
CHAT = "the chat socket"
# The prerequisite every turn needs: a chat that answers input at all.
ANSWERS_INPUT = "a chat that answers input"
# What ends the wait for an answer: its end, a refusal of the input, the socket's end.
_ENDS = (Server.ASSISTANT_END, Server.ERROR, "close")


def fields(value: Any) -> Mapping[str, Any]:
    """A message's fields: a payload (or an event's), {} when it is not a JSON object."""
    if isinstance(value, WireEvent):
        value = value.payload
    return value if isinstance(value, Mapping) else {}


def message_events(events: Iterable[WireEvent]) -> list[WireEvent]:
    """The server's messages among recorded events (no handshake, no close)."""
    return [e for e in events if e.event not in LIFECYCLE]


def bracketed(prefix: str, value: Any) -> list[tuple[str, str]]:
    """A mapping as query parameters in bracket notation, as the SDK sends session settings:
    `session_settings[audio][sample_rate]=16000`; booleans as `true`/`false`."""
    if isinstance(value, Mapping):
        return [pair for k, v in value.items() for pair in bracketed(f"{prefix}[{k}]", v)]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """How a socket authenticates: query parameters and headers (both may be empty)."""

    label: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Chat:
    """One chat socket: the peer, or the refusal of its upgrade; its first messages."""

    name: str
    peer: WebSocketPeer | None
    refusal: Any = None  # {"status", "message"} of an upgrade answered with an HTTP error
    first: WireEvent | None = None  # the first server message, or the close before any

    @property
    def live(self) -> WebSocketPeer:
        if self.peer is None:
            raise HarnessError(f"{self.name} was refused; nothing can be sent on it")
        return self.peer

    @property
    def messages(self) -> list[WireEvent]:
        return message_events(self.peer.received) if self.peer is not None else []

    @property
    def metadata(self) -> WireEvent | None:
        return next((e for e in self.messages if e.event == Server.CHAT_METADATA), None)

    @property
    def closed(self) -> WireEvent | None:
        received = self.peer.received if self.peer is not None else []
        return next((e for e in received if e.event == "close"), None)


@dataclass(slots=True, kw_only=True)
class Turn:
    """An exchange on one chat: what was sent, and the server's messages until it was over."""

    chat: Chat
    start: int  # index into the peer's received events where the turn began
    sent_at: float  # transcript time of the input
    events: list[WireEvent] = field(default_factory=list)  # its messages in order, and a close
    end: WireEvent | None = None  # what ended the wait: assistant_end, tool_call, error, close
    stalled: bool = False  # the wait ended on timeouts.stall, not timeouts.turn

    def of(self, *types: str) -> list[WireEvent]:
        return [e for e in self.events if e.event in types]

    def payloads(self, *types: str) -> list[Mapping[str, Any]]:
        return [fields(e) for e in self.of(*types)]

    @property
    def ended(self) -> bool:
        return self.end is not None and self.end.event == Server.ASSISTANT_END

    @property
    def closed(self) -> bool:
        return any(e.event == "close" for e in self.events)


@dataclass(slots=True, kw_only=True)
class Interruption:
    """An answer interrupted by speech: every message from the prompt on, when the speech
    began (None: the answer never began), and the speech's own turn."""

    speech_at: float | None = None
    events: list[WireEvent] = field(default_factory=list)
    answer: Turn | None = None


@dataclass(slots=True, kw_only=True)
class Paused:
    """A pause: what came while paused, the turn after the resume, and what came after it."""

    during: list[WireEvent] = field(default_factory=list)
    resumed: Turn | None = None
    after: list[WireEvent] = field(default_factory=list)


class EviClient:
    """Opens the chat sockets and HTTP exchanges of one case or scenario, as the profile says."""

    def __init__(self, env: Env) -> None:
        self.env = env
        parts = urlsplit(env.url)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        base = parts.path.rstrip("/")
        self.http_base = urlunsplit((scheme, parts.netloc, base, "", ""))
        self.ws_base = urlunsplit(({"https": "wss"}.get(scheme, "ws"), parts.netloc, base, "", ""))
        self.peers: list[WebSocketPeer] = []

    async def __aenter__(self) -> EviClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for peer in self.peers:
            await peer.close()

    def _section(self, name: str) -> Mapping[str, Any]:
        return self.env.profile.section(name)

    # --- credentials and connections ---------------------------------------------------------

    def credentials(self, kind: str = "profile", value: str | None = None) -> Credentials:
        """The credentials of `kind`: `profile` (the profile's api_key, else its access_token,
        else none), `api_key`, `access_token`, `header` (X-Hume-Api-Key) or `none`; `value`
        replaces the profile's secret (a wrong one, for refusals)."""
        auth = self._section("auth")
        if kind == "profile":
            kind = next((k for k in ("api_key", "access_token") if auth.get(k)), "none")
        if kind == "none":
            return Credentials(label="no credentials")
        secret = (
            value
            if value is not None
            else auth.get("access_token" if kind == "access_token" else "api_key")
        )
        if not secret:
            raise HarnessError(f"the profile gives no auth.{kind}")
        if kind == "header":
            return Credentials(
                label="X-Hume-Api-Key header", headers={"X-Hume-Api-Key": str(secret)}
            )
        return Credentials(label=f"{kind} query parameter", query={kind: str(secret)})

    def socket_url(self, query: Iterable[tuple[str, str]]) -> str:
        path = str(self._section("transport").get("path", "/v0/evi/chat"))
        pairs = list(query)
        return self.ws_base + path + (f"?{urlencode(pairs)}" if pairs else "")

    async def attempt(
        self,
        name: str,
        *,
        credentials: Credentials | None = None,
        query: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Chat:
        """Open a chat socket; a refusal is the server's answer, returned as data. Waits (up to
        timeouts.event) for the first server message, which should be chat_metadata."""
        creds = credentials or self.credentials()
        pairs = [*creds.query.items(), *((k, _text(v)) for k, v in (query or {}).items())]
        pairs += bracketed("session_settings", settings) if settings else []
        headers = {**self._section("transport").get("headers", {}), **creds.headers}
        peer = WebSocketPeer(
            self.socket_url(pairs),
            name=name,
            transcript=self.env.recorder.transcript,
            headers=headers,
        )
        self.peers.append(peer)
        try:
            await peer.connect(self.env.timeouts.connect)
        except Refused as refused:
            return Chat(name=name, peer=None, refusal=refused.payload)
        except TransportError as exc:
            raise HarnessError(str(exc)) from None
        chat = Chat(name=name, peer=peer)
        chat.first = await self.wait(chat, lambda e: e.event != "connect", self.env.timeouts.event)
        return chat

    async def open(self, name: str = "chat", **options: Any) -> Chat:
        """A chat with the profile's credentials; the server refusing it, closing it or staying
        silent before any message is remembered for the run, so later exchanges are BLOCKED
        rather than each waiting out the same timeouts (EVI-META-001 judges it)."""
        self.env.prerequisite(CHAT)
        chat = await self.attempt(name, **options)
        if chat.peer is None:
            why = f"the upgrade was refused ({chat.refusal!r})"
        elif chat.first is None:
            why = f"nothing came within {self.env.timeouts.event.cited}"
        elif chat.first.event == "close":
            why = "the socket closed before any message"
        elif chat.first.event != Server.CHAT_METADATA:
            why = f"its first message was {chat.first.event}"
        elif problems := schemas.errors("evi", chat.first.event, chat.first.payload):
            why = f"its chat_metadata violates its schema ({problems[0]})"
        else:
            return chat
        self.env.broke(CHAT, f"a chat with the profile's credentials did not open: {why}")
        raise Blocked(self.env.broken[CHAT])

    # --- sending -------------------------------------------------------------------------------

    async def send(self, chat: Chat, kind: str, **fields: Any) -> None:
        await chat.live.send_json({"type": kind, **fields})

    async def settings(self, chat: Chat, **fields: Any) -> None:
        await self.send(chat, Client.SESSION_SETTINGS, **fields)

    def pcm_settings(self, rate: int | None = None) -> dict[str, Any]:
        """session_settings.audio for linear16 mono at `rate` (the profile's by default)."""
        return {
            "encoding": "linear16",
            "channels": 1,
            "sample_rate": rate or int(self._section("audio").get("sample_rate", 16000)),
        }

    def _speech(self) -> audio.AudioSegment:
        name = str(self._section("audio").get("fixture", "hello_weather"))
        return audio.decode(clip(name).files["wav"].read_bytes())

    def pcm(self, rate: int | None = None) -> bytes:
        """The fixture speech as linear16 mono at `rate`, then 1 s of silence: the trailing
        silence ends the user's utterance ([default] end of turn: 500 ms of silence)."""
        rate = rate or int(self._section("audio").get("sample_rate", 16000))
        speech = self._speech().set_channels(1).set_sample_width(2).set_frame_rate(rate)
        raw: bytes = speech.raw_data
        return raw + bytes(2 * rate)

    def container(self, fmt: str) -> bytes:
        """The fixture speech and 1 s of silence as one file of `fmt` (wav, webm ...)."""
        speech = self._speech()
        silence = audio.AudioSegment.silent(duration=1000, frame_rate=speech.frame_rate)
        return audio.encode(speech + silence.set_channels(speech.channels), fmt)

    def chunk_bytes(self, rate: int | None = None) -> int:
        """The profile's chunk (audio.chunk_ms) of linear16 mono at `rate`, in bytes."""
        rate = rate or int(self._section("audio").get("sample_rate", 16000))
        return max(2, int(rate * float(self._section("audio").get("chunk_ms", 100)) / 1000) * 2)

    async def speak(self, chat: Chat, data: bytes, chunk: int, seconds: float) -> int:
        """Stream `data` (lasting `seconds`) as audio_input chunks of `chunk` bytes, paced at
        audio.pace times real time (0: as fast as the socket takes them); the chunk count."""
        pace = float(self._section("audio").get("pace", 0))
        step = seconds * chunk / max(len(data), 1) / pace if pace else 0.0
        count = 0
        for start in range(0, len(data), chunk):
            piece = base64.b64encode(data[start : start + chunk]).decode()
            await self.send(chat, Client.AUDIO_INPUT, data=piece)
            count += 1
            if step:
                await asyncio.sleep(step)
        return count

    # --- waiting -------------------------------------------------------------------------------

    async def wait(
        self,
        chat: Chat,
        predicate: Callable[[WireEvent], bool],
        timeout: float,
        *,
        after: int = 0,
        stall: bool = False,
        not_before: float = 0.0,
    ) -> WireEvent | None:
        """The first matching event from index `after` on, or None when the wait ran out."""
        try:
            return await chat.live.wait_for(
                predicate,
                max(timeout, 0.0),
                after=after,
                stall=self.env.timeouts.stall if stall else None,
                not_before=not_before,
            )
        except TimeoutError:
            return None

    async def settle(self, chat: Chat, quiet: float | None = None) -> None:
        """Until nothing arrives for `quiet` seconds (at most timeouts.silence twice): the
        stragglers of an exchange that looked over."""
        silence = self.env.timeouts.silence
        quiet = min(0.2, silence) if quiet is None else quiet
        deadline = time.monotonic() + 2 * silence
        while (left := deadline - time.monotonic()) > 0 and chat.peer is not None:
            seen = len(chat.peer.received)
            if await self.wait(chat, lambda e: True, min(quiet, left), after=seen) is None:
                return

    def since(self, chat: Chat, start: int) -> list[WireEvent]:
        return list(chat.peer.received[start:]) if chat.peer is not None else []

    def _snapshot(self, turn: Turn) -> None:
        """The turn's messages so far, and the close if the socket ended meanwhile."""
        events = self.since(turn.chat, turn.start)
        turn.events = [e for e in events if e.event not in LIFECYCLE or e.event == "close"]

    # --- turns -----------------------------------------------------------------------------------

    def mark(self, chat: Chat) -> Turn:
        """A turn beginning now: what arrives from here on belongs to it. BLOCKED when an
        earlier turn of the run got no message at all (so every turn would wait it out)."""
        self.env.prerequisite(ANSWERS_INPUT)
        start = len(chat.live.received)
        return Turn(
            chat=chat, start=start, sent_at=time.monotonic() - self.env.recorder.transcript.started
        )

    async def finish(self, turn: Turn, until: tuple[str, ...] = (Server.ASSISTANT_END,)) -> Turn:
        """Wait for the end of the server's answer (`until`, an error, or the close), then for
        its stragglers; the turn keeps every message that came meanwhile.

        Nothing at all by timeouts.first_audio ends it; until the answer begins the wait runs
        to timeouts.first_audio (+ stall); once it has begun, timeouts.stall of silence ends
        it, so a stream that stops is judged as it is. A turn that got nothing at all is
        remembered: later turns of the run are BLOCKED rather than each waiting it out.
        """
        chat, ends = turn.chat, (*until, *_ENDS)
        began = time.monotonic()
        # Nothing at all by timeouts.first_audio: the answer is late whatever it would be.
        first = await self.wait(
            chat, lambda e: True, self.env.timeouts.first_audio, after=turn.start
        )
        if first is not None:
            first = await self.wait(
                chat,
                lambda e: e.event in ends or e.event in ANSWER,
                self.env.timeouts.turn - (time.monotonic() - began),
                after=turn.start,
                stall=True,
                not_before=self.env.timeouts.first_audio + self.env.timeouts.stall,
            )
        if first is not None and first.event not in ends:
            first = await self.wait(
                chat,
                lambda e: e.event in ends,
                max(0.1, self.env.timeouts.turn - (time.monotonic() - began)),
                after=turn.start,
                stall=True,
            )
        turn.end = first
        turn.stalled = first is None and time.monotonic() - began < self.env.timeouts.turn
        if not self.since(chat, turn.start):
            self.env.broke(
                ANSWERS_INPUT,
                f"an input got no message at all within {self.env.timeouts.first_audio.cited}",
            )
        if first is None or first.event != "close":
            await self.settle(chat)
        self._snapshot(turn)
        self._measure(turn)
        return turn

    def _measure(self, turn: Turn) -> None:
        """Per-turn latencies in ms, for the report (the first turn of each kind)."""
        lat = self.env.recorder.latencies_ms
        for label, kinds in (
            ("input→user_message", (Server.USER_MESSAGE,)),
            ("input→first assistant_message", (Server.ASSISTANT_MESSAGE,)),
            ("input→first audio_output", (Server.AUDIO_OUTPUT,)),
            ("input→assistant_end", (Server.ASSISTANT_END,)),
        ):
            hit = turn.of(*kinds)
            if hit:
                lat.setdefault(label, 1000 * (hit[0].at - turn.sent_at))

    async def text_turn(self, chat: Chat, text: str) -> Turn:
        """user_input, answered by the assistant up to its assistant_end."""
        turn = self.mark(chat)
        await self.send(chat, Client.USER_INPUT, text=text)
        return await self.finish(turn)

    async def assistant_turn(self, chat: Chat, text: str) -> Turn:
        """assistant_input: the assistant speaks `text`, up to its assistant_end."""
        turn = self.mark(chat)
        await self.send(chat, Client.ASSISTANT_INPUT, text=text)
        return await self.finish(turn)

    async def audio_turn(
        self, chat: Chat, data: bytes, chunk: int, seconds: float, *, answered: bool = True
    ) -> Turn:
        """Speech as audio_input chunks; with `answered`, up to the assistant's assistant_end,
        else up to the final transcript (a user_message with interim false)."""
        turn = self.mark(chat)
        await self.speak(chat, data, chunk, seconds)
        if answered:
            return await self.finish(turn)
        # Up to the final transcript; a server that begins to answer has finished hearing.
        turn.end = await self.wait(
            chat,
            lambda e: e.event in _ENDS or e.event in ANSWER or _final(e),
            self.env.timeouts.transcription,
            after=turn.start,
        )
        await self.settle(chat)
        self._snapshot(turn)
        return turn

    async def tool_call(self, chat: Chat, prompt: str) -> Turn:
        """user_input asking for a declared tool, up to the server's tool_call."""
        turn = self.mark(chat)
        await self.send(chat, Client.USER_INPUT, text=prompt)
        return await self.finish(turn, until=(Server.TOOL_CALL,))

    async def tool_answer(self, chat: Chat, kind: str, **fields: Any) -> Turn:
        """tool_response or tool_error, answered by the assistant up to its assistant_end."""
        turn = self.mark(chat)
        await self.send(chat, kind, **fields)
        return await self.finish(turn)

    async def interrupt(self, chat: Chat, prompt: str) -> Interruption:
        """Ask for an answer; once its audio flows, speak over it (linear16, as the chat's
        settings declare), then take the turn of that speech up to its assistant_end."""
        self.env.prerequisite(ANSWERS_INPUT)
        peer = chat.live
        start = len(peer.received)
        await self.send(chat, Client.USER_INPUT, text=prompt)
        began = await self.wait(
            chat,
            lambda e: e.event in (Server.AUDIO_OUTPUT, *_ENDS),
            self.env.timeouts.first_audio,
            after=start,
        )
        seen = Interruption()
        if began is None or began.event != Server.AUDIO_OUTPUT:
            await self.settle(chat)
            seen.events = message_events(self.since(chat, start))
            return seen
        seen.speech_at = time.monotonic() - self.env.recorder.transcript.started
        speech = len(peer.received)
        data = self.pcm()
        rate = int(self.pcm_settings()["sample_rate"])
        await self.speak(chat, data, self.chunk_bytes(), len(data) / 2 / rate)
        final = await self.wait(
            chat,
            lambda e: e.event in ("close", Server.ERROR) or _final(e),
            self.env.timeouts.transcription,
            after=speech,
        )
        if final is not None and final.event == Server.USER_MESSAGE:
            index = next(i for i, e in enumerate(peer.received) if e is final)
            turn = Turn(chat=chat, start=index, sent_at=final.at)
            seen.answer = await self.finish(turn)
        else:
            await self.settle(chat)
        seen.events = message_events(self.since(chat, start))
        return seen

    async def paused(self, chat: Chat, questions: Iterable[str]) -> Paused:
        """pause_assistant_message, user_input of each question (each awaited as its
        user_message), timeouts.silence of listening, then resume_assistant_message up to the
        answer's assistant_end and timeouts.silence more (a second answer)."""
        self.env.prerequisite(ANSWERS_INPUT)
        seen = Paused()
        start = len(chat.live.received)
        await self.send(chat, Client.PAUSE_ASSISTANT_MESSAGE)
        for question in questions:
            asked = len(chat.live.received)
            await self.send(chat, Client.USER_INPUT, text=question)
            await self.wait(
                chat,
                lambda e: e.event in (Server.USER_MESSAGE, "close"),
                self.env.timeouts.event,
                after=asked,
            )
        await asyncio.sleep(self.env.timeouts.silence)
        seen.during = message_events(self.since(chat, start))
        resumed = self.mark(chat)
        await self.send(chat, Client.RESUME_ASSISTANT_MESSAGE)
        seen.resumed = await self.finish(resumed)
        if seen.resumed.ended:
            seen.after = await self.quiet(chat, self.env.timeouts.silence)
        return seen

    def keep_audio(self, turn: Turn, label: str) -> None:
        """The turn's audio, utterances in arrival order, as one WAV beside the report (what
        does not decode is left out: EVI-OUT-003 says why)."""
        segments: list[audio.AudioSegment] = []
        for chunks in utterances(turn).values():
            pieces = [chunk_data(c) for c in chunks]
            decoded = utterance_audio(tuple(p for p in pieces if p is not None))
            segments.extend(decoded or [])
        if not segments:
            return
        joined = sum(segments[1:], segments[0])
        folder = self.env.report_dir / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"evi-{label.replace(' ', '-').replace('_', '-')}.wav"
        (folder / name).write_bytes(audio.encode(joined, "wav"))
        self.env.recorder.audio.append(
            {
                "label": f"audio_output ({label})",
                "format": "wav",
                "path": f"audio/{name}",
                "ms": audio.duration_ms(joined),
            }
        )

    async def quiet(self, chat: Chat, seconds: float) -> list[WireEvent]:
        """What arrives within `seconds` from now (to judge that nothing does)."""
        start = len(chat.live.received)
        await asyncio.sleep(seconds)
        return message_events(self.since(chat, start))

    # --- the config API ------------------------------------------------------------------------

    async def create_config(self, name: str, timeouts: Mapping[str, Any]) -> HttpAnswer:
        """POST a config with these timeouts to the config API (auth as the socket's)."""
        creds = self.credentials()
        path = str(self._section("transport").get("configs_path", "/v0/evi/configs"))
        query = f"?{urlencode(dict(creds.query))}" if creds.query else ""
        return await request(
            "POST",
            self.http_base + path + query,
            transcript=self.env.recorder.transcript,
            json_body={"name": name, "timeouts": dict(timeouts)},
            headers={**self._section("transport").get("headers", {}), **creds.headers},
            timeout=self.env.timeouts.event,
        )


def utterances(turn: Turn) -> dict[str, list[Mapping[str, Any]]]:
    """The turn's audio_output payloads by id (one utterance each), in index order."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for payload in turn.payloads(Server.AUDIO_OUTPUT):
        grouped.setdefault(str(payload.get("id")), []).append(payload)
    return {
        key: sorted(chunks, key=lambda p: p["index"] if isinstance(p.get("index"), int) else -1)
        for key, chunks in grouped.items()
    }


def chunk_data(payload: Mapping[str, Any]) -> bytes | None:
    """An audio_output's bytes, or None when `data` is not base64."""
    value = payload.get("data")
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def utterance_audio(pieces: tuple[bytes, ...]) -> list[audio.AudioSegment] | None:
    """An utterance's audio: each chunk alone where each is a file of its own (every chunk
    opens with a container's header: the open reading), else its chunks joined (the slices of
    one file: [default]); None when that does not decode. Cached: several cases judge it."""
    whole = len(pieces) > 1 and all(audio.sniff(piece) for piece in pieces)
    try:
        if whole:
            return [audio.decode(piece) for piece in pieces]
        return [audio.decode(b"".join(pieces))]
    except audio.AudioDecodeError:
        return None


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _final(event: WireEvent) -> bool:
    payload = event.payload
    return (
        event.event == Server.USER_MESSAGE
        and isinstance(payload, Mapping)
        and payload.get("interim") is not True
    )


async def preflight(env: Env) -> str | None:
    """A chat with the profile's credentials, before the run: refused on the upgrade with
    HTTP 401 or 403, the profile's credentials (or their absence) are the user's to fix, not
    the server's failure (PROTOCOLS.md §3, credentials), so the run says which key to set."""
    async with EviClient(env) as client:
        creds = client.credentials()
        chat = await client.attempt("preflight", credentials=creds)
    status = (chat.refusal or {}).get("status") if chat.peer is None else None
    if status not in (401, 403):
        return None
    if creds.label == "no credentials":
        return (
            f"the server refuses a chat socket without credentials (HTTP {status}): set "
            "auth.api_key (or auth.access_token) in the profile"
        )
    return (
        f"the server refuses the profile's credentials ({creds.label}, HTTP {status}): check "
        "auth.api_key / auth.access_token in the profile"
    )
