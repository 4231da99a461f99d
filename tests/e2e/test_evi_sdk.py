"""Hume's own SDK (hume 0.14.1, a real EVI client) drives the reference server.

The SDK parses every server message strictly (a pydantic union over its models): a malformed
message raises out of its receive loop. Each test records what the loop yields and asserts
the message types seen and that the loop never raised.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pytest

# The SDK's async socket runs on websockets.legacy, which warns at import that it is deprecated.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "websockets.legacy is deprecated", DeprecationWarning)
    from hume import AsyncHumeClient
    from hume.empathic_voice import (
        AudioConfiguration,
        AudioInput,
        ConnectSessionSettings,
        ConnectSessionSettingsAudio,
        SessionSettings,
        Tool,
        ToolResponseMessage,
        UserInput,
    )
    from hume.empathic_voice.chat.socket_client import AsyncChatSocketClient

from conformance.fixtures import clip
from conformance.hosting import running
from conformance.protocols.evi.reference.config import API_KEY
from conformance.protocols.evi.reference.server import reference_app
from conformance.protocols.evi.reference.variants import REFUSE_AFTER_UPGRADE, VARIANTS
from tests.e2e.evi_harness import CLIP, TOOL, WAIT_S, pcm

# ... and on first use that websockets.exceptions.InvalidStatusCode is.
pytestmark = pytest.mark.filterwarnings("ignore:websockets.*is deprecated:DeprecationWarning")


@dataclass
class Recorder:
    """The SDK socket's receive loop, as a task recording the parsed messages."""

    socket: AsyncChatSocketClient
    received: list[Any] = field(default_factory=list)
    failure: BaseException | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop().create_task(self._receive())

    async def _receive(self) -> None:
        try:
            async for message in self.socket:
                self.received.append(message)
                self._arrived.set()
        except Exception as exc:  # the SDK's ValidationError on a malformed message
            self.failure = exc
        finally:
            self._arrived.set()

    def types(self, since: int = 0) -> list[str]:
        return [str(message.type) for message in self.received[since:]]

    async def wait(self, kind: str, *, since: int = 0) -> Any:
        """The first message of `kind` after position `since`."""

        async def arrived() -> Any:
            while True:
                for message in self.received[since:]:
                    if message.type == kind:
                        return message
                if self.failure is not None or (self._loop is not None and self._loop.done()):
                    raise AssertionError(f"receive loop ended: {self.failure!r}, {self.types()}")
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(arrived(), WAIT_S)

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop


@contextlib.asynccontextmanager
async def sdk_chat(
    faults: tuple[str, ...] = (), variants: tuple[str, ...] = (), **connect: Any
) -> AsyncIterator[Recorder]:
    """A reference server and an SDK chat on it; at the end, if the server had no fault, the
    SDK parsed everything."""
    async with running(reference_app(faults, {"variants": variants})) as url:
        client = AsyncHumeClient(api_key=API_KEY, base_url=url)
        async with client.empathic_voice.chat.connect(**connect) as socket:
            recorder = Recorder(socket)
            recorder.start()
            try:
                if not faults:
                    await recorder.wait("chat_metadata")
                yield recorder
            finally:
                await recorder.stop()
        if not faults:
            assert recorder.failure is None, recorder.failure


def answered(types: list[str]) -> bool:
    """A whole answer: assistant_message, then audio_output, then assistant_end last."""
    return (
        types[-1:] == ["assistant_end"]
        and "assistant_message" in types
        and types.index("assistant_message") < types.index("audio_output")
    )


async def test_sdk_text_turn() -> None:
    """A UserInput turn parses: user_message, assistant_message, audio_output (with index),
    assistant_end."""
    async with sdk_chat() as chat:
        await chat.socket.send_publish(UserInput(text="Hello, how are you today?"))
        await chat.wait("assistant_end")
        types = chat.types(1)
        assert types[0] == "user_message"
        assert answered(types)
        indexes = [m.index for m in chat.received if m.type == "audio_output"]
        assert indexes[:2] == [0, 1]


