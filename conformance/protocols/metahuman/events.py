"""The MetaHuman AI Chat event vocabulary, in the seed's own words."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Event", "ResponseType", "Role"]


class Event(StrEnum):
    """Every Socket.IO event name of the protocol (seed 000, in turn order)."""

    SESSION_UPDATE = "session.update"
    SESSION_UPDATED = "session.updated"
    INPUT_BUFFER_APPEND = "input.buffer.append"
    INPUT_BUFFER_INITIALIZED = "input.buffer.initialized"
    INPUT_BUFFER_COMMIT = "input.buffer.commit"
    REQUEST_TRANSCRIBE_DONE = "request.transcribe.done"
    RESPONSE_TEXT = "response.text"
    RESPONSE_AUDIO_DELTA = "response.audio.delta"
    CUSTOM_ERROR = "custom.error"
    CONNECT_ERROR = "connect_error"


class Role(StrEnum):
    """The two roles of the seed; a socket naming none acts as both (PROTOCOLS.md §1)."""

    SENDER = "sender"
    RECEIVER = "receiver"


class ResponseType(StrEnum):
    """`TtsResponseType`: one delta, one delta per sentence, or several per sentence."""

    SINGLE = "single"
    CHAIN = "chain"
    STREAM = "stream"
