"""Per-chat state (settings, the user's utterance, pause, pending tool calls, the assistant's
turns, timers) and the server-wide store of configs and chat groups.

Every mutation here is synchronous, so a handler that mutates before its first `await` keeps
the order in which the client sent its messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from conformance import audio
from conformance.audio import AudioSegment
from conformance.protocols.evi.reference.config import (
    AudioFormat,
    Config,
    Settings,
    Timeouts,
    ToolSpec,
)
from conformance.protocols.evi.reference.errors import INVALID_AUDIO, EviError

__all__ = [
    "END_SILENCE_MS",
    "Chat",
    "ChatGroup",
    "Heard",
    "PendingCall",
    "Reply",
    "ReplyKind",
    "Store",
    "Utterance",
]

# Voice activity, on 20 ms frames of 16-bit PCM: the fixture clips' speech reaches an RMS of
# about 9,000 and their pauses between words stay under 200 ms; the client's silence is 0.
_FRAME_MS: Final = 20
_SPEECH_RMS: Final = 400
_MIN_SPEECH_MS: Final = 60  # a click is not speech
END_SILENCE_MS: Final = 500  # [default]: the end of the user's utterance (asyncapi.yaml)
_SNIFF_BYTES: Final = 12  # enough for RIFF....WAVE, EBML, OggS, ID3, fLaC


# --- the store ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ChatGroup:
    """A series of resumed chats: one conversation over several sockets."""

    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    chat_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Store:
    """What outlives a socket: the configs created and the chat groups issued."""

    configs: dict[str, Config] = field(default_factory=dict)
    groups: dict[str, ChatGroup] = field(default_factory=dict)

    def new_group(self) -> ChatGroup:
        group = ChatGroup()
        self.groups[group.id] = group
        return group


# --- the user's speech -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Heard:
    """What one audio_input chunk changed."""

    speech_began: bool  # the utterance became speech with this chunk
    ended: bool  # speech followed by END_SILENCE_MS of silence


class Utterance:
    """The audio of one user utterance as it streams in, with its voice activity.

    Declared PCM (session_settings.audio) is taken as it comes, a sample split across two
    messages included. Without it, the chunks are slices of a file: a 16-bit PCM WAV is read
    as PCM once its header has arrived; any other container (WebM ...) is decoded whole when
    the utterance ends, and counts as speech from its first chunk.
    """

    def __init__(self, declared: AudioFormat | None, began_ms: int) -> None:
        self.began_ms = began_ms
        self.kind = "pcm" if declared else ""  # pcm | wav | container; "" until sniffed
        self.rate = declared.sample_rate if declared else 0
        self.channels = declared.channels if declared else 0
        self.raw = bytearray()  # a file's bytes, until it is known to be a PCM WAV
        self.pcm = bytearray()
        self.speech_ms = 0
        self.silence_ms = 0  # trailing
        self._carry = b""
        self._analysed = 0

    @property
    def speech(self) -> bool:
        return self.speech_ms >= _MIN_SPEECH_MS

    def feed(self, data: bytes) -> Heard:
        """Take one chunk; EviError(invalid_audio) when a file is no audio container."""
        before = self.speech
        if self.kind in ("pcm", "wav"):
            self._append(data)
        else:
            self.raw += data
            if not self.kind:
                self._sniff()
        return Heard(
            speech_began=self.speech and not before,
            ended=self.speech and self.silence_ms >= END_SILENCE_MS,
        )

    def segment(self) -> AudioSegment:
        """All the audio received; EviError(invalid_audio) when a file does not decode."""
        if self.kind in ("pcm", "wav"):
            return AudioSegment(
                data=bytes(self.pcm), sample_width=2, frame_rate=self.rate, channels=self.channels
            )
        try:
            return audio.decode(bytes(self.raw))
        except audio.AudioDecodeError as exc:
            raise EviError(INVALID_AUDIO, str(exc)) from None

    def _sniff(self) -> None:
        if len(self.raw) < _SNIFF_BYTES:
            return
        fmt = audio.sniff(bytes(self.raw[:_SNIFF_BYTES]))
        if fmt is None:
            raise EviError(
                INVALID_AUDIO,
                "without session_settings.audio, audio_input must be slices of an audio file "
                f"(WAV or WebM); these start with {bytes(self.raw[:8]).hex()}",
            )
        if fmt != "wav":
            self.kind = "container"
            self.speech_ms = _MIN_SPEECH_MS  # no voice activity before it is decoded
            return
        try:
            layout = _wav_layout(bytes(self.raw))
        except ValueError:
            self.kind = "container"  # not 16-bit PCM: decoded whole at the end
            self.speech_ms = _MIN_SPEECH_MS
            return
        if layout is not None:
            offset, self.rate, self.channels = layout
            self.kind = "wav"
            self._append(bytes(self.raw[offset:]))
            self.raw.clear()

    def _append(self, data: bytes) -> None:
        data = self._carry + data
        frame = 2 * self.channels
        whole = len(data) - len(data) % frame
        self.pcm += data[:whole]
        self._carry = data[whole:]
        window = self.rate * frame * _FRAME_MS // 1000
        while self._analysed + window <= len(self.pcm):
            piece = bytes(self.pcm[self._analysed : self._analysed + window])
            level = AudioSegment(
                data=piece, sample_width=2, frame_rate=self.rate, channels=self.channels
            ).rms
            if level >= _SPEECH_RMS:
                self.speech_ms += _FRAME_MS
                self.silence_ms = 0
            else:
                self.silence_ms += _FRAME_MS
            self._analysed += window


def _wav_layout(raw: bytes) -> tuple[int, int, int] | None:
    """(data offset, rate, channels) of a 16-bit PCM WAV; None until the header has arrived.

    ValueError when the WAV is not 16-bit PCM (or its chunks are out of order).
    """
    position, layout = 12, None
    while position + 8 <= len(raw):
        chunk = raw[position : position + 4]
        size = int.from_bytes(raw[position + 4 : position + 8], "little")
        if chunk == b"data":
            if layout is None:
                raise ValueError("WAV data before its fmt chunk")
            return position + 8, *layout
        if chunk == b"fmt ":
            if position + 24 > len(raw):
                return None
            tag, channels, rate = struct.unpack_from("<HHI", raw, position + 8)
            (bits,) = struct.unpack_from("<H", raw, position + 22)
            if tag not in (1, 0xFFFE) or bits != 16 or channels < 1 or rate < 1:
                raise ValueError(f"WAV format {tag}, {bits} bits: not 16-bit PCM")
            layout = (rate, channels)
        position += 8 + size + (size & 1)
    return None


# --- the assistant's turns ---------------------------------------------------------------------


class ReplyKind(enum.Enum):
    ANSWER = "answer"  # to what the user said: the offline LLM, which may call a tool
    VERBATIM = "verbatim"  # an assistant_input, spoken as given
    TOOL_RESULT = "tool_result"  # after a tool_response or tool_error


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    kind: ReplyKind
    text: str
    tool: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingCall:
    """A tool_call sent and not yet answered."""

    tool: ToolSpec
    heard: str


class Chat:
    """One socket's chat: its ids, settings, the user's utterance and the assistant's turns.

    Every task it starts and every timer it arms ends when `close` is called (the socket ends).
    """

    def __init__(self, ws: web.WebSocketResponse, group: ChatGroup, timeouts: Timeouts) -> None:
        self.ws = ws
        self.group = group
        self.id = str(uuid.uuid4())
        self.request_id = str(uuid.uuid4())
        self.timeouts = timeouts
        self.settings = Settings()
        self.verbose = False
        self.paused = False
        self.pending: Reply | None = None  # the last reply held back by a pause
        self.tool_calls: dict[str, PendingCall] = {}
        self.utterance: Utterance | None = None
        # The PCM layout of a WAV file streamed without session_settings.audio: its bytes after
        # the utterance that carried the header continue it (the next utterance has no header).
        self.file_format: AudioFormat | None = None
        self.turn_lock = asyncio.Lock()  # one assistant turn speaks at a time, in order
        self.input_lock = asyncio.Lock()  # client messages and the utterance timer, in order
        self._send_lock = asyncio.Lock()
        self._replies: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._opened = time.monotonic()
        group.chat_ids.append(self.id)

    def ms(self) -> int:
        """Milliseconds since the chat began."""
        return int((time.monotonic() - self._opened) * 1000)

    # --- tasks and timers --------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None], *, reply: bool = False) -> None:
        """Run `work` as a task of this chat; a reply is one of the assistant's turns."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if reply:
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    @property
    def speaking(self) -> bool:
        """Whether an assistant turn is running or waiting to."""
        return any(not task.done() for task in self._replies)

    def hush(self) -> None:
        """Stop every assistant turn, running or waiting: nothing more of them is sent."""
        for task in self._replies:
            task.cancel()

    def arm(self, name: str, delay_s: float, callback: Callable[[], None]) -> None:
        """(Re)start the timer `name`."""
        self.disarm(name)
        self._timers[name] = asyncio.get_running_loop().call_later(delay_s, callback)

    def disarm(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    async def close(self) -> None:
        """The socket ended: cancel every timer and task of the chat, and wait for the tasks."""
        for name in list(self._timers):
            self.disarm(name)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the wire ------------------------------------------------------------------------------

    async def send(self, payload: dict[str, Any]) -> None:
        """Send one message (JSON text); nothing once the socket is closing."""
        async with self._send_lock:
            if self.ws.closed:
                return
            # The peer may be gone already; the receive loop will see the socket end.
            with contextlib.suppress(ConnectionResetError):
                await self.ws.send_json(payload)