async def test_sdk_audio_turn() -> None:
    """SessionSettings declares linear16; AudioInput chunks of the clip get its transcript
    (with 48 prosody scores, as the SDK's EmotionScores requires) and an answer."""
    async with sdk_chat() as chat:
        settings = SessionSettings(
            audio=AudioConfiguration(encoding="linear16", channels=1, sample_rate=16_000)
        )
        await chat.socket.send_publish(settings)
        data = pcm()
        for start in range(0, len(data), 3200):
            chunk = base64.b64encode(data[start : start + 3200]).decode()
            await chat.socket.send_publish(AudioInput(data=chunk))
        user = await chat.wait("user_message")
        assert user.message.content == clip(CLIP).text
        assert user.models.prosody is not None
        await chat.wait("assistant_end")
        assert answered(chat.types(1))


async def test_sdk_tool_round_trip() -> None:
    """A declared tool: a ToolCallMessage (tool_type function), then a ToolResponseMessage
    gets an answer quoting it."""
    async with sdk_chat() as chat:
        tool = Tool(
            type="function",
            name=TOOL["name"],
            parameters=TOOL["parameters"],
            description=TOOL["description"],
        )
        await chat.socket.send_publish(SessionSettings(tools=[tool]))
        await chat.socket.send_publish(UserInput(text="What is the weather in Paris? get_weather"))
        call = await chat.wait("tool_call")
        assert (call.tool_type, json.loads(call.parameters)) == ("function", {"location": "Paris"})
        mark = len(chat.received)
        response = ToolResponseMessage(tool_call_id=call.tool_call_id, content="Sunny, 22 degrees")
        await chat.socket.send_publish(response)
        await chat.wait("assistant_end", since=mark)
        said = [m.message.content for m in chat.received[mark:] if m.type == "assistant_message"]
        assert "Sunny, 22 degrees" in said[0]


async def test_sdk_interruption() -> None:
    """Speech during the answer's audio: a UserInterruption, then the speech's own turn."""
    # Declared in the query (session_settings[audio][...]), as the SDK's connect sends it.
    audio = ConnectSessionSettingsAudio(encoding="linear16", channels=1, sample_rate=16_000)
    async with sdk_chat(session_settings=ConnectSessionSettings(audio=audio)) as chat:
        await chat.socket.send_publish(UserInput(text="Please tell me a long story about a robot."))
        await chat.wait("audio_output")
        data = pcm()
        for start in range(0, len(data), 3200):
            chunk = base64.b64encode(data[start : start + 3200]).decode()
            await chat.socket.send_publish(AudioInput(data=chunk))
        interruption = await chat.wait("user_interruption")
        cut = chat.received.index(interruption)
        user = await chat.wait("user_message", since=cut)
        assert user.message.content == clip(CLIP).text
        await chat.wait("assistant_end", since=cut)
        assert answered(chat.types(cut + 1))


async def test_sdk_rejects_a_malformed_message() -> None:
    """The recorder sees the SDK's ValidationError: audio_output without `index` ends its loop
    (so the tests above would catch a malformed message)."""
    async with sdk_chat(("audio-output-without-index",)) as chat:
        await chat.socket.send_publish(UserInput(text="Hello."))
        with pytest.raises(AssertionError, match="receive loop ended"):
            await chat.wait("assistant_end")
        assert isinstance(chat.failure, pydantic.ValidationError)
        assert "audio_output" not in chat.types()


@pytest.mark.parametrize("variant", sorted(set(VARIANTS) - {REFUSE_AFTER_UPGRADE.name}))
async def test_sdk_parses_every_variant(variant: str) -> None:
    """Each variant's session_settings answer (if any), text turn and error parse with the
    SDK too: assistant_prosody, an echoed SessionSettings, whole-WAV chunks, own codes."""
    async with sdk_chat(variants=(variant,)) as chat:
        await chat.socket.send_publish(SessionSettings(system_prompt="Be brief."))
        await chat.socket.send_publish(UserInput(text="Hello."))
        await chat.wait("assistant_end")
        await chat.socket._send("not json")  # bad input: the SDK only sends valid messages
        await chat.wait("error")
