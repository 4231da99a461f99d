"""The EVI harness of the e2e tests: a reference server (`served`), its chat sockets recorded
and schema-checked as messages arrive (`Evi`, `Socket`), and the audio builders."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from conformance import audio, schemas
from conformance.audio import AudioSegment
from conformance.fixtures import clip
from conformance.hosting import running
from conformance.protocols.evi.reference.config import API_KEY
from conformance.protocols.evi.reference.server import reference_app

WAIT_S = 5.0  # the longest any single expected message may take
QUIET_S = 0.4  # how long "nothing more comes" is listened for
CLIP = "hello_weather"
TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": json.dumps(
        {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
    ),
    "description": "The current weather in a city.",
    "fallback_content": "The weather service is unavailable.",
}


# --- the harness ---------------------------------------------------------------------------------


@dataclass
class Socket:
    """A chat socket whose server messages are recorded (and schema-checked) as they arrive."""

    ws: aiohttp.ClientWebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(msg.data)
                kind = message.get("type")
                if kind not in schemas.messages("evi"):
                    self.violations.append(f"unknown type {kind!r}")
                else:
                    self.violations += [f"{kind}{v}" for v in schemas.errors("evi", kind, message)]
                self.received.append(message)
                self._arrived.set()
        finally:
            self.closed.set()
            self._arrived.set()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def send(self, payload: Any) -> None:
        await self.ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))

    def of(self, kind: str, since: int = 0) -> list[dict[str, Any]]:
        return [m for m in self.received[since:] if m.get("type") == kind]

    async def wait(
        self, kind: str, *, since: int = 0, count: int = 1, timeout: float = WAIT_S
    ) -> dict[str, Any]:
        """The `count`-th message of `kind` received after position `since`."""

        async def arrived() -> dict[str, Any]:
            while True:
                found = self.of(kind, since)
                if len(found) >= count:
                    return found[count - 1]
                if self.closed.is_set():
                    raise AssertionError(f"the socket closed before {kind}: {self.types(since)}")
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {kind} within {timeout} s: {self.types(since)}") from None

    async def quiet(self, seconds: float = QUIET_S) -> list[dict[str, Any]]:
        """What arrives in the next `seconds`."""
        mark = len(self.received)
        await asyncio.sleep(seconds)
        return self.received[mark:]

    async def turn(self, payload: Any, *, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        """Send `payload` and return what arrives up to the turn's assistant_end."""
        mark = len(self.received)
        await self.send(payload)
        await self.wait("assistant_end", since=mark, timeout=timeout)
        return self.received[mark:]

    async def stream(self, data: bytes, sizes: Iterable[int]) -> None:
        """Send `data` as audio_input chunks of the given sizes (the last size repeats)."""
        sizes = list(sizes)
        start, n = 0, 0
        while start < len(data):
            size = sizes[min(n, len(sizes) - 1)]
            chunk = base64.b64encode(data[start : start + size]).decode()
            await self.send({"type": "audio_input", "data": chunk})
            start, n = start + size, n + 1

    def types(self, since: int = 0) -> list[str]:
        return [str(m.get("type")) for m in self.received[since:]]

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, WAIT_S)


@dataclass
class Evi:
    """A running reference server and an HTTP session to talk to it."""

    url: str
    http: aiohttp.ClientSession
    sockets: list[Socket] = field(default_factory=list)

    async def connect(self, *, auth: bool = True, **params: Any) -> Socket:
        """A chat socket (the embedded api_key unless `auth` is False), reading at once."""
        query = {"api_key": API_KEY} if auth else {}
        query.update(
            {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        )
        ws = await self.http.ws_connect(f"{self.url}/v0/evi/chat", params=query)
        socket = Socket(ws)
        socket.start()
        self.sockets.append(socket)
        return socket

    async def chat(self, **params: Any) -> Socket:
        """A chat socket past its chat_metadata."""
        socket = await self.connect(**params)
        await socket.wait("chat_metadata")
        return socket

    async def upgrade_status(self, **params: str) -> tuple[int, Any]:
        """The HTTP status and JSON body of a refused upgrade."""
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await self.http.ws_connect(f"{self.url}/v0/evi/chat", params=params)
        async with self.http.get(f"{self.url}/v0/evi/chat", params=params) as response:
            return refused.value.status, await response.json()

    async def create_config(self, body: Any, **params: str) -> tuple[int, Any]:
        query = params or {"api_key": API_KEY}
        async with self.http.post(f"{self.url}/v0/evi/configs", json=body, params=query) as answer:
            return answer.status, await answer.json()

    async def config_id(self, inactivity: int | None, max_duration: int | None) -> str:
        def spec(seconds: int | None) -> dict[str, Any]:
            return (
                {"enabled": False}
                if seconds is None
                else {"enabled": True, "duration_secs": seconds}
            )

        body = {
            "name": "t",
            "timeouts": {"inactivity": spec(inactivity), "max_duration": spec(max_duration)},
        }
        status, created = await self.create_config(body)
        assert status == 201, created
        return str(created["id"])


@contextlib.asynccontextmanager
async def served(
    faults: Sequence[str] = (), *, check: bool = True, **options: Any
) -> AsyncIterator[Evi]:
    """A reference server; at the end, with `check`, every server message met its schema."""
    async with running(reference_app(faults, options)) as url, aiohttp.ClientSession() as http:
        evi = Evi(url, http)
        try:
            yield evi
        finally:
            for socket in evi.sockets:
                await socket.close()
        if check:
            assert [v for s in evi.sockets for v in s.violations] == []


# --- audio ---------------------------------------------------------------------------------------


def speech(name: str = CLIP, *, rate: int = 16_000) -> AudioSegment:
    """A fixture clip at `rate`, mono, then 1 s of silence (the end of the utterance)."""
    segment = audio.decode(clip(name).files["wav"].read_bytes()).set_frame_rate(rate)
    segment = segment.set_channels(1).set_sample_width(2)
    return segment + AudioSegment.silent(duration=1000, frame_rate=rate)


def pcm(name: str = CLIP, *, rate: int = 16_000) -> bytes:
    """Raw little-endian 16-bit PCM of `speech()`."""
    raw: bytes = speech(name, rate=rate).raw_data
    return raw


def linear16(rate: int = 16_000) -> dict[str, Any]:
    """session_settings declaring mono linear16 PCM at `rate`."""
    return {
        "type": "session_settings",
        "audio": {"encoding": "linear16", "channels": 1, "sample_rate": rate},
    }


# session_settings.audio as the SDK's connect(session_settings=...) sends it, in bracket notation.
LINEAR16_QUERY = {
    "session_settings[audio][encoding]": "linear16",
    "session_settings[audio][sample_rate]": "16000",
    "session_settings[audio][channels]": "1",
}


def turn_audio(messages: Sequence[dict[str, Any]]) -> dict[str, bytes]:
    """The audio of each audio_output id, its chunks joined in index order."""
    by_id: dict[str, list[tuple[int, bytes]]] = {}
    for m in messages:
        if m["type"] == "audio_output":
            by_id.setdefault(m["id"], []).append((m["index"], base64.b64decode(m["data"])))
    return {key: b"".join(data for _, data in sorted(chunks)) for key, chunks in by_id.items()}
